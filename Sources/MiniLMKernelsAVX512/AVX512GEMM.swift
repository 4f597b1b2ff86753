#if arch(x86_64)
/// The GEMM of the MiniLM encoder for AVX-512 CPUs: `c[m × n] = a[m × k] · B (+ bias)`, where `B` arrives packed into
/// 32-column panels (`k × 32` each, contiguous, zero-padded past `n`) and `bias`, when given, is padded to whole
/// panels. The dense layers and both products of attention (scores and context) run through it.
///
/// This target is compiled with `-target-cpu skylake-avx512`: nothing in it may run unless `GEMMKernel.select` chose
/// `.avx512` for this CPU. It uses raw pointers and `SIMD16<Float>` only, all inlined into
/// ``multiply(_:lda:rows:inputs:panels:bias:outputs:into:ldc:scratch:)``, so no generic specialisation compiled for
/// AVX-512 can be shared by the linker with code built for other CPUs.
///
/// Blocking (measured on the development machine's Ice Lake, `docs/benchmarks.md`): rows of `a` in blocks of
/// ``rowBlock`` (in L2) and inputs in blocks of ``depthBlock``; each `depthBlock × 32` weight panel block stays in L1
/// while the row block's tiles stream past it, reading `a` in place (twelve row streams: packing them cost as much as
/// the products of attention's small matrices, and gained nothing measurable on the dense layers); a 12 × 32 register
/// tile holds 24 accumulators, with the two panel vectors and a broadcast 27 of the 32 zmm registers. Tiles with fewer
/// rows or columns run on zero-padded copies in the scratch.
public enum AVX512GEMM {
    /// Columns per weight panel: two 16-lane vectors.
    public static let panelWidth = 32
    /// Rows of the register tile.
    public static let tileRows = 12
    /// Inputs per block (a 256 × 32 panel block is 32 KiB, inside the 48 KiB L1 of Ice Lake).
    public static let depthBlock = 256
    /// Rows per block (144 × 256 floats = 144 KiB of `a`, inside L2; a multiple of ``tileRows``).
    public static let rowBlock = 144
    /// Floats of scratch ``multiply(_:lda:rows:inputs:panels:bias:outputs:into:ldc:scratch:)`` needs: the rows and the
    /// results of one edge tile.
    public static let scratchCount = tileRows * depthBlock + tileRows * panelWidth

    typealias V = SIMD16<Float>

    /// `c = a · B + bias` (or `a · B` without a bias) for row-major `a` (`rows × inputs`, rows `lda` floats apart)
    /// and `c` (`rows × outputs`, rows `ldc` apart); with `gelu`, `c = GELU(a · B + bias)`, applied to each tile after
    /// its last input block while it is in L1, so the activations make one trip to memory, not three. `scratch` holds at least ``scratchCount``
    /// floats (64-byte aligned for speed); `panels` and `bias` are laid out as the type describes.
    @inline(never)
    public static func multiply(
        _ a: UnsafePointer<Float>, lda: Int, rows m: Int, inputs k: Int, panels: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        outputs n: Int, into c: UnsafeMutablePointer<Float>, ldc: Int, scratch: UnsafeMutablePointer<Float>, gelu: Bool = false
    ) {
        let width = panelWidth
        let panelCount = (n + width - 1) / width
        let edgeRows = scratch, edge = scratch + tileRows * depthBlock
        var rowStart = 0
        while rowStart < m {
            let blockRows = smaller(rowBlock, m - rowStart)
            let tiles = (blockRows + tileRows - 1) / tileRows
            var depthStart = 0
            while depthStart < k {
                let depth = smaller(depthBlock, k - depthStart)
                var p = 0
                while p < panelCount {
                    let panel = panels + (p * k + depthStart) * width
                    let columns = smaller(width, n - p * width)
                    var initial: UnsafePointer<Float>?
                    if let bias { initial = bias + p * width }
                    let accumulate = depthStart > 0, activate = gelu && depthStart + depth == k
                    var t = 0
                    while t < tiles {
                        let rows = smaller(tileRows, blockRows - t * tileRows)
                        let target = c + (rowStart + t * tileRows) * ldc + p * width
                        let source = a + (rowStart + t * tileRows) * lda + depthStart
                        if rows == tileRows && columns == width {
                            tile(
                                source, lda: lda, panel, depth: depth, c: target, ldc: ldc, bias: initial, accumulate: accumulate,
                                gelu: activate)
                        } else {
                            copyRows(source, lda: lda, rows: rows, depth: depth, into: edgeRows)
                            edgeTile(
                                UnsafePointer(edgeRows), lda: depth, panel, depth: depth, c: target, ldc: ldc, rows: rows,
                                columns: columns, bias: initial, accumulate: accumulate, gelu: activate, edge: edge)
                        }
                        t += 1
                    }
                    p += 1
                }
                depthStart += depth
            }
            rowStart += blockRows
        }
    }

