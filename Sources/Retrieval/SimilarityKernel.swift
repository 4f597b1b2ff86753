import CPUID
import RetrievalKernelsAVX

/// The distance kernels the approximate index runs, and the choice between them.
///
/// The release build targets baseline x86-64 (SSE2), where widening int8 codes to floats is a chain of shuffles.
/// On x86-64 the index calls the AVX2 + FMA or AVX-512 kernels of the `RetrievalKernelsAVX` target instead (each
/// compiled for its instruction set, function by function), chosen once per process from CPUID and XGETBV: code
/// for an instruction set runs only where the CPU has it and the OS saves its registers. ``portable`` is the
/// Swift kernel every other CPU runs, kept and tested against the others.
public enum SimilarityKernel: String, Sendable, CaseIterable, CustomStringConvertible {
    /// 16-lane kernels (AVX-512 F, BW, VL).
    case avx512
    /// 8-lane kernels with fused multiply-adds (AVX2 + FMA).
    case avx2
    /// The Swift SIMD kernels compiled for the build's baseline.
    case portable

    /// The kernel's name, as benchmarks print it.
    public var description: String { rawValue }

    /// The best kernel for a CPU with these features (AVX-512 only with AVX2 and FMA too).
    public static func select(isX86_64: Bool, avx2FMA: Bool, avx512: Bool) -> SimilarityKernel {
        guard isX86_64 else { return .portable }
        if avx512 && avx2FMA { return .avx512 }
        return avx2FMA ? .avx2 : .portable
    }

    /// Whether this kernel can run in this process: compiled in, and its instructions present and enabled.
    public var runsHere: Bool {
        switch self {
        case .portable: return true
        case .avx2: return Self.features & SEALGATE_CPU_AVX2_FMA != 0
        case .avx512: return Self.features & SEALGATE_CPU_AVX2_FMA != 0 && Self.features & SEALGATE_CPU_AVX512_SKX != 0
        }
    }

    /// This process's kernel, chosen once.
    public static let selected: SimilarityKernel = {
        let bits = features
        return select(
            isX86_64: bits & SEALGATE_CPU_X86_64 != 0, avx2FMA: bits & SEALGATE_CPU_AVX2_FMA != 0,
            avx512: bits & SEALGATE_CPU_AVX512_SKX != 0)
    }()

    /// `sealgate_cpu_features()`, read once (0 off x86-64).
    private static let features: UInt32 = sealgate_cpu_features()

    // MARK: Entry points on arrays (tests and benchmarks); `nil` when the kernel cannot run here or lengths differ.

    /// Σ query[d]·codes[d].
    public func dot(query: [Float], codes: [Int8]) -> Float? {
        guard runsHere, query.count == codes.count else { return nil }
        return query.withUnsafeBufferPointer { q in codes.withUnsafeBufferPointer { c in dot(q.baseAddress, c.baseAddress, q.count) } }
    }

    /// Σ query[d]·codes[d] and Σ weights[d]·codes[d]².
    public func dotAndNorm(query: [Float], weights: [Float], codes: [Int8]) -> (dot: Float, norm: Float)? {
        guard runsHere, query.count == codes.count, weights.count == codes.count else { return nil }
        return query.withUnsafeBufferPointer { q in
            weights.withUnsafeBufferPointer { w in
                codes.withUnsafeBufferPointer { c in dotAndNorm(q.baseAddress, w.baseAddress, c.baseAddress, c.count) }
            }
        }
    }

