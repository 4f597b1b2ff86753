import CPUID

/// What the running CPU and operating system offer the kernels: CPUID leaves 1 and 7 for the instructions, XGETBV
/// for the register state the kernel saves (a vector extension the OS does not enable must not be used).
public struct CPUCapabilities: Sendable, Equatable {
    /// The process is x86-64 (the vector flags below are only ever true there).
    public var isX86_64: Bool
    /// AVX2 and FMA with the ymm state enabled: x86-64-v3, what the `MiniLMKernels` target is compiled for.
    public var avx2FMA: Bool
    /// AVX-512 F, CD, BW, DQ and VL with the opmask and zmm state enabled: what `MiniLMKernelsAVX512` is compiled for
    /// (`-target-cpu skylake-avx512`).
    public var avx512: Bool

    /// Describes a CPU (tests use made-up ones to check ``GEMMKernel/select(for:)``).
    public init(isX86_64: Bool, avx2FMA: Bool, avx512: Bool) {
        self.isX86_64 = isX86_64
        self.avx2FMA = avx2FMA
        self.avx512 = avx512
    }

    /// This machine's capabilities, read once per process.
    public static let current: CPUCapabilities = {
        let bits = Int(sealgate_cpu_features())
        return CPUCapabilities(
            isX86_64: bits & Int(SEALGATE_CPU_X86_64) != 0, avx2FMA: bits & Int(SEALGATE_CPU_AVX2_FMA) != 0,
            avx512: bits & Int(SEALGATE_CPU_AVX512_SKX) != 0)
    }()
}

/// The dense-layer (GEMM) kernels ``PackedLinear`` can run, and the choice between them.
///
/// The choice is made once per process (``selected``) from ``CPUCapabilities/current``: AVX-512 code runs only on a
/// CPU and OS that have it, the AVX2 kernel only where AVX2 and FMA are enabled; an x86-64 CPU without them gets no
/// kernel at all (the rest of the encoder is compiled for Haswell too), and `MiniLMEmbedder` refuses it.
public enum GEMMKernel: String, Sendable, CaseIterable, CustomStringConvertible {
    /// A 12 × 32 register tile of 24 `SIMD16<Float>` accumulators over 32-column panels and packed row blocks,
    /// compiled for `skylake-avx512` in its own target (`MiniLMKernelsAVX512`).
    case avx512 = "avx512-12x32"
    /// A 6 × 16 register tile of 12 `SIMD8<Float>` accumulators over 16-column panels, compiled for Haswell.
    case avx2 = "avx2-6x16"
    /// The same 6 × 16 tile compiled for the target's baseline: the kernel of every architecture but x86-64.
    case portable = "portable-6x16"

    /// The kernel's name as `--gemm` and the benchmark print it.
    public var description: String { rawValue }

    /// The kernel a CPU gets: AVX-512 if it has it (and AVX2/FMA, which the rest of the encoder needs), else AVX2;
    /// the portable kernel off x86-64; none for an x86-64 CPU without AVX2 and FMA.
    public static func select(for cpu: CPUCapabilities) -> GEMMKernel? {
        guard cpu.isX86_64 else { return .portable }
        if cpu.avx512 && cpu.avx2FMA { return .avx512 }
        return cpu.avx2FMA ? .avx2 : nil
    }

    /// Whether this kernel can run on `cpu` in this build: its instructions are there and it was compiled in.
    public func runs(on cpu: CPUCapabilities) -> Bool {
        #if arch(x86_64)
        switch self {
        case .avx512: return cpu.isX86_64 && cpu.avx512 && cpu.avx2FMA
        case .avx2: return cpu.isX86_64 && cpu.avx2FMA
        case .portable: return false
        }
        #else
        return self == .portable && !cpu.isX86_64
        #endif
    }

    /// This process's kernel, chosen once from ``CPUCapabilities/current``; `nil` when no kernel can run here.
    public static let selected: GEMMKernel? = select(for: .current)

    /// Output columns per packed weight panel.
    var panelWidth: Int {
        switch self {
        case .avx512: return 32
        case .avx2, .portable: return 16
        }
    }
}
