#if arch(x86_64)
import MiniLMPrefetch

/// The GEMM of the MiniLM encoder for AVX-512 CPUs: `c[m × n] = a[m × k] · B (+ bias)`, where `B` arrives packed into
/// 32-column panels (`k × 32` each, contiguous, zero-padded past `n`) and `bias`, when given, is padded to whole
/// panels. The dense layers and both products of attention (scores and context) run through it.
///
/// This target is compiled with `-target-cpu skylake-avx512`: nothing in it may run unless `GEMMKernel.select` chose
/// `.avx512` for this CPU. It uses raw pointers and `SIMD16<Float>` only, all inlined into
/// ``multiply(_:lda:rows:inputs:panels:bias:outputs:into:ldc:scratch:gelu:)``, so no generic specialisation compiled
/// for AVX-512 can be shared by the linker with code built for other CPUs.
///
/// Blocking (measured on the development machine's Ice Lake, `docs/benchmarks.md`): rows of `a` in blocks of
/// ``rowBlock`` and inputs in blocks of ``depthBlock``. A product with at least ``packingPanels`` panels first packs
/// each block of `a` into 12-row micro-panels (the twelve values the tile broadcasts per input side by side, so the
/// broadcasts read one stream at constant offsets; the block, 108 KiB, stays in L2 while every panel passes it); a
/// narrower one (attention's context, one panel) reads `a` in place, since packing would cost as much as its
/// product. Each `depthBlock × 32` weight panel block (24 KiB) stays in L1 while the row block's tiles pass it, and
/// the last two tiles of a panel prefetch the next panel block into L1 (a tile on data in L1 runs at the FMA units'
/// peak; the first tile of each panel otherwise waited on L2 or L3 for every weight line). A 12 × 32 register tile
/// holds 24 accumulators, with the two panel vectors and a broadcast 27 of the 32 zmm registers. Tiles with fewer
/// rows or columns run on zero-padded copies in the scratch.
public enum AVX512GEMM {
    /// Columns per weight panel: two 16-lane vectors.
    public static let panelWidth = 32
    /// Rows of the register tile.
    public static let tileRows = 12
    /// Inputs per block: a 192 × 32 panel block is 24 KiB, so it and the next one, prefetched, fit the 48 KiB L1.
    public static let depthBlock = 192
    /// Rows per block (144 × 192 floats = 108 KiB of packed `a`, inside L2; a multiple of ``tileRows``).
    public static let rowBlock = 144
    /// Products with at least this many panels pack `a` (the dense layers, 12 to 48 panels; attention's scores, 4).
    public static let packingPanels = 4
    /// Floats of scratch ``multiply(_:lda:rows:inputs:panels:bias:outputs:into:ldc:scratch:gelu:)`` needs: one
    /// packed row block and the results of one edge tile.
    public static let scratchCount = rowBlock * depthBlock + tileRows * panelWidth

    typealias V = SIMD16<Float>

