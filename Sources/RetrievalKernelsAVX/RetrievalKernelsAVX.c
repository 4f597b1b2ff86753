// See include/RetrievalKernelsAVX.h. Every loop keeps several independent accumulators, so no add waits for the
// previous one's latency, and ends with a scalar tail for lengths that are not a multiple of the vector width.
#include "RetrievalKernelsAVX.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))

AVX2 static inline float sum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static inline int32_t sum8i(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/// Eight int8 codes widened to eight floats (vpmovsxbd + vcvtdq2ps).
AVX2 static inline __m256 widen8(const int8_t *c) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)c)));
}

AVX512 static inline __m512 widen16(const int8_t *c) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)c)));
}

/// The scalar tail of dot-and-norm from index `d` on, added to the vector part's sums; writes {dot, norm}.
static inline void dot_norm_tail(const float *q, const float *w, const int8_t *c, long d, long n, float dot, float norm, float *out) {
    for (; d < n; d++) {
        float x = (float)c[d];
        dot += q[d] * x;
        norm += w[d] * x * x;
    }
    out[0] = dot;
    out[1] = norm;
}

/// The scalar tail of the weighted code products from index `d` on; writes {a·b, a·a, b·b}.
static inline void code_products_tail(const int8_t *a, const int8_t *b, const float *w, long d, long n, float ab, float aa, float bb, float *out) {
    for (; d < n; d++) {
        float x = (float)a[d], y = (float)b[d];
        ab += w[d] * x * y;
        aa += w[d] * x * x;
        bb += w[d] * y * y;
    }
    out[0] = ab;
    out[1] = aa;
    out[2] = bb;
}

AVX2 float sealgate_ann_dot_avx2(const float *q, const int8_t *c, long n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    long d = 0;
    for (; d + 32 <= n; d += 32) {
        a0 = _mm256_fmadd_ps(widen8(c + d), _mm256_loadu_ps(q + d), a0);
        a1 = _mm256_fmadd_ps(widen8(c + d + 8), _mm256_loadu_ps(q + d + 8), a1);
        a2 = _mm256_fmadd_ps(widen8(c + d + 16), _mm256_loadu_ps(q + d + 16), a2);
        a3 = _mm256_fmadd_ps(widen8(c + d + 24), _mm256_loadu_ps(q + d + 24), a3);
    }
    for (; d + 8 <= n; d += 8) a0 = _mm256_fmadd_ps(widen8(c + d), _mm256_loadu_ps(q + d), a0);
    float sum = sum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; d < n; d++) sum += q[d] * (float)c[d];
    return sum;
}

AVX512 float sealgate_ann_dot_avx512(const float *q, const int8_t *c, long n) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    long d = 0;
    for (; d + 64 <= n; d += 64) {
        a0 = _mm512_fmadd_ps(widen16(c + d), _mm512_loadu_ps(q + d), a0);
        a1 = _mm512_fmadd_ps(widen16(c + d + 16), _mm512_loadu_ps(q + d + 16), a1);
        a2 = _mm512_fmadd_ps(widen16(c + d + 32), _mm512_loadu_ps(q + d + 32), a2);
        a3 = _mm512_fmadd_ps(widen16(c + d + 48), _mm512_loadu_ps(q + d + 48), a3);
    }
    for (; d + 16 <= n; d += 16) a0 = _mm512_fmadd_ps(widen16(c + d), _mm512_loadu_ps(q + d), a0);
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    for (; d < n; d++) sum += q[d] * (float)c[d];
    return sum;
}

AVX2 void sealgate_ann_dot_norm_avx2(const float *q, const float *w, const int8_t *c, long n, float *out) {
    __m256 dot0 = _mm256_setzero_ps(), dot1 = dot0, norm0 = dot0, norm1 = dot0;
    long d = 0;
    for (; d + 16 <= n; d += 16) {
        __m256 x = widen8(c + d), y = widen8(c + d + 8);
        dot0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(q + d), dot0);
        dot1 = _mm256_fmadd_ps(y, _mm256_loadu_ps(q + d + 8), dot1);
        norm0 = _mm256_fmadd_ps(_mm256_mul_ps(x, x), _mm256_loadu_ps(w + d), norm0);
        norm1 = _mm256_fmadd_ps(_mm256_mul_ps(y, y), _mm256_loadu_ps(w + d + 8), norm1);
    }
    for (; d + 8 <= n; d += 8) {
        __m256 x = widen8(c + d);
        dot0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(q + d), dot0);
        norm0 = _mm256_fmadd_ps(_mm256_mul_ps(x, x), _mm256_loadu_ps(w + d), norm0);
    }
    dot_norm_tail(q, w, c, d, n, sum8(_mm256_add_ps(dot0, dot1)), sum8(_mm256_add_ps(norm0, norm1)), out);
}