    /// Copies `rows × depth` of `a` into `out` (rows `depth` apart) and zeroes the rest of a tile's rows, so an edge
    /// tile never reads past the last row of `a` (the zero rows' results are computed and never stored).
    @inline(__always)
    static func copyRows(_ a: UnsafePointer<Float>, lda: Int, rows: Int, depth: Int, into out: UnsafeMutablePointer<Float>) {
        var r = 0
        while r < tileRows {
            let row = out + r * depth
            var d = 0
            if r < rows {
                let source = a + r * lda
                while d < depth {
                    row[d] = source[d]
                    d += 1
                }
            } else {
                while d < depth {
                    row[d] = 0
                    d += 1
                }
            }
            r += 1
        }
    }

    /// A tile with fewer rows or columns: run on a full `tileRows × panelWidth` copy in `edge`, store the valid part.
    @inline(__always)
    static func edgeTile(
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, depth: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
        rows: Int, columns: Int, bias: UnsafePointer<Float>?, accumulate: Bool, gelu: Bool, edge: UnsafeMutablePointer<Float>
    ) {
        let width = panelWidth
        var r = 0
        while r < tileRows {
            var j = 0
            while j < width {
                edge[r * width + j] = accumulate && r < rows && j < columns ? c[r * ldc + j] : 0
                j += 1
            }
            r += 1
        }
        tile(a, lda: lda, b, depth: depth, c: edge, ldc: width, bias: bias, accumulate: accumulate, gelu: gelu)
        r = 0
        while r < rows {
            var j = 0
            while j < columns {
                c[r * ldc + j] = edge[r * width + j]
                j += 1
            }
            r += 1
        }
    }

