#if arch(x86_64)
/// The element-wise parts of the MiniLM encoder on sixteen lanes, for AVX-512 CPUs: GELU (also applied to the
/// GEMM's register tile before it is stored, ``AVX512GEMM``), softmax and layer normalisation. The formulas are the
/// ones of the eight-lane code in `MiniLMKernels` (`Activation`, `LayerNorm`) — erf by Abramowitz & Stegun 7.1.26,
/// Cephes `expf` — so the two paths agree within float rounding and the reference vectors hold on both.
/// The polynomials are written out again here on purpose: one generic version shared by the Haswell and the
/// Skylake-SP targets would be a specialisation the linker may take from either target for both.
///
/// As ``AVX512GEMM``: compiled for `skylake-avx512`, run only when `GEMMKernel.select` chose `.avx512` for this CPU;
/// raw pointers and `SIMD16<Float>` arithmetic only, horizontal maxima and sums by halves (the generic `max()` and
/// `sum()` would be specialisations the linker could share with code built for other CPUs). In erf, `abs` and the
/// sign are bit operations: `replacing(with:where:)` there compiled to four 128-bit pieces per vector and the code
/// after it stayed on `xmm` (GELU took twice the eight-lane code's time). Profile after changing any of this.
public enum AVX512Vector {
    typealias V = SIMD16<Float>
    typealias I = SIMD16<Int32>
    typealias U = SIMD16<UInt32>

