/// The inner loops of the approximate index: a float query against int8 codes, and code against code.
///
/// Codes are a vector scaled so its largest magnitude is 127 and rounded, with every non-zero value kept
/// non-zero (so document frequencies stay exact). Cosine similarity does not depend on the scale, so none is
/// stored.
enum SimilarityKernels {
    /// Int8 codes of `vector` (see the type's summary).
    static func quantize(_ vector: [Float]) -> [Int8] {
        var largest: Float = 0
        for x in vector where abs(x) > largest { largest = abs(x) }
        guard largest > 0, largest.isFinite else { return [Int8](repeating: 0, count: vector.count) }
        let factor = 127 / largest
        return vector.map { x in
            guard x != 0, x.isFinite else { return 0 }
            let q = (x * factor).rounded()
            if q == 0 { return x < 0 ? -1 : 1 }
            return Int8(max(-127, min(127, q)))
        }
    }

    /// Σ q[d]·c[d] over `n` dimensions. Four independent accumulators over 32 dimensions a step, so the adds do
    /// not wait on each other (one accumulator made every step wait for the previous add's latency).
    @inline(__always)
    static func dot(_ q: UnsafePointer<Float>, _ c: UnsafePointer<Int8>, _ n: Int) -> Float {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        let codes = UnsafeRawPointer(c)
        let query = UnsafeRawPointer(q)
        var d = 0
        while d + 32 <= n {
            a0 += SIMD8<Float>(codes.loadUnaligned(fromByteOffset: d, as: SIMD8<Int8>.self)) * query.loadUnaligned(fromByteOffset: 4 * d, as: SIMD8<Float>.self)
            a1 += SIMD8<Float>(codes.loadUnaligned(fromByteOffset: d + 8, as: SIMD8<Int8>.self))
                * query.loadUnaligned(fromByteOffset: 4 * (d + 8), as: SIMD8<Float>.self)
            a2 += SIMD8<Float>(codes.loadUnaligned(fromByteOffset: d + 16, as: SIMD8<Int8>.self))
                * query.loadUnaligned(fromByteOffset: 4 * (d + 16), as: SIMD8<Float>.self)
            a3 += SIMD8<Float>(codes.loadUnaligned(fromByteOffset: d + 24, as: SIMD8<Int8>.self))
                * query.loadUnaligned(fromByteOffset: 4 * (d + 24), as: SIMD8<Float>.self)
            d += 32
        }
        while d + 8 <= n {
            a0 += SIMD8<Float>(codes.loadUnaligned(fromByteOffset: d, as: SIMD8<Int8>.self)) * query.loadUnaligned(fromByteOffset: 4 * d, as: SIMD8<Float>.self)
            d += 8
        }
        var sum = ((a0 + a1) + (a2 + a3)).sum()
        while d < n {
            sum += q[d] * Float(c[d])
            d += 1
        }
        return sum
    }

    /// Σ q[d]·c[d] and Σ w[d]·c[d]² over `n` dimensions (two accumulators each, 16 dimensions a step).
    @inline(__always)
    static func dotAndNorm(_ q: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ c: UnsafePointer<Int8>, _ n: Int) -> (Float, Float) {
        var dot0 = SIMD8<Float>(), dot1 = SIMD8<Float>()
        var norm0 = SIMD8<Float>(), norm1 = SIMD8<Float>()
        let codes = UnsafeRawPointer(c)
        let query = UnsafeRawPointer(q)
        let weights = UnsafeRawPointer(w)
        var d = 0
        while d + 16 <= n {
            let x = SIMD8<Float>(codes.loadUnaligned(fromByteOffset: d, as: SIMD8<Int8>.self))
            let y = SIMD8<Float>(codes.loadUnaligned(fromByteOffset: d + 8, as: SIMD8<Int8>.self))
            dot0 += x * query.loadUnaligned(fromByteOffset: 4 * d, as: SIMD8<Float>.self)
            dot1 += y * query.loadUnaligned(fromByteOffset: 4 * (d + 8), as: SIMD8<Float>.self)
            norm0 += x * x * weights.loadUnaligned(fromByteOffset: 4 * d, as: SIMD8<Float>.self)
            norm1 += y * y * weights.loadUnaligned(fromByteOffset: 4 * (d + 8), as: SIMD8<Float>.self)
            d += 16
        }
        while d + 8 <= n {
            let x = SIMD8<Float>(codes.loadUnaligned(fromByteOffset: d, as: SIMD8<Int8>.self))
            dot0 += x * query.loadUnaligned(fromByteOffset: 4 * d, as: SIMD8<Float>.self)
            norm0 += x * x * weights.loadUnaligned(fromByteOffset: 4 * d, as: SIMD8<Float>.self)
            d += 8
        }
        var dotSum = (dot0 + dot1).sum()
        var normSum = (norm0 + norm1).sum()
        while d < n {
            let x = Float(c[d])
            dotSum += q[d] * x
            normSum += w[d] * x * x
            d += 1
        }
        return (dotSum, normSum)
    }

