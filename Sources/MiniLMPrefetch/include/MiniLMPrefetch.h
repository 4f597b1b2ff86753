#ifndef SEALGATE_MINILM_PREFETCH_H
#define SEALGATE_MINILM_PREFETCH_H

// A software prefetch for the MiniLM GEMM (`AVX512GEMM`): Swift has no prefetch of its own. Inline, so the Swift
// compiler emits it as one `prefetcht0` in the kernel's loop.

/// Asks the CPU to bring the cache line holding `address` into every cache level (a hint: no fault, no effect on
/// results, whatever the address).
static inline void sealgate_minilm_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

#endif