    /// Σ w[d]·a[d]·b[d], Σ w[d]·a[d]², Σ w[d]·b[d]².
    public func codeProducts(_ a: [Int8], _ b: [Int8], weights: [Float]) -> (ab: Float, aa: Float, bb: Float)? {
        guard runsHere, a.count == b.count, weights.count == a.count else { return nil }
        return a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                weights.withUnsafeBufferPointer { w in codeProducts(x.baseAddress, y.baseAddress, w.baseAddress, x.count) }
            }
        }
    }

    /// Σ a[d]·b[d], exact.
    public func codeDot(_ a: [Int8], _ b: [Int8]) -> Int32? {
        guard runsHere, a.count == b.count else { return nil }
        return a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in codeDot(x.baseAddress, y.baseAddress, x.count) } }
    }

    /// Column scores of `codes` laid out dimension-major in blocks of 256 nodes (``ColumnCodes``) on the dimensions
    /// `selected` with the query values `values`: one score per lane of every block.
    public func columnScores(codes: [Int8], dimensions: Int, selected: [Int32], values: [Float]) -> [Float]? {
        let lanes = ColumnCodes.lanes
        guard runsHere, dimensions > 0, codes.count % (dimensions * lanes) == 0, selected.count == values.count,
            selected.allSatisfy({ (0..<Int32(dimensions)).contains($0) })
        else { return nil }
        let blocks = codes.count / (dimensions * lanes)
        var out = [Float](repeating: 0, count: blocks * lanes)
        codes.withUnsafeBufferPointer { c in
            selected.withUnsafeBufferPointer { s in
                values.withUnsafeBufferPointer { v in
                    out.withUnsafeMutableBufferPointer { o in
                        guard let c = c.baseAddress, let o = o.baseAddress else { return }
                        columnScores(c, blocks, dimensions, s.baseAddress, v.baseAddress, selected.count, o)
                    }
                }
            }
        }
        return out
    }

    // MARK: The index's calls (pointers valid for `n` elements; `nil` only when `n` is 0).

    @inline(__always)
    func dot(_ q: UnsafePointer<Float>?, _ c: UnsafePointer<Int8>?, _ n: Int) -> Float {
        guard let q, let c else { return 0 }
        switch self {
        #if arch(x86_64)
        case .avx512: return sealgate_ann_dot_avx512(q, c, n)
        case .avx2: return sealgate_ann_dot_avx2(q, c, n)
        #else
        case .avx512, .avx2: return SimilarityKernels.dot(q, c, n)
        #endif
        case .portable: return SimilarityKernels.dot(q, c, n)
        }
    }

    @inline(__always)
    func dotAndNorm(_ q: UnsafePointer<Float>?, _ w: UnsafePointer<Float>?, _ c: UnsafePointer<Int8>?, _ n: Int) -> (Float, Float) {
        guard let q, let w, let c else { return (0, 0) }
        #if arch(x86_64)
        if self != .portable {
            var out: (Float, Float) = (0, 0)
            withUnsafeMutableBytes(of: &out) { raw in
                let p = raw.baseAddress?.assumingMemoryBound(to: Float.self)
                if self == .avx512 { sealgate_ann_dot_norm_avx512(q, w, c, n, p) } else { sealgate_ann_dot_norm_avx2(q, w, c, n, p) }
            }
            return out
        }
        #endif
        return SimilarityKernels.dotAndNorm(q, w, c, n)
    }

    @inline(__always)
    func codeProducts(_ a: UnsafePointer<Int8>?, _ b: UnsafePointer<Int8>?, _ w: UnsafePointer<Float>?, _ n: Int) -> (ab: Float, aa: Float, bb: Float) {
        guard let a, let b else { return (0, 0, 0) }
        #if arch(x86_64)
        if self != .portable, let w {
            var out: (Float, Float, Float) = (0, 0, 0)
            withUnsafeMutableBytes(of: &out) { raw in
                let p = raw.baseAddress?.assumingMemoryBound(to: Float.self)
                if self == .avx512 { sealgate_ann_code_products_avx512(a, b, w, n, p) } else { sealgate_ann_code_products_avx2(a, b, w, n, p) }
            }
            return out
        }
        #endif
        return SimilarityKernels.codeProducts(a, b, w, n)
    }

    /// ``columnScores(codes:dimensions:selected:values:)`` on pointers: `blocks` blocks from `codes`, `k` dimensions.
    func columnScores(
        _ codes: UnsafePointer<Int8>, _ blocks: Int, _ dimensions: Int, _ selected: UnsafePointer<Int32>?, _ values: UnsafePointer<Float>?,
        _ k: Int, _ out: UnsafeMutablePointer<Float>
    ) {
        switch self {
        #if arch(x86_64)
        case .avx512: sealgate_ann_column_scores_avx512(codes, blocks, dimensions, selected, values, k, out)
        case .avx2: sealgate_ann_column_scores_avx2(codes, blocks, dimensions, selected, values, k, out)
        #else
        case .avx512, .avx2: sealgate_ann_column_scores(codes, blocks, dimensions, selected, values, k, out)
        #endif
        case .portable: sealgate_ann_column_scores(codes, blocks, dimensions, selected, values, k, out)
        }
    }

    @inline(__always)
    func codeDot(_ a: UnsafePointer<Int8>?, _ b: UnsafePointer<Int8>?, _ n: Int) -> Int32 {
        guard let a, let b else { return 0 }
        switch self {
        #if arch(x86_64)
        case .avx512: return sealgate_ann_code_dot_avx512(a, b, n)
        case .avx2: return sealgate_ann_code_dot_avx2(a, b, n)
        #else
        case .avx512, .avx2: return SimilarityKernels.codeDot(a, b, n)
        #endif
        case .portable: return SimilarityKernels.codeDot(a, b, n)
        }
    }
}
