#ifndef SEALGATE_CPUID_H
#define SEALGATE_CPUID_H

// Bits of `sealgate_cpu_features()`. Each vector-extension bit is set only when the CPU has the instructions (CPUID)
// *and* the operating system saves their register state (XGETBV): a CPU with AVX-512 under a kernel that does not
// enable the zmm/opmask state must not run AVX-512 code.

/// The build target is x86-64 (the other bits are only ever set there).
#define SEALGATE_CPU_X86_64 1u
/// AVX2 and FMA, with the ymm state enabled (XCR0 bits 1 and 2): x86-64-v3 as the kernels use it.
#define SEALGATE_CPU_AVX2_FMA 2u
/// AVX-512 F, CD, BW, DQ and VL (Skylake-SP and later), with the opmask and zmm state enabled (XCR0 bits 5–7).
#define SEALGATE_CPU_AVX512_SKX 4u

/// The feature bits of the running CPU, read with CPUID leaves 1 and 7 and XGETBV. Cheap, but callers read it once.
unsigned sealgate_cpu_features(void);

#endif