    /// `c = a · B + bias` (or `a · B` without a bias) for row-major `a` (`rows × inputs`, rows `lda` floats apart)
    /// and `c` (`rows × outputs`, rows `ldc` apart); with `gelu`, `c = GELU(a · B + bias)`, applied to each tile after
    /// its last input block while it is in L1, so the activations make one trip to memory, not three. `scratch`
    /// holds at least ``scratchCount`` floats (64-byte aligned for speed); `panels` and `bias` are laid out as the
    /// type describes.
    @inline(never)
    public static func multiply(
        _ a: UnsafePointer<Float>, lda: Int, rows m: Int, inputs k: Int, panels: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        outputs n: Int, into c: UnsafeMutablePointer<Float>, ldc: Int, scratch: UnsafeMutablePointer<Float>, gelu: Bool = false
    ) {
        let width = panelWidth
        let panelCount = (n + width - 1) / width
        let rowsOfA = scratch, edge = scratch + rowBlock * depthBlock
        let packing = panelCount >= packingPanels
        var rowStart = 0
        while rowStart < m {
            let blockRows = smaller(rowBlock, m - rowStart)
            let tiles = (blockRows + tileRows - 1) / tileRows
            var depthStart = 0
            while depthStart < k {
                let depth = smaller(depthBlock, k - depthStart)
                let block = a + rowStart * lda + depthStart
                if packing { pack(block, lda: lda, rows: blockRows, depth: depth, into: rowsOfA) }
                var p = 0
                while p < panelCount {
                    let panel = panels + (p * k + depthStart) * width
                    // The block the next panel (or the next depth block's first panel) will read.
                    let following = depthStart + depth < k ? depthStart + depth : 0
                    let next = p + 1 < panelCount ? panel + k * width : panels + following * width
                    var initial: UnsafePointer<Float>?
                    if let bias { initial = bias + p * width }
                    let step = Step(
                        panel: panel, depth: depth, bias: initial, accumulate: depthStart > 0,
                        gelu: gelu && depthStart + depth == k, columns: smaller(width, n - p * width))
                    var t = 0
                    while t < tiles {
                        let rows = smaller(tileRows, blockRows - t * tileRows)
                        let target = c + (rowStart + t * tileRows) * ldc + p * width
                        // The last two tiles each pull half of the next panel block into L1, one line per input; the
                        // others "prefetch" their own panel, which is in L1 already.
                        let ahead = t + 2 >= tiles ? next + (t + 2 - tiles) * depth * 16 : panel
                        if packing {
                            let source = UnsafePointer(rowsOfA + t * tileRows * depth)
                            if rows == tileRows && step.columns == width {
                                packedTile(source, step, c: target, ldc: ldc, prefetch: ahead)
                            } else {
                                edgeTile(step, c: target, ldc: ldc, rows: rows, edge: edge) { packedTile(source, step, c: $0, ldc: $1, prefetch: ahead) }
                            }
                        } else {
                            let source = block + t * tileRows * lda
                            if rows == tileRows && step.columns == width {
                                tile(source, lda: lda, step, c: target, ldc: ldc)
                            } else {
                                copyRows(source, lda: lda, rows: rows, depth: depth, into: rowsOfA)
                                edgeTile(step, c: target, ldc: ldc, rows: rows, edge: edge) {
                                    tile(UnsafePointer(rowsOfA), lda: depth, step, c: $0, ldc: $1)
                                }
                            }
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

    /// What every tile of one panel and depth block shares.
    struct Step {
        /// The panel's block of weights (`depth × 32`).
        let panel: UnsafePointer<Float>
        let depth: Int
        /// The panel's 32 bias values, when the product has a bias.
        let bias: UnsafePointer<Float>?
        /// Whether the tile adds to `c` (every depth block but the first).
        let accumulate: Bool
        /// Whether GELU follows (the last depth block of a layer that has it).
        let gelu: Bool
        /// Valid columns of the panel (32 but for the last panel of an output count not a multiple of 32).
        let columns: Int
    }

    /// Packs `rows × depth` of `a` into micro-panels of ``tileRows`` rows: micro-panel `t` holds, for each input `d`,
    /// the values of its twelve rows at `d` side by side (`depth × 12` floats), zero past the last row. Whole
    /// micro-panels go four rows by four inputs at a time (a 4 × 4 transpose in registers; element by element the
    /// packing of a 384-wide layer cost more than it saved).
    @inline(__always)
    static func pack(_ a: UnsafePointer<Float>, lda: Int, rows: Int, depth: Int, into out: UnsafeMutablePointer<Float>) {
        typealias Q = SIMD4<Float>
        let whole = depth / 4 * 4
        var first = 0
        while first < rows {
            let panel = out + first * depth
            if first + tileRows <= rows {
                var g = 0
                while g < tileRows {
                    let r0 = a + (first + g) * lda, r1 = r0 + lda, r2 = r1 + lda, r3 = r2 + lda
                    var d = 0
                    while d < whole {
                        let v0 = UnsafeRawPointer(r0 + d).loadUnaligned(as: Q.self)
                        let v1 = UnsafeRawPointer(r1 + d).loadUnaligned(as: Q.self)
                        let v2 = UnsafeRawPointer(r2 + d).loadUnaligned(as: Q.self)
                        let v3 = UnsafeRawPointer(r3 + d).loadUnaligned(as: Q.self)
                        let o = UnsafeMutableRawPointer(panel + d * tileRows + g), stride = tileRows * MemoryLayout<Float>.stride
                        o.storeBytes(of: Q(v0[0], v1[0], v2[0], v3[0]), as: Q.self)
                        o.storeBytes(of: Q(v0[1], v1[1], v2[1], v3[1]), toByteOffset: stride, as: Q.self)
                        o.storeBytes(of: Q(v0[2], v1[2], v2[2], v3[2]), toByteOffset: 2 * stride, as: Q.self)
                        o.storeBytes(of: Q(v0[3], v1[3], v2[3], v3[3]), toByteOffset: 3 * stride, as: Q.self)
                        d += 4
                    }
                    while d < depth {
                        panel[d * tileRows + g] = r0[d]
                        panel[d * tileRows + g + 1] = r1[d]
                        panel[d * tileRows + g + 2] = r2[d]
                        panel[d * tileRows + g + 3] = r3[d]
                        d += 1
                    }
                    g += 4
                }
            } else {
                var r = 0
                while r < tileRows {
                    var d = 0
                    if first + r < rows {
                        let source = a + (first + r) * lda
                        while d < depth {
                            panel[d * tileRows + r] = source[d]
                            d += 1
                        }
                    } else {
                        while d < depth {
                            panel[d * tileRows + r] = 0
                            d += 1
                        }
                    }
                    r += 1
                }
            }
            first += tileRows
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

    /// A tile with fewer rows or columns: `run` computes a full `tileRows × panelWidth` tile into `edge` (rows
    /// ``panelWidth`` apart), which starts as the valid part of `c` when accumulating; the valid part is stored back.
    @inline(__always)
    static func edgeTile(
        _ step: Step, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, edge: UnsafeMutablePointer<Float>,
        _ run: (UnsafeMutablePointer<Float>, Int) -> Void
    ) {
        let width = panelWidth, columns = step.columns
        var r = 0
        while r < tileRows {
            var j = 0
            while j < width {
                edge[r * width + j] = step.accumulate && r < rows && j < columns ? c[r * ldc + j] : 0
                j += 1
            }
            r += 1
        }
        run(edge, width)
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

    /// The register tile on a packed micro-panel: `c[12 × 32] (+)= a · b-panel`, with `a` as ``pack(_:lda:rows:depth:into:)``
    /// lays it out (the twelve broadcasts of an input at constant offsets, one pointer step per input).
    @inline(__always)
    static func packedTile(
        _ a: UnsafePointer<Float>, _ step: Step, c: UnsafeMutablePointer<Float>, ldc: Int, prefetch: UnsafePointer<Float>
    ) {
        var t = Accumulators(step, c: c, ldc: ldc)
        var a = a, b = step.panel, ahead = prefetch
        var remaining = step.depth
        while remaining > 0 {
            sealgate_minilm_prefetch(ahead)
            t.add(a, rowStride: 1, b)
            a += tileRows
            b += panelWidth
            ahead += 16
            remaining -= 1
        }
        t.store(c, ldc: ldc, gelu: step.gelu)
    }

    /// The register tile reading `a` in place (rows `lda` apart): `c[12 × 32] (+)= a[12 × depth] · b-panel`.
    @inline(__always)
    static func tile(
        _ a: UnsafePointer<Float>, lda: Int, _ step: Step, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        var t = Accumulators(step, c: c, ldc: ldc)
        var a = a, b = step.panel
        var remaining = step.depth
        while remaining > 0 {
            t.add(a, rowStride: lda, b)
            a += 1
            b += panelWidth
            remaining -= 1
        }
        t.store(c, ldc: ldc, gelu: step.gelu)
    }

    /// The 24 accumulators of a 12 × 32 tile (kept in registers: every use is inlined). They start from `c` when
    /// accumulating, else from the bias in every row, or zero; ``add(_:rowStride:_:)`` is one
    /// `vfmadd231ps` per accumulator for one input.
    struct Accumulators {
        var c0_0: V, c0_1: V, c1_0: V, c1_1: V, c2_0: V, c2_1: V, c3_0: V, c3_1: V, c4_0: V, c4_1: V, c5_0: V, c5_1: V
        var c6_0: V, c6_1: V, c7_0: V, c7_1: V, c8_0: V, c8_1: V, c9_0: V, c9_1: V, c10_0: V, c10_1: V, c11_0: V, c11_1: V

        @inline(__always)
        init(_ step: Step, c: UnsafeMutablePointer<Float>, ldc: Int) {
            if step.accumulate {
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
                if let bias = step.bias {
                    b0 = load(bias)
                    b1 = load(bias + 16)
                }
                c0_0 = b0; c0_1 = b1; c1_0 = b0; c1_1 = b1; c2_0 = b0; c2_1 = b1; c3_0 = b0; c3_1 = b1
                c4_0 = b0; c4_1 = b1; c5_0 = b0; c5_1 = b1; c6_0 = b0; c6_1 = b1; c7_0 = b0; c7_1 = b1
                c8_0 = b0; c8_1 = b1; c9_0 = b0; c9_1 = b1; c10_0 = b0; c10_1 = b1; c11_0 = b0; c11_1 = b1
            }
        }

        /// Adds one input: the twelve rows' values (`rowStride` floats apart from `a` on) times the panel's 32
        /// weights at `b`. Each broadcast is loaded right before its two uses (twelve broadcasts live at once would
        /// not fit the registers beside the accumulators).
        @inline(__always)
        mutating func add(_ a: UnsafePointer<Float>, rowStride: Int, _ b: UnsafePointer<Float>) {
            let b0 = load(b), b1 = load(b + 16)
            var s: V
            s = V(repeating: a[0]); c0_0.addProduct(s, b0); c0_1.addProduct(s, b1)
            s = V(repeating: a[rowStride]); c1_0.addProduct(s, b0); c1_1.addProduct(s, b1)
            s = V(repeating: a[2 * rowStride]); c2_0.addProduct(s, b0); c2_1.addProduct(s, b1)
            s = V(repeating: a[3 * rowStride]); c3_0.addProduct(s, b0); c3_1.addProduct(s, b1)
            s = V(repeating: a[4 * rowStride]); c4_0.addProduct(s, b0); c4_1.addProduct(s, b1)
            s = V(repeating: a[5 * rowStride]); c5_0.addProduct(s, b0); c5_1.addProduct(s, b1)
            s = V(repeating: a[6 * rowStride]); c6_0.addProduct(s, b0); c6_1.addProduct(s, b1)
            s = V(repeating: a[7 * rowStride]); c7_0.addProduct(s, b0); c7_1.addProduct(s, b1)
            s = V(repeating: a[8 * rowStride]); c8_0.addProduct(s, b0); c8_1.addProduct(s, b1)
            s = V(repeating: a[9 * rowStride]); c9_0.addProduct(s, b0); c9_1.addProduct(s, b1)
            s = V(repeating: a[10 * rowStride]); c10_0.addProduct(s, b0); c10_1.addProduct(s, b1)
            s = V(repeating: a[11 * rowStride]); c11_0.addProduct(s, b0); c11_1.addProduct(s, b1)
        }

        /// Stores the tile and, with `gelu`, applies GELU to it while it is in L1
        /// (``AVX512Vector/gelu(_:ldc:rows:columns:)``; GELU on the 24 accumulators in registers was not inlined and
        /// passed each vector as four `xmm` pieces).
        @inline(__always)
        func store(_ c: UnsafeMutablePointer<Float>, ldc: Int, gelu: Bool) {
            AVX512GEMM.store(c0_0, c + 0 * ldc); AVX512GEMM.store(c0_1, c + 0 * ldc + 16)
            AVX512GEMM.store(c1_0, c + 1 * ldc); AVX512GEMM.store(c1_1, c + 1 * ldc + 16)
            AVX512GEMM.store(c2_0, c + 2 * ldc); AVX512GEMM.store(c2_1, c + 2 * ldc + 16)
            AVX512GEMM.store(c3_0, c + 3 * ldc); AVX512GEMM.store(c3_1, c + 3 * ldc + 16)
            AVX512GEMM.store(c4_0, c + 4 * ldc); AVX512GEMM.store(c4_1, c + 4 * ldc + 16)
            AVX512GEMM.store(c5_0, c + 5 * ldc); AVX512GEMM.store(c5_1, c + 5 * ldc + 16)
            AVX512GEMM.store(c6_0, c + 6 * ldc); AVX512GEMM.store(c6_1, c + 6 * ldc + 16)
            AVX512GEMM.store(c7_0, c + 7 * ldc); AVX512GEMM.store(c7_1, c + 7 * ldc + 16)
            AVX512GEMM.store(c8_0, c + 8 * ldc); AVX512GEMM.store(c8_1, c + 8 * ldc + 16)
            AVX512GEMM.store(c9_0, c + 9 * ldc); AVX512GEMM.store(c9_1, c + 9 * ldc + 16)
            AVX512GEMM.store(c10_0, c + 10 * ldc); AVX512GEMM.store(c10_1, c + 10 * ldc + 16)
            AVX512GEMM.store(c11_0, c + 11 * ldc); AVX512GEMM.store(c11_1, c + 11 * ldc + 16)
            if gelu { AVX512Vector.gelu(c, ldc: ldc, rows: tileRows, columns: panelWidth) }
        }
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
