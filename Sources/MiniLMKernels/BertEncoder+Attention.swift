#if arch(x86_64)
import MiniLMKernelsAVX512
#endif

/// Buffers attention reuses across sequences and heads of one batch, sized for its longest sequence.
struct AttentionScratch {
    /// One head's keys as weight panels of the kernel's width (`headSize × width` each, zero past the sequence).
    let keys: UnsafeMutablePointer<Float>
    /// One head's values as panels (`L × width` each, zero past the head size).
    let values: UnsafeMutablePointer<Float>
    /// One head's `L × L` scores, then probabilities (with the fused AVX-512 attention: its scratch).
    let scores: UnsafeMutablePointer<Float>

    /// Floats needed for sequences up to `longest` tokens and heads of `headSize` with panels `width` wide.
    static func count(longest: Int, headSize: Int, width: Int) -> Int {
        let keyColumns = (longest + width - 1) / width * width, valueColumns = (headSize + width - 1) / width * width
        return keyColumns * headSize + longest * valueColumns + max(longest * longest, fusedCount(longest: longest))
    }

    /// Floats the fused AVX-512 attention needs in place of the scores (a block of them, not all).
    private static func fusedCount(longest: Int) -> Int {
        #if arch(x86_64)
        return AVX512Attention.scratchCount(longest: longest)
        #else
        return 0
        #endif
    }

    init(_ base: UnsafeMutablePointer<Float>, longest: Int, headSize: Int, width: Int) {
        keys = base
        values = keys + (longest + width - 1) / width * width * headSize
        scores = values + longest * ((headSize + width - 1) / width * width)
    }
}

extension BertEncoder {
    /// Scaled dot-product attention per sequence and head over the fused `[q | k | v]` rows, as two products on the
    /// dense layers' GEMM kernel: the head's keys are gathered into weight panels, `S = Q·Kᵀ` (`L × L`), each row of
    /// `S` becomes `softmax(S / √d)` with the vector `exp`, and the head's values, gathered into panels, give the
    /// context `P·V` straight into its columns of `out`. No padding: each sequence attends to itself only. With the
    /// `.avx512` kernel and 32-dimension heads (MiniLM's), the two products and the softmax run fused per block of 12
    /// queries (`AVX512Attention`), so the scores never leave L1; the arithmetic is the same.
    func attention(
        _ qkv: UnsafePointer<Float>, lengths: [Int], into out: UnsafeMutablePointer<Float>, buffers: AttentionScratch,
        gemm: UnsafeMutablePointer<Float>
    ) {
        let h = hidden, width = 3 * h, headSize = h / heads, panel = kernel.panelWidth
        let scale = 1 / Float(headSize).squareRoot()
        let valuePanels = (headSize + panel - 1) / panel
        #if arch(x86_64)
        let fused = kernel == .avx512 && headSize == AVX512Attention.headSize
        #endif
        var start = 0
        for length in lengths {
            let keyPanels = (length + panel - 1) / panel
            for head in 0..<heads {
                let qOffset = head * headSize, kOffset = h + head * headSize, vOffset = 2 * h + head * headSize
                for j in 0..<(keyPanels * panel) {
                    let column = buffers.keys + (j / panel * headSize) * panel + j % panel
                    if j < length {
                        let source = qkv + (start + j) * width + kOffset
                        for d in 0..<headSize { column[d * panel] = source[d] }
                    } else {
                        for d in 0..<headSize { column[d * panel] = 0 }
                    }
                }
                for p in 0..<valuePanels {
                    let columns = min(panel, headSize - p * panel)
                    for j in 0..<length {
                        let row = buffers.values + (p * length + j) * panel
                        row.update(from: qkv + (start + j) * width + vOffset + p * panel, count: columns)
                        if columns < panel { (row + columns).update(repeating: 0, count: panel - columns) }
                    }
                }
                #if arch(x86_64)
                if fused {
                    AVX512Attention.head(
                        queries: qkv + start * width + qOffset, ldq: width, keys: buffers.keys, values: buffers.values,
                        length: length, scale: scale, into: out + start * h + qOffset, ldo: h, scratch: buffers.scores)
                    continue
                }
                #endif
                kernel.multiply(
                    qkv + start * width + qOffset, lda: width, rows: length, inputs: headSize, panels: buffers.keys, bias: nil,
                    outputs: length, into: buffers.scores, ldc: length, scratch: gemm)
                softmax(buffers.scores, rows: length, scale: scale)
                kernel.multiply(
                    buffers.scores, lda: length, rows: length, inputs: length, panels: buffers.values, bias: nil,
                    outputs: headSize, into: out + start * h + qOffset, ldc: h, scratch: gemm)
            }
            start += length
        }
    }

    /// Softmax of each row of a head's `rows × rows` scores: sixteen lanes with the `.avx512` kernel, else eight.
    private func softmax(_ scores: UnsafeMutablePointer<Float>, rows: Int, scale: Float) {
        #if arch(x86_64)
        if kernel == .avx512 {
            for i in 0..<rows { AVX512Vector.softmax(scores + i * rows, count: rows, scale: scale) }
            return
        }
        #endif
        for i in 0..<rows { Activation.softmax(scores + i * rows, count: rows, scale: scale) }
    }
}