    /// Σ w[d]·a[d]·b[d], Σ w[d]·a[d]², Σ w[d]·b[d]² over `n` dimensions (`w` may be `nil` for all ones).
    static func codeProducts(_ a: UnsafePointer<Int8>, _ b: UnsafePointer<Int8>, _ w: UnsafePointer<Float>?, _ n: Int) -> (ab: Float, aa: Float, bb: Float) {
        var ab = SIMD8<Float>()
        var aa = SIMD8<Float>()
        var bb = SIMD8<Float>()
        var d = 0
        while d + 8 <= n {
            let x = SIMD8<Float>(UnsafeRawPointer(a + d).loadUnaligned(as: SIMD8<Int8>.self))
            let y = SIMD8<Float>(UnsafeRawPointer(b + d).loadUnaligned(as: SIMD8<Int8>.self))
            let wx = w.map { UnsafeRawPointer($0 + d).loadUnaligned(as: SIMD8<Float>.self) } ?? SIMD8<Float>(repeating: 1)
            ab += x * y * wx
            aa += x * x * wx
            bb += y * y * wx
            d += 8
        }
        var s = (ab.sum(), aa.sum(), bb.sum())
        while d < n {
            let x = Float(a[d])
            let y = Float(b[d])
            let wd = w.map { $0[d] } ?? 1
            s.0 += wd * x * y
            s.1 += wd * x * x
            s.2 += wd * y * y
            d += 1
        }
        return s
    }
}

extension SimilarityKernels {
    /// Σ a[d]·b[d] in 32-bit integers over `n` dimensions (eight lanes a step).
    @inline(__always)
    static func codeDot(_ a: UnsafePointer<Int8>, _ b: UnsafePointer<Int8>, _ n: Int) -> Int32 {
        var acc = SIMD8<Int32>()
        var d = 0
        while d + 8 <= n {
            let x = SIMD8<Int32>(truncatingIfNeeded: UnsafeRawPointer(a + d).loadUnaligned(as: SIMD8<Int8>.self))
            let y = SIMD8<Int32>(truncatingIfNeeded: UnsafeRawPointer(b + d).loadUnaligned(as: SIMD8<Int8>.self))
            acc &+= x &* y
            d += 8
        }
        var sum = acc.wrappedSum()
        while d < n {
            sum &+= Int32(a[d]) &* Int32(b[d])
            d += 1
        }
        return sum
    }
}

/// A binary heap of `(score, node)` pairs: the highest score on top (`highestFirst`) or the lowest.
struct ScoredHeap {
    private(set) var items: [(score: Float, node: Int32)] = []
    let highestFirst: Bool

    init(highestFirst: Bool, capacity: Int = 0) {
        self.highestFirst = highestFirst
        items.reserveCapacity(capacity)
    }

    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }
    var top: (score: Float, node: Int32)? { items.first }

    @inline(__always)
    private func above(_ a: Float, _ b: Float) -> Bool { highestFirst ? a > b : a < b }

    mutating func push(_ score: Float, _ node: Int32) {
        items.append((score, node))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard above(items[i].score, items[parent].score) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    @discardableResult
    mutating func pop() -> (score: Float, node: Int32)? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1
                let r = l + 1
                var best = i
                if l < items.count, above(items[l].score, items[best].score) { best = l }
                if r < items.count, above(items[r].score, items[best].score) { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return first
    }
}

/// SplitMix64: the deterministic source of node levels (a seeded index builds the same graph every time).
struct LevelGenerator: Sendable {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A level drawn from the exponential distribution with multiplier `1/ln(m)`, capped at 16.
    mutating func level(m: Int) -> Int {
        let uniform = (Double(next() >> 11) + 1) / Double(1 << 53)
        let level = Int(-logd(uniform) / logd(Double(max(2, m))))
        return min(16, max(0, level))
    }
}

@inline(__always)
func logd(_ x: Double) -> Double {
    #if canImport(Glibc)
    return Glibc.log(x)
    #else
    return Darwin.log(x)
    #endif
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
