#include "CPUID.h"

#if defined(__x86_64__)
#include <cpuid.h>

static unsigned long long xcr0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

unsigned sealgate_cpu_features(void) {
    unsigned features = SEALGATE_CPU_X86_64;
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return features;
    const int fma = (ecx >> 12) & 1, osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
    // Without OSXSAVE, XGETBV itself faults and no vector state beyond SSE is enabled.
    if (!osxsave || !avx) return features;
    const unsigned long long state = xcr0();
    const int ymm = (state & 0x6) == 0x6, zmm = (state & 0xE6) == 0xE6;
    if (__get_cpuid_max(0, 0) < 7) return features;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    const int avx2 = (ebx >> 5) & 1;
    const int f = (ebx >> 16) & 1, dq = (ebx >> 17) & 1, cd = (ebx >> 28) & 1, bw = (ebx >> 30) & 1, vl = (ebx >> 31) & 1;
    if (ymm && avx2 && fma) features |= SEALGATE_CPU_AVX2_FMA;
    if (ymm && zmm && avx2 && fma && f && dq && cd && bw && vl) features |= SEALGATE_CPU_AVX512_SKX;
    return features;
}
#else
unsigned sealgate_cpu_features(void) { return 0; }
#endif
