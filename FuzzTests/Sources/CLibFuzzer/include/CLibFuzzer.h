#ifndef SEALGATE_CLIBFUZZER_H
#define SEALGATE_CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry point for programs that keep their own main (LLVM 12 and later). Defined by the runtime
/// that `-sanitize=fuzzer` links; it parses libFuzzer's flags from argv and never returns on a crash.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
