// The target's one function is `static inline` in include/MiniLMPrefetch.h; SwiftPM needs a source file per C target.
#include "MiniLMPrefetch.h"