    /// Exact GELU in place, `x · ½ · (1 + erf(x / √2))` (BERT's `hidden_act: gelu`), sixteen lanes at a time.
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 16 <= count {
            store(gelu(load(x + i)), x + i)
            i += 16
        }
        if i < count {
            var v = V()
            var j = 0
            while i + j < count {
                v[j] = x[i + j]
                j += 1
            }
            let y = gelu(v)
            j = 0
            while i + j < count {
                x[i + j] = y[j]
                j += 1
            }
        }
    }

    /// GELU in place on a `rows × columns` block whose rows are `ldc` floats apart (`columns` a multiple of 16): the
    /// GEMM's register tile right after its store, while it is in L1.
    @inline(never)
    public static func gelu(_ c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int) {
        var r = 0
        while r < rows {
            let row = c + r * ldc
            var j = 0
            while j < columns {
                store(gelu(load(row + j)), row + j)
                j += 16
            }
            r += 1
        }
    }

    /// GELU of sixteen values.
    @inline(__always)
    static func gelu(_ v: V) -> V {
        0.5 * v * (1 + erf(v * 0.707_106_781_186_547_5))
    }

    /// erf by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7), odd by symmetry: computed on `|x|` (at most 9:
    /// erf(9) is 1 in float) and given `x`'s sign bit.
    @inline(__always)
    static func erf(_ x: V) -> V {
        let bits = unsafeBitCast(x, to: U.self)
        let sign = bits & 0x8000_0000
        let a = pointwiseMin(unsafeBitCast(bits & 0x7FFF_FFFF, to: V.self), V(repeating: 9))
        let t = 1 / (1 + 0.327_591_1 * a)
        var p = V(repeating: 1.061_405_429)
        p = p * t + -1.453_152_027
        p = p * t + 1.421_413_741
        p = p * t + -0.284_496_736
        p = p * t + 0.254_829_592
        let y = 1 - p * t * exp(unclamped: -(a * a))
        return unsafeBitCast(unsafeBitCast(y, to: U.self) | sign, to: V.self)
    }

    /// eˣ for x ≤ 0, which is all softmax passes (after subtracting the maximum); inputs below −87.3 give ~1e-38.
    @inline(__always)
    static func exp(_ input: V) -> V {
        let low = V(repeating: -87.3)
        return exp(unclamped: input.replacing(with: low, where: input .< low))
    }

    /// eˣ for −87.3 ≤ x ≤ 0 (erf's −x² with |x| ≤ 9 is −81 at least): Cephes `expf`, reduction by ln 2 in two parts,
    /// degree-6 polynomial, 2ⁿ by exponent bits; about 1 ulp. `n` is rounded to nearest by adding and subtracting
    /// 1.5·2²³, which also leaves it in the low mantissa bits for the exponent.
    @inline(__always)
    static func exp(unclamped x0: V) -> V {
        let shifted = x0 * 1.442_695_040_888_963_4 + 12_582_912
        let n = shifted - 12_582_912
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
        let biased = unsafeBitCast(shifted, to: I.self) &- 0x4B40_0000 &+ 127
        return y * unsafeBitCast(biased &<< 23, to: V.self)
    }

    /// `row ← softmax(scale · row)` over `count` values (`scale` > 0); a partial last vector is padded with −∞ (its
    /// exponentials are e^−87.3 ≈ 1e-38, nothing next to the maximum's 1) and stored back lane by lane.
    public static func softmax(_ row: UnsafeMutablePointer<Float>, count: Int, scale: Float) {
        let whole = count / 16 * 16
        var tail = V(repeating: -.infinity)
        var j = whole
        while j < count {
            tail[j - whole] = row[j]
            j += 1
        }
        var m0 = tail, m1 = V(repeating: -.infinity)
        var i = 0
        while i + 32 <= whole {
            let v0 = load(row + i), v1 = load(row + i + 16)
            m0 = m0.replacing(with: v0, where: v0 .> m0)
            m1 = m1.replacing(with: v1, where: v1 .> m1)
            i += 32
        }
        if i < whole {
            let v0 = load(row + i)
            m0 = m0.replacing(with: v0, where: v0 .> m0)
        }
        let shift = V(repeating: horizontalMax(m0.replacing(with: m1, where: m1 .> m0))), s = V(repeating: scale)
        var t0 = V(), t1 = V()
        i = 0
        while i + 32 <= whole {
            let e0 = exp((load(row + i) - shift) * s), e1 = exp((load(row + i + 16) - shift) * s)
            store(e0, row + i)
            store(e1, row + i + 16)
            t0 += e0
            t1 += e1
            i += 32
        }
        if i < whole {
            let e0 = exp((load(row + i) - shift) * s)
            store(e0, row + i)
            t0 += e0
        }
        let last = exp((tail - shift) * s)
        let total = horizontalSum(t0 + t1 + last)
        let inverse = V(repeating: 1 / total)
        i = 0
        while i < whole {
            store(load(row + i) * inverse, row + i)
            i += 16
        }
        let scaled = last * inverse
        j = whole
        while j < count {
            row[j] = scaled[j - whole]
            j += 1
        }
    }

    /// Layer normalisation of each of `rows` rows of `x` (`width` floats each), in place, after adding `residual`
    /// (same shape) when given: `(x − mean) / √(variance + epsilon) · gamma + beta`.
    public static func layerNorm(
        _ x: UnsafeMutablePointer<Float>, adding residual: UnsafePointer<Float>?, rows: Int, width h: Int,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, epsilon: Float
    ) {
        let whole = h / 16 * 16
        var r = 0
        while r < rows {
            let row = x + r * h
            var i = 0
            if let residual {
                let other = residual + r * h
                while i < whole {
                    store(load(row + i) + load(other + i), row + i)
                    i += 16
                }
                while i < h {
                    row[i] += other[i]
                    i += 1
                }
            }
            var s0 = V(), s1 = V()
            i = 0
            while i + 32 <= whole {
                s0 += load(row + i)
                s1 += load(row + i + 16)
                i += 32
            }
            if i < whole { s0 += load(row + i) }
            var sum = horizontalSum(s0 + s1)
            i = whole
            while i < h {
                sum += row[i]
                i += 1
            }
            let mean = sum / Float(h)
            let center = V(repeating: mean)
            var q0 = V(), q1 = V()
            i = 0
            while i + 32 <= whole {
                let d0 = load(row + i) - center, d1 = load(row + i + 16) - center
                q0.addProduct(d0, d0)
                q1.addProduct(d1, d1)
                i += 32
            }
            if i < whole {
                let d0 = load(row + i) - center
                q0.addProduct(d0, d0)
            }
            var variance = horizontalSum(q0 + q1)
            i = whole
            while i < h {
                variance += (row[i] - mean) * (row[i] - mean)
                i += 1
            }
            let inv = 1 / (variance / Float(h) + epsilon).squareRoot()
            let scale = V(repeating: inv)
            i = 0
            while i < whole {
                let v = (load(row + i) - center) * scale
                store(v * load(gamma + i) + load(beta + i), row + i)
                i += 16
            }
            while i < h {
                row[i] = (row[i] - mean) * inv * gamma[i] + beta[i]
                i += 1
            }
            r += 1
        }
    }

    /// The largest lane, by constant lane indices in a tree (a loop over the lanes indexed the vector through memory;
    /// `pointwiseMax` compiled to a lane-by-lane loop with NaN checks, and to shared specialisations on 4 and 8 lanes).
    @inline(__always)
    static func horizontalMax(_ v: V) -> Float {
        @inline(__always) func larger(_ a: Float, _ b: Float) -> Float { a > b ? a : b }
        let a = larger(larger(larger(v[0], v[1]), larger(v[2], v[3])), larger(larger(v[4], v[5]), larger(v[6], v[7])))
        let b = larger(larger(larger(v[8], v[9]), larger(v[10], v[11])), larger(larger(v[12], v[13]), larger(v[14], v[15])))
        return larger(a, b)
    }

    /// Loads and stores of sixteen lanes, in this file: ``AVX512GEMM``'s are in another file, which a build that
    /// compiles files separately (debug) cannot inline, so GELU and softmax called them once per vector.
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }

    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }

    /// The sum of the lanes, by halves.
    @inline(__always)
    static func horizontalSum(_ v: V) -> Float {
        let half = v.lowHalf + v.highHalf
        let quarter = half.lowHalf + half.highHalf
        return (quarter[0] + quarter[2]) + (quarter[1] + quarter[3])
    }
}
#endif