    /// The register tile: `c[12 × 32] (+)= a[12 × depth] · b-panel` (rows of `a` `lda` apart), starting from `c` when accumulating, else from
    /// `bias` (every row) or zero. One `vfmadd231ps` per accumulator and input. With `gelu` (the last input block of
    /// a layer that has it) the stored tile goes through GELU while it is in L1 (``AVX512Vector/gelu(_:ldc:rows:columns:)``;
    /// GELU on the 24 accumulators in registers was not inlined and passed each vector as four `xmm` pieces).
    @inline(__always)
    static func tile(
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, depth: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
        bias: UnsafePointer<Float>?, accumulate: Bool, gelu: Bool
    ) {
        var c0_0: V, c0_1: V, c1_0: V, c1_1: V, c2_0: V, c2_1: V, c3_0: V, c3_1: V, c4_0: V, c4_1: V, c5_0: V, c5_1: V
        var c6_0: V, c6_1: V, c7_0: V, c7_1: V, c8_0: V, c8_1: V, c9_0: V, c9_1: V, c10_0: V, c10_1: V, c11_0: V, c11_1: V
        if accumulate {
            c0_0 = load(c + 0 * ldc); c0_1 = load(c + 0 * ldc + 16)
            c1_0 = load(c + 1 * ldc); c1_1 = load(c + 1 * ldc + 16)
            c2_0 = load(c + 2 * ldc); c2_1 = load(c + 2 * ldc + 16)
            c3_0 = load(c + 3 * ldc); c3_1 = load(c + 3 * ldc + 16)
            c4_0 = load(c + 4 * ldc); c4_1 = load(c + 4 * ldc + 16)
            c5_0 = load(c + 5 * ldc); c5_1 = load(c + 5 * ldc + 16)
            c6_0 = load(c + 6 * ldc); c6_1 = load(c + 6 * ldc + 16)
            c7_0 = load(c + 7 * ldc); c7_1 = load(c + 7 * ldc + 16)
            c8_0 = load(c + 8 * ldc); c8_1 = load(c + 8 * ldc + 16)
            c9_0 = load(c + 9 * ldc); c9_1 = load(c + 9 * ldc + 16)
            c10_0 = load(c + 10 * ldc); c10_1 = load(c + 10 * ldc + 16)
            c11_0 = load(c + 11 * ldc); c11_1 = load(c + 11 * ldc + 16)
        } else {
            var b0 = V(), b1 = V()
            if let bias {
                b0 = load(bias)
                b1 = load(bias + 16)
            }
            c0_0 = b0; c0_1 = b1
            c1_0 = b0; c1_1 = b1
            c2_0 = b0; c2_1 = b1
            c3_0 = b0; c3_1 = b1
            c4_0 = b0; c4_1 = b1
            c5_0 = b0; c5_1 = b1
            c6_0 = b0; c6_1 = b1
            c7_0 = b0; c7_1 = b1
            c8_0 = b0; c8_1 = b1
            c9_0 = b0; c9_1 = b1
            c10_0 = b0; c10_1 = b1
            c11_0 = b0; c11_1 = b1
        }
        var a = a, b = b
        var remaining = depth
        while remaining > 0 {
            let b0 = load(b), b1 = load(b + 16)
            var s: V
            s = V(repeating: a[0 * lda]); c0_0.addProduct(s, b0); c0_1.addProduct(s, b1)
            s = V(repeating: a[1 * lda]); c1_0.addProduct(s, b0); c1_1.addProduct(s, b1)
            s = V(repeating: a[2 * lda]); c2_0.addProduct(s, b0); c2_1.addProduct(s, b1)
            s = V(repeating: a[3 * lda]); c3_0.addProduct(s, b0); c3_1.addProduct(s, b1)
            s = V(repeating: a[4 * lda]); c4_0.addProduct(s, b0); c4_1.addProduct(s, b1)
            s = V(repeating: a[5 * lda]); c5_0.addProduct(s, b0); c5_1.addProduct(s, b1)
            s = V(repeating: a[6 * lda]); c6_0.addProduct(s, b0); c6_1.addProduct(s, b1)
            s = V(repeating: a[7 * lda]); c7_0.addProduct(s, b0); c7_1.addProduct(s, b1)
            s = V(repeating: a[8 * lda]); c8_0.addProduct(s, b0); c8_1.addProduct(s, b1)
            s = V(repeating: a[9 * lda]); c9_0.addProduct(s, b0); c9_1.addProduct(s, b1)
            s = V(repeating: a[10 * lda]); c10_0.addProduct(s, b0); c10_1.addProduct(s, b1)
            s = V(repeating: a[11 * lda]); c11_0.addProduct(s, b0); c11_1.addProduct(s, b1)
            a += 1
            b += panelWidth
            remaining -= 1
        }
        store(c0_0, c + 0 * ldc); store(c0_1, c + 0 * ldc + 16)
        store(c1_0, c + 1 * ldc); store(c1_1, c + 1 * ldc + 16)
        store(c2_0, c + 2 * ldc); store(c2_1, c + 2 * ldc + 16)
        store(c3_0, c + 3 * ldc); store(c3_1, c + 3 * ldc + 16)
        store(c4_0, c + 4 * ldc); store(c4_1, c + 4 * ldc + 16)
        store(c5_0, c + 5 * ldc); store(c5_1, c + 5 * ldc + 16)
        store(c6_0, c + 6 * ldc); store(c6_1, c + 6 * ldc + 16)
        store(c7_0, c + 7 * ldc); store(c7_1, c + 7 * ldc + 16)
        store(c8_0, c + 8 * ldc); store(c8_1, c + 8 * ldc + 16)
        store(c9_0, c + 9 * ldc); store(c9_1, c + 9 * ldc + 16)
        store(c10_0, c + 10 * ldc); store(c10_1, c + 10 * ldc + 16)
        store(c11_0, c + 11 * ldc); store(c11_1, c + 11 * ldc + 16)
        if gelu { AVX512Vector.gelu(c, ldc: ldc, rows: tileRows, columns: panelWidth) }
    }

    /// `min` without the generic standard-library function (see the type's note on specialisations).
    @inline(__always)
    static func smaller(_ a: Int, _ b: Int) -> Int { a < b ? a : b }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }

    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }
}
#endif
