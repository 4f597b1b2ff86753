extension BertEncoder {
    /// Scaled dot-product attention per sequence and head over the fused `[q | k | v]` rows. Each head's keys are
    /// first gathered transposed (`headSize × L`, rows padded to 8) so a query's scores come out eight at a time from
    /// one accumulator (no horizontal sums); softmax uses the vector `exp`; the context is `Σ p_j v_j`.
    func attention(_ qkv: UnsafePointer<Float>, lengths: [Int], into out: UnsafeMutablePointer<Float>) {
        typealias V = SIMD8<Float>
        let h = hidden, width = 3 * h, headSize = h / heads
        let scale = 1 / Float(headSize).squareRoot()
        let longest = ((lengths.max() ?? 0) + 7) / 8 * 8
        withUnsafeTemporaryAllocation(of: Float.self, capacity: longest * (headSize + 1)) { buffer in
            guard let base = buffer.baseAddress else { return }
            let keys = base, scores = base + longest * headSize
            var start = 0
            for length in lengths {
                let padded = (length + 7) / 8 * 8
                for head in 0..<heads {
                    let qOffset = head * headSize, kOffset = h + head * headSize, vOffset = 2 * h + head * headSize
                    for d in 0..<headSize {
                        let row = keys + d * padded
                        for j in 0..<length { row[j] = qkv[(start + j) * width + kOffset + d] }
                        for j in length..<padded { row[j] = 0 }
                    }
                    for i in 0..<length {
                        let qi = qkv + (start + i) * width + qOffset
                        var maximum = V(repeating: -.infinity)
                        for block in stride(from: 0, to: padded, by: 8) {
                            var acc = V()
                            for d in 0..<headSize {
                                acc.addProduct(V(repeating: qi[d]), UnsafeRawPointer(keys + d * padded + block).loadUnaligned(as: V.self))
                            }
                            acc *= scale
                            if block + 8 > length {
                                for lane in (length - block)..<8 { acc[lane] = -.infinity }
                            }
                            UnsafeMutableRawPointer(scores + block).storeBytes(of: acc, as: V.self)
                            maximum = maximum.replacing(with: acc, where: acc .> maximum)
                        }
                        let top = V(repeating: maximum.max())
                        var total = V()
                        for block in stride(from: 0, to: padded, by: 8) {
                            let e = Activation.exp(UnsafeRawPointer(scores + block).loadUnaligned(as: V.self) - top)
                            UnsafeMutableRawPointer(scores + block).storeBytes(of: e, as: V.self)
                            total += e
                        }
                        let inv = 1 / total.sum()
                        let o = out + (start + i) * h + qOffset
                        for d in 0..<headSize { o[d] = 0 }
                        for j in 0..<length {
                            Activation.axpy(scores[j] * inv, qkv + (start + j) * width + vOffset, o, headSize)
                        }
                    }
                }
                start += length
            }
        }
    }
}
