#if arch(x86_64)
/// Scaled dot-product attention of one head of one sequence for heads of 32 dimensions (MiniLM's 384 / 12), fused
/// per block of ``AVX512GEMM/tileRows`` queries: the block's scores against every key, their softmax and the block's
/// context, all while the block's `12 × L` scores stay in L1 (6 KiB at 128 tokens). Through the general GEMM the
/// head's `L × L` scores (64 KiB at 128 tokens) went to L2 after the first product and came back twice (softmax, then
/// the second product), and the 128 × 32 queries were packed first although each of their values is used only
/// `L / 32` times.
///
/// Both products run on ``AVX512GEMM``'s 12 × 32 register tile: `S = Q·Kᵀ` one 32-key panel at a time (depth 32,
/// queries read in place from the fused `[q | k | v]` rows), then `C = P·V` with the values as one panel of depth `L`.
/// The arithmetic is the GEMM's and softmax is ``AVX512Vector/softmax(_:count:scale:)``, so results equal the unfused
/// path's bit for bit. Same rules as the rest of this target: compiled for `skylake-avx512`, run only when
/// `GEMMKernel.select` chose `.avx512`.
public enum AVX512Attention {
    /// The head size this kernel handles: one 32-wide panel, two 16-lane vectors per row.
    public static let headSize = AVX512GEMM.panelWidth

    /// Floats of scratch ``head(queries:ldq:keys:values:length:scale:into:ldo:scratch:)`` needs for sequences of up
    /// to `longest` tokens: one block's scores (rows padded to whole key panels), and a zero-padded copy of a last
    /// block of fewer than twelve queries with its context.
    public static func scratchCount(longest: Int) -> Int {
        let rows = AVX512GEMM.tileRows
        return rows * paddedLength(longest) + 2 * rows * headSize
    }

    /// `longest` rounded up to whole 32-key panels.
    @inline(__always)
    static func paddedLength(_ length: Int) -> Int { (length + headSize - 1) / headSize * headSize }

    /// `out[i] = softmax(scale · q_i · Kᵀ) · V` for the `length` queries of one head (`length` ≥ 1):
    /// - `queries`: query `i`'s 32 values at `queries + i · ldq`;
    /// - `keys`: the head's keys as 32-key panels (`32 dims × 32 keys` each, row `d` holding dimension `d` of the
    ///   panel's keys), zero past the last key — the layout ``AVX512GEMM`` takes as weights;
    /// - `values`: the head's values as one panel, `length` rows of 32 floats (copied out of the `[q | k | v]` rows:
    ///   read in place, 4.6 KiB apart, their lines fell into 16 of L1's 64 sets and evicted each other);
    /// - `out`: query `i`'s 32 context values at `out + i · ldo`;
    /// - `scratch`: ``scratchCount(longest:)`` floats for a `longest` ≥ `length`.
    @inline(never)
    public static func head(
        queries: UnsafePointer<Float>, ldq: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, length: Int,
        scale: Float, into out: UnsafeMutablePointer<Float>, ldo: Int, scratch: UnsafeMutablePointer<Float>
    ) {
        let rows = AVX512GEMM.tileRows, width = headSize
        let stride = paddedLength(length), panels = stride / width
        let scores = scratch, lastQueries = scratch + rows * stride, lastContext = lastQueries + rows * width
        let context = AVX512GEMM.Step(panel: values, depth: length, bias: nil, accumulate: false, gelu: false, columns: width)
        var first = 0
        while first < length {
            let valid = AVX512GEMM.smaller(rows, length - first)
            // A last block of fewer than twelve queries runs on a zero-padded copy (the rows past it belong to the
            // next sequence or lie past the buffer); its extra rows' results are computed and never stored.
            var q = queries + first * ldq, lda = ldq
            if valid < rows {
                copyQueries(q, ldq: ldq, rows: valid, into: lastQueries)
                q = UnsafePointer(lastQueries)
                lda = width
            }
            var p = 0
            while p < panels {
                let step = AVX512GEMM.Step(
                    panel: keys + p * width * width, depth: width, bias: nil, accumulate: false, gelu: false, columns: width)
                AVX512GEMM.tile(q, lda: lda, step, c: scores + p * width, ldc: stride)
                p += 1
            }
            var r = 0
            while r < valid {
                AVX512Vector.softmax(scores + r * stride, count: length, scale: scale)
                r += 1
            }
            if valid < rows {
                AVX512GEMM.tile(UnsafePointer(scores), lda: stride, context, c: lastContext, ldc: width)
                let target = out + first * ldo
                r = 0
                while r < valid {
                    copyRow(UnsafePointer(lastContext + r * width), to: target + r * ldo)
                    r += 1
                }
            } else {
                AVX512GEMM.tile(UnsafePointer(scores), lda: stride, context, c: out + first * ldo, ldc: ldo)
            }
            first += valid
        }
    }

    /// Copies `rows` queries (32 floats each, `ldq` apart) into a `12 × 32` block and zeroes the rest of it.
    @inline(__always)
    static func copyQueries(_ q: UnsafePointer<Float>, ldq: Int, rows: Int, into block: UnsafeMutablePointer<Float>) {
        let width = headSize
        var r = 0
        while r < AVX512GEMM.tileRows {
            if r < rows {
                copyRow(q + r * ldq, to: block + r * width)
            } else {
                AVX512GEMM.store(AVX512GEMM.V(), block + r * width)
                AVX512GEMM.store(AVX512GEMM.V(), block + r * width + 16)
            }
            r += 1
        }
    }

    /// Copies one row of 32 floats as two vectors (the standard library's generic `update(from:count:)` would be a
    /// specialisation the linker could share with code built for other CPUs, see ``AVX512GEMM``).
    @inline(__always)
    static func copyRow(_ source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>) {
        AVX512GEMM.store(AVX512GEMM.load(source), target)
        AVX512GEMM.store(AVX512GEMM.load(source + 16), target + 16)
    }
}
#endif
