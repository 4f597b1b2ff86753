#ifndef SEALGATE_RETRIEVAL_KERNELS_AVX_H
#define SEALGATE_RETRIEVAL_KERNELS_AVX_H

#include <stdint.h>

// The approximate index's distance kernels for AVX2 + FMA and for AVX-512 (F, BW, VL). Each function is compiled for
// its instruction set with a function-level target attribute, so this one target holds both and the rest of the
// program stays baseline x86-64: the caller (`SimilarityKernel.selected` in Retrieval) may call a function only
// when CPUID and XGETBV (`sealgate_cpu_features`) say the CPU and OS have its instructions. Off x86-64 the
// functions are not defined and Retrieval never names them.
//
// Results equal the portable Swift kernels' within float rounding (other summation order, fused multiply-adds);
// the integer code-by-code product is exact.

#if defined(__x86_64__)

/// Σ q[d]·c[d] over `n` dimensions: a float query against int8 codes.
float sealgate_ann_dot_avx2(const float *q, const int8_t *c, long n);
float sealgate_ann_dot_avx512(const float *q, const int8_t *c, long n);

/// Σ q[d]·c[d] into `out[0]` and Σ w[d]·c[d]² into `out[1]` (IDF-weighted scoring).
void sealgate_ann_dot_norm_avx2(const float *q, const float *w, const int8_t *c, long n, float *out);
void sealgate_ann_dot_norm_avx512(const float *q, const float *w, const int8_t *c, long n, float *out);

/// Σ w[d]·a[d]·b[d], Σ w[d]·a[d]², Σ w[d]·b[d]² into `out[0...2]`: two nodes' codes under weights.
void sealgate_ann_code_products_avx2(const int8_t *a, const int8_t *b, const float *w, long n, float *out);
void sealgate_ann_code_products_avx512(const int8_t *a, const int8_t *b, const float *w, long n, float *out);

/// Σ a[d]·b[d] in 32-bit integers (exact for n < 133,000): two nodes' codes, unweighted.
int32_t sealgate_ann_code_dot_avx2(const int8_t *a, const int8_t *b, long n);
int32_t sealgate_ann_code_dot_avx512(const int8_t *a, const int8_t *b, long n);

/// Column scores (see ``sealgate_ann_column_scores``), 16 and 8 lanes at a time.
void sealgate_ann_column_scores_avx2(const int8_t *codes, long blocks, long dims, const int32_t *sel, const float *values, long k, float *out);
void sealgate_ann_column_scores_avx512(const int8_t *codes, long blocks, long dims, const int32_t *sel, const float *values, long k, float *out);

#endif

/// Nodes per block of the dimension-major code layout that ``sealgate_ann_column_scores`` reads.
#define SEALGATE_ANN_COLUMN_LANES 256

/// Scores every node of `blocks` blocks of int8 codes laid out dimension-major, block by block
/// (`codes[(b·dims + d)·LANES + lane]` is dimension `d` of node `b·LANES + lane`), on `k` selected dimensions only:
/// `out[b·LANES + lane] = Σ_j values[j] · codes[(b·dims + sel[j])·LANES + lane]`. A sparse query's score on every node
/// at `k` / `dims` of a full scan's cost. Plain C, compiled for the build's baseline (any architecture).
void sealgate_ann_column_scores(const int8_t *codes, long blocks, long dims, const int32_t *sel, const float *values, long k, float *out);

/// Asks the CPU to bring the cache line at `p` into all cache levels (a hint: never faults, any architecture).
/// Inline, so Swift callers get the one instruction rather than a call.
static inline void sealgate_ann_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