AVX512 void sealgate_ann_dot_norm_avx512(const float *q, const float *w, const int8_t *c, long n, float *out) {
    __m512 dot0 = _mm512_setzero_ps(), dot1 = dot0, norm0 = dot0, norm1 = dot0;
    long d = 0;
    for (; d + 32 <= n; d += 32) {
        __m512 x = widen16(c + d), y = widen16(c + d + 16);
        dot0 = _mm512_fmadd_ps(x, _mm512_loadu_ps(q + d), dot0);
        dot1 = _mm512_fmadd_ps(y, _mm512_loadu_ps(q + d + 16), dot1);
        norm0 = _mm512_fmadd_ps(_mm512_mul_ps(x, x), _mm512_loadu_ps(w + d), norm0);
        norm1 = _mm512_fmadd_ps(_mm512_mul_ps(y, y), _mm512_loadu_ps(w + d + 16), norm1);
    }
    for (; d + 16 <= n; d += 16) {
        __m512 x = widen16(c + d);
        dot0 = _mm512_fmadd_ps(x, _mm512_loadu_ps(q + d), dot0);
        norm0 = _mm512_fmadd_ps(_mm512_mul_ps(x, x), _mm512_loadu_ps(w + d), norm0);
    }
    dot_norm_tail(q, w, c, d, n, _mm512_reduce_add_ps(_mm512_add_ps(dot0, dot1)), _mm512_reduce_add_ps(_mm512_add_ps(norm0, norm1)), out);
}

AVX2 void sealgate_ann_code_products_avx2(const int8_t *a, const int8_t *b, const float *w, long n, float *out) {
    __m256 ab = _mm256_setzero_ps(), aa = ab, bb = ab;
    long d = 0;
    for (; d + 8 <= n; d += 8) {
        __m256 x = widen8(a + d), y = widen8(b + d), wd = _mm256_loadu_ps(w + d);
        ab = _mm256_fmadd_ps(_mm256_mul_ps(x, y), wd, ab);
        aa = _mm256_fmadd_ps(_mm256_mul_ps(x, x), wd, aa);
        bb = _mm256_fmadd_ps(_mm256_mul_ps(y, y), wd, bb);
    }
    code_products_tail(a, b, w, d, n, sum8(ab), sum8(aa), sum8(bb), out);
}

AVX512 void sealgate_ann_code_products_avx512(const int8_t *a, const int8_t *b, const float *w, long n, float *out) {
    __m512 ab = _mm512_setzero_ps(), aa = ab, bb = ab;
    long d = 0;
    for (; d + 16 <= n; d += 16) {
        __m512 x = widen16(a + d), y = widen16(b + d), wd = _mm512_loadu_ps(w + d);
        ab = _mm512_fmadd_ps(_mm512_mul_ps(x, y), wd, ab);
        aa = _mm512_fmadd_ps(_mm512_mul_ps(x, x), wd, aa);
        bb = _mm512_fmadd_ps(_mm512_mul_ps(y, y), wd, bb);
    }
    code_products_tail(a, b, w, d, n, _mm512_reduce_add_ps(ab), _mm512_reduce_add_ps(aa), _mm512_reduce_add_ps(bb), out);
}

/// Sixteen int8 codes widened to sixteen int16 (vpmovsxbw); vpmaddwd then sums adjacent products into int32.
AVX2 int32_t sealgate_ann_code_dot_avx2(const int8_t *a, const int8_t *b, long n) {
    __m256i s0 = _mm256_setzero_si256(), s1 = s0;
    long d = 0;
    for (; d + 32 <= n; d += 32) {
        __m256i x0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + d)));
        __m256i y0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + d)));
        __m256i x1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + d + 16)));
        __m256i y1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + d + 16)));
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(x0, y0));
        s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(x1, y1));
    }
    for (; d + 16 <= n; d += 16) {
        __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + d)));
        __m256i y = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + d)));
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(x, y));
    }
    int32_t sum = sum8i(_mm256_add_epi32(s0, s1));
    for (; d < n; d++) sum += (int32_t)a[d] * (int32_t)b[d];
    return sum;
}

