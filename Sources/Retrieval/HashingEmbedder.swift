import SealgateCore

/// The built-in embedder: hashed word unigrams, bigrams and character trigrams, log-scaled and normalised.
///
/// It needs no model files and captures lexical overlap, not meaning: "car" and "automobile" are unrelated to
/// it. The index weights its dimensions by inverse document frequency (``wantsIDFWeighting``).
public struct HashingEmbedder: Embedder {
    public let dimensions: Int
    public var identifier: String { "sealgate-hash-v1-\(dimensions)" }
    public var wantsIDFWeighting: Bool { true }

    public init(dimensions: Int = 1024) {
        self.dimensions = max(16, dimensions)
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        texts.map(vector)
    }

    /// The vector of one text (synchronous).
    public func vector(_ text: String) -> [Float] {
        var v = [Float](repeating: 0, count: dimensions)
        let terms = Tokenizer.terms(text)
        func add(_ feature: String, _ weight: Float) {
            let h = Self.fnv1a(feature)
            let index = Int(h % UInt64(dimensions))
            v[index] += (h >> 63) == 0 ? weight : -weight
        }
        for (i, term) in terms.enumerated() {
            add("w:" + term, 1.0)
            if i + 1 < terms.count { add("b:" + term + " " + terms[i + 1], 0.7) }
            let padded = Array("^" + term + "$")
            if padded.count > 4 {
                for j in 0..<(padded.count - 2) { add("c:" + String(padded[j..<(j + 3)]), 0.25) }
            }
        }
        var norm: Float = 0
        for i in 0..<dimensions where v[i] != 0 {
            let s: Float = v[i] < 0 ? -1 : 1
            v[i] = s * (1 + logf(abs(v[i]) + 1e-6).clampedNonNegative)
            norm += v[i] * v[i]
        }
        if norm > 0 {
            let inv = 1 / norm.squareRoot()
            for i in 0..<dimensions { v[i] *= inv }
        }
        return v
    }

    /// 64-bit FNV-1a over UTF-8.
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}

extension Float {
    fileprivate var clampedNonNegative: Float { self < 0 ? 0 : self }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
