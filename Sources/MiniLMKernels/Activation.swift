#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element-wise helpers of the encoder, eight lanes at a time.
enum Activation {
    typealias V = SIMD8<Float>

    /// Exact GELU, as BERT's `hidden_act: gelu`: `x · ½ · (1 + erf(x / √2))`, with ``erf(_:)`` on eight lanes.
    static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        let invSqrt2: Float = 0.707_106_781_186_547_5
        var i = 0
        while i + 8 <= count {
            let raw = UnsafeMutableRawPointer(x + i)
            let v = raw.loadUnaligned(as: V.self)
            raw.storeBytes(of: 0.5 * v * (1 + erf(v * invSqrt2)), as: V.self)
            i += 8
        }
        while i < count {
            x[i] = 0.5 * x[i] * (1 + erff(x[i] * invSqrt2))
            i += 1
        }
    }

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