AVX512 int32_t sealgate_ann_code_dot_avx512(const int8_t *a, const int8_t *b, long n) {
    __m512i s0 = _mm512_setzero_si512(), s1 = s0;
    long d = 0;
    for (; d + 64 <= n; d += 64) {
        __m512i x0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(a + d)));
        __m512i y0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(b + d)));
        __m512i x1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(a + d + 32)));
        __m512i y1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(b + d + 32)));
        s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(x0, y0));
        s1 = _mm512_add_epi32(s1, _mm512_madd_epi16(x1, y1));
    }
    for (; d + 32 <= n; d += 32) {
        __m512i x = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(a + d)));
        __m512i y = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(b + d)));
        s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(x, y));
    }
    int32_t sum = _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1));
    for (; d < n; d++) sum += (int32_t)a[d] * (int32_t)b[d];
    return sum;
}

AVX2 void sealgate_ann_column_scores_avx2(const int8_t *codes, long blocks, long dims, const int32_t *sel, const float *values, long k, float *out) {
    // 32 lanes a pass: four 8-float accumulators (the AVX-512 kernel below keeps eight 16-float ones).
    for (long b = 0; b < blocks; b++) {
        const int8_t *block = codes + b * dims * SEALGATE_ANN_COLUMN_LANES;
        float *o = out + b * SEALGATE_ANN_COLUMN_LANES;
        for (long lane = 0; lane < SEALGATE_ANN_COLUMN_LANES; lane += 32) {
            __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
            for (long j = 0; j < k; j++) {
                const int8_t *c = block + (long)sel[j] * SEALGATE_ANN_COLUMN_LANES + lane;
                __m256 v = _mm256_set1_ps(values[j]);
                for (int part = 0; part < 4; part++) acc[part] = _mm256_fmadd_ps(widen8(c + 8 * part), v, acc[part]);
            }
            for (int part = 0; part < 4; part++) _mm256_storeu_ps(o + lane + 8 * part, acc[part]);
        }
    }
}

AVX512 void sealgate_ann_column_scores_avx512(const int8_t *codes, long blocks, long dims, const int32_t *sel, const float *values, long k, float *out) {
    for (long b = 0; b < blocks; b++) {
        const int8_t *block = codes + b * dims * SEALGATE_ANN_COLUMN_LANES;
        for (long lane = 0; lane < SEALGATE_ANN_COLUMN_LANES; lane += 128) {
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (long j = 0; j < k; j++) {
                const int8_t *c = block + (long)sel[j] * SEALGATE_ANN_COLUMN_LANES + lane;
                __m512 v = _mm512_set1_ps(values[j]);
                a0 = _mm512_fmadd_ps(widen16(c), v, a0);
                a1 = _mm512_fmadd_ps(widen16(c + 16), v, a1);
                a2 = _mm512_fmadd_ps(widen16(c + 32), v, a2);
                a3 = _mm512_fmadd_ps(widen16(c + 48), v, a3);
                a4 = _mm512_fmadd_ps(widen16(c + 64), v, a4);
                a5 = _mm512_fmadd_ps(widen16(c + 80), v, a5);
                a6 = _mm512_fmadd_ps(widen16(c + 96), v, a6);
                a7 = _mm512_fmadd_ps(widen16(c + 112), v, a7);
            }
            float *o = out + b * SEALGATE_ANN_COLUMN_LANES + lane;
            _mm512_storeu_ps(o, a0);
            _mm512_storeu_ps(o + 16, a1);
            _mm512_storeu_ps(o + 32, a2);
            _mm512_storeu_ps(o + 48, a3);
            _mm512_storeu_ps(o + 64, a4);
            _mm512_storeu_ps(o + 80, a5);
            _mm512_storeu_ps(o + 96, a6);
            _mm512_storeu_ps(o + 112, a7);
        }
    }
}

#endif

void sealgate_ann_column_scores(const int8_t *codes, long blocks, long dims, const int32_t *sel, const float *values, long k, float *out) {
    for (long b = 0; b < blocks; b++) {
        const int8_t *block = codes + b * dims * SEALGATE_ANN_COLUMN_LANES;
        float *o = out + b * SEALGATE_ANN_COLUMN_LANES;
        for (long lane = 0; lane < SEALGATE_ANN_COLUMN_LANES; lane++) o[lane] = 0;
        for (long j = 0; j < k; j++) {
            const int8_t *c = block + (long)sel[j] * SEALGATE_ANN_COLUMN_LANES;
            float v = values[j];
            for (long lane = 0; lane < SEALGATE_ANN_COLUMN_LANES; lane++) o[lane] += v * (float)c[lane];
        }
    }
}
