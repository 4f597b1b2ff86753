#if arch(x86_64)
import MiniLMKernelsAVX512
#endif

/// Element-wise helpers of the encoder, eight lanes at a time.
enum Activation {
    typealias V = SIMD8<Float>

    /// Exact GELU, as BERT's `hidden_act: gelu`: `x · ½ · (1 + erf(x / √2))`, with ``erf(_:)`` on eight lanes (the
    /// 6 × 16 GEMM tile applies it to its accumulators before storing them).
    @inline(__always)
    static func gelu(_ v: V) -> V { 0.5 * v * (1 + erf(v * 0.707_106_781_186_547_5)) }

    /// erf by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7, about one float ulp near 1).
    @inline(__always)
    static func erf(_ x: V) -> V {
        let a = x.replacing(with: -x, where: x .< 0)
        let t = 1 / (1 + 0.327_591_1 * a)
        var p = V(repeating: 1.061_405_429)
        p = p * t + -1.453_152_027
        p = p * t + 1.421_413_741
        p = p * t + -0.284_496_736
        p = p * t + 0.254_829_592
        let y = 1 - p * t * exp(-(a * a))
        return y.replacing(with: -y, where: x .< 0)
    }

    /// eˣ on eight lanes (Cephes `expf`: range reduction by ln 2 in two parts, degree-6 polynomial, 2ⁿ by exponent
    /// bits); about 1 ulp; inputs below −87.3 give ~0.
    @inline(__always)
    static func exp(_ input: V) -> V {
        let low = V(repeating: -87.3), high = V(repeating: 88.3)
        let x0 = input.replacing(with: low, where: input .< low).replacing(with: high, where: input .> high)
        let n = (x0 * 1.442_695_040_888_963_4).rounded(.toNearestOrEven)
        var r = x0
        r.addProduct(n, V(repeating: -0.693_359_375))
        r.addProduct(n, V(repeating: 2.121_944_4e-4))
        var p = V(repeating: 1.987_569_150_0e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        let y = p * r * r + r + 1
        // n is integral and |n| ≤ 128: adding 1.5·2²³ puts it in the low mantissa bits (the generic
        // `SIMD8<Int32>(_:rounding:)` converts lane by lane and costs more than the polynomial).
        let biased = unsafeBitCast(n + 12_582_912, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127
        return y * unsafeBitCast(biased &<< 23, to: V.self)
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }

    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }

    /// `row ← softmax(scale · row)` over `count` values (`scale` > 0), eight lanes at a time; a partial last
    /// vector is padded with −∞ (so e⁰… of the padding is 0) and stored back lane by lane.
    static func softmax(_ row: UnsafeMutablePointer<Float>, count: Int, scale: Float) {
        let whole = count / 8 * 8
        var tail = V(repeating: -.infinity)
        for j in whole..<count { tail[j - whole] = row[j] }
        var maximum = tail
        for i in stride(from: 0, to: whole, by: 8) {
            let v = load(row + i)
            maximum = maximum.replacing(with: v, where: v .> maximum)
        }
        let top = V(repeating: maximum.max()), s = V(repeating: scale)
        var total = V()
        for i in stride(from: 0, to: whole, by: 8) {
            let e = exp((load(row + i) - top) * s)
            store(e, row + i)
            total += e
        }
        let last = exp((tail - top) * s).replacing(with: 0, where: tail .== -.infinity)
        total += last
        let inverse = V(repeating: 1 / total.sum())
        for i in stride(from: 0, to: whole, by: 8) { store(load(row + i) * inverse, row + i) }
        let scaled = last * inverse
        for j in whole..<count { row[j] = scaled[j - whole] }
    }
}

/// Layer normalisation over the last dimension (`eps` as BERT's config: 1e-12).
public struct LayerNorm: Sendable {
    let gamma: [Float]
    let beta: [Float]
    let epsilon: Float

    /// Creates a layer norm; `gamma` and `beta` have the hidden size.
    public init(gamma: [Float], beta: [Float], epsilon: Float = 1e-12) {
        precondition(gamma.count == beta.count, "LayerNorm: gamma and beta sizes")
        self.gamma = gamma
        self.beta = beta
        self.epsilon = epsilon
    }

    /// Normalises each of `rows` rows of `x` in place, after adding `residual` (same shape) to it when given: on
    /// sixteen lanes with the `.avx512` kernel (``AVX512Vector``), else eight lanes at a time, with two accumulators
    /// per sum (a scalar sum is one dependent add per element).
    func apply(_ x: UnsafeMutablePointer<Float>, adding residual: UnsafePointer<Float>? = nil, rows: Int, kernel: GEMMKernel) {
        typealias V = SIMD8<Float>
        let h = gamma.count, whole = h / 8 * 8
        gamma.withUnsafeBufferPointer { gammaBuffer in
            beta.withUnsafeBufferPointer { betaBuffer in
                guard let g = gammaBuffer.baseAddress, let b = betaBuffer.baseAddress else { return }
                #if arch(x86_64)
                if kernel == .avx512 {
                    AVX512Vector.layerNorm(x, adding: residual, rows: rows, width: h, gamma: g, beta: b, epsilon: epsilon)
                    return
                }
                #endif
                for r in 0..<rows {
                    let row = x + r * h
                    if let residual {
                        let other = residual + r * h
                        for i in stride(from: 0, to: whole, by: 8) { Activation.store(Activation.load(row + i) + Activation.load(other + i), row + i) }
                        for i in whole..<h { row[i] += other[i] }
                    }
                    var s0 = V(), s1 = V()
                    var i = 0
                    while i + 16 <= whole {
                        s0 += Activation.load(row + i)
                        s1 += Activation.load(row + i + 8)
                        i += 16
                    }
                    if i < whole { s0 += Activation.load(row + i) }
                    var sum = (s0 + s1).sum()
                    for j in whole..<h { sum += row[j] }
                    let mean = sum / Float(h)
                    let center = V(repeating: mean)
                    var q0 = V(), q1 = V()
                    i = 0
                    while i + 16 <= whole {
                        let d0 = Activation.load(row + i) - center, d1 = Activation.load(row + i + 8) - center
                        q0.addProduct(d0, d0)
                        q1.addProduct(d1, d1)
                        i += 16
                    }
                    if i < whole {
                        let d0 = Activation.load(row + i) - center
                        q0.addProduct(d0, d0)
                    }
                    var variance = (q0 + q1).sum()
                    for j in whole..<h { variance += (row[j] - mean) * (row[j] - mean) }
                    let inv = 1 / (variance / Float(h) + epsilon).squareRoot()
                    let scale = V(repeating: inv)
                    for j in stride(from: 0, to: whole, by: 8) {
                        let v = (Activation.load(row + j) - center) * scale
                        Activation.store(v * Activation.load(g + j) + Activation.load(b + j), row + j)
                    }
                    for j in whole..<h { row[j] = (row[j] - mean) * inv * g[j] + b[j] }
                }
            }
        }
    }
}
