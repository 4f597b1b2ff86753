// Intentionally empty: the target only carries the declaration in include/CLibFuzzer.h.
#include "CLibFuzzer.h"
