#if arch(x86_64)
import MiniLMKernelsAVX512
#endif

extension GEMMKernel {
    /// Floats of scratch ``multiply(_:lda:rows:inputs:panels:bias:outputs:into:ldc:scratch:)`` needs.
    var scratchCount: Int {
        switch self {
        case .avx512:
            #if arch(x86_64)
            return AVX512GEMM.scratchCount
            #else
            return 1
            #endif
        case .avx2, .portable: return 1
        }
    }

    /// Runs `body` with this kernel's scratch: 64-byte aligned, ``scratchCount`` floats.
    func withScratch<R>(_ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        let count = scratchCount
        return withUnsafeTemporaryAllocation(byteCount: count * MemoryLayout<Float>.stride, alignment: 64) { raw in
            guard let base = raw.baseAddress else { preconditionFailure("GEMMKernel: no scratch for \(count) floats") }
            return body(base.bindMemory(to: Float.self, capacity: count))
        }
    }

    /// `c = a · B (+ bias)` for row-major `a` (`rows × inputs`, rows `lda` apart) and `c` (`rows × outputs`, rows
    /// `ldc` apart); `B` is packed in panels of ``panelWidth`` columns (`inputs × width` each, zero-padded past
    /// `outputs`), `bias` (when given) padded to whole panels. With `gelu`, `c = GELU(a · B + bias)`, applied to
    /// each register tile before its one store. Only called for a kernel that runs on this CPU.
    func multiply(
        _ a: UnsafePointer<Float>, lda: Int, rows: Int, inputs: Int, panels: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        outputs: Int, into c: UnsafeMutablePointer<Float>, ldc: Int, scratch: UnsafeMutablePointer<Float>, gelu: Bool = false
    ) {
        switch self {
        case .avx512:
            #if arch(x86_64)
            AVX512GEMM.multiply(
                a, lda: lda, rows: rows, inputs: inputs, panels: panels, bias: bias, outputs: outputs, into: c, ldc: ldc,
                scratch: scratch, gelu: gelu)
            #else
            preconditionFailure("GEMMKernel: the AVX-512 kernel exists only on x86-64")
            #endif
        case .avx2, .portable:
            BlockedGEMM.multiply(
                a, lda: lda, rows: rows, inputs: inputs, panels: panels, bias: bias, outputs: outputs, into: c, ldc: ldc, gelu: gelu)
        }
    }
}

/// The 6 × 16 kernel's blocking: 96-row blocks of `a` (96 × 384 floats = 144 KiB, inside L2; a multiple of the
/// tile's 6 rows), 384-deep blocks of each 16-column panel (24 KiB, inside L1; 384 is the hidden size).
enum BlockedGEMM {
    static let tileRows = 6
    static let depthBlock = 384
    static let rowBlock = 96
    static let panelWidth = 16

    static func multiply(
        _ a: UnsafePointer<Float>, lda: Int, rows m: Int, inputs k: Int, panels: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        outputs n: Int, into c: UnsafeMutablePointer<Float>, ldc: Int, gelu: Bool
    ) {
        let width = panelWidth
        let panelCount = (n + width - 1) / width
        for rowStart in stride(from: 0, to: m, by: rowBlock) {
            let rowEnd = min(m, rowStart + rowBlock)
            for depthStart in stride(from: 0, to: k, by: depthBlock) {
                let depth = min(depthBlock, k - depthStart)
                for p in 0..<panelCount {
                    let panel = panels + (p * k + depthStart) * width
                    let columns = min(width, n - p * width)
                    var i = rowStart
                    while i < rowEnd {
                        let tile = min(tileRows, rowEnd - i)
                        Tile.run(
                            a: a + i * lda + depthStart, lda: lda, rows: tile, panel: panel, depth: depth,
                            c: c + i * ldc + p * width, ldc: ldc, columns: columns, bias: bias.map { $0 + p * width },
                            accumulate: depthStart > 0, gelu: gelu && depthStart + depth == k)
                        i += tile
                    }
                }
            }
        }
    }
}

/// The register tile of the 6 × 16 kernel: up to 6 rows × 16 columns in twelve 8-lane accumulators (from `c` when
/// accumulating, else from the bias or zero), plus two panel vectors and one broadcast: 15 of the 16 AVX2 registers,
/// so nothing spills. One fused multiply-add per accumulator and input
/// (`SIMD.addProduct` lowers to `vfmadd231ps` when the target has FMA). With `gelu` the accumulators go through
/// ``Activation/gelu(_:)`` before they are stored.
enum Tile {
    typealias V = SIMD8<Float>

    @inline(__always)
    static func run(
        a: UnsafePointer<Float>, lda: Int, rows: Int, panel: UnsafePointer<Float>, depth: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, columns: Int, bias: UnsafePointer<Float>?, accumulate: Bool, gelu: Bool
    ) {
        withUnsafeTemporaryAllocation(of: V.self, capacity: 12) { accBuffer in
            guard let t = accBuffer.baseAddress else { return }
            for r in 0..<rows {
                for g in 0..<2 {
                    if accumulate {
                        t[r * 2 + g] = load(c + r * ldc + g * 8, columns - g * 8)
                    } else if let bias {
                        t[r * 2 + g] = load(bias + g * 8, columns - g * 8)
                    } else {
                        t[r * 2 + g] = V()
                    }
                }
            }
            if rows == 6 {
                var c00 = t[0], c01 = t[1], c10 = t[2], c11 = t[3], c20 = t[4], c21 = t[5]
                var c30 = t[6], c31 = t[7], c40 = t[8], c41 = t[9], c50 = t[10], c51 = t[11]
                var b = UnsafeRawPointer(panel)
                var a0 = a
                for _ in 0..<depth {
                    let b0 = b.loadUnaligned(as: V.self)
                    let b1 = b.loadUnaligned(fromByteOffset: 32, as: V.self)
                    var s = V(repeating: a0[0])
                    c00.addProduct(s, b0); c01.addProduct(s, b1)
                    s = V(repeating: a0[lda])
                    c10.addProduct(s, b0); c11.addProduct(s, b1)
                    s = V(repeating: a0[2 * lda])
                    c20.addProduct(s, b0); c21.addProduct(s, b1)
                    s = V(repeating: a0[3 * lda])
                    c30.addProduct(s, b0); c31.addProduct(s, b1)
                    s = V(repeating: a0[4 * lda])
                    c40.addProduct(s, b0); c41.addProduct(s, b1)
                    s = V(repeating: a0[5 * lda])
                    c50.addProduct(s, b0); c51.addProduct(s, b1)
                    b += 64; a0 += 1
                }
                t[0] = c00; t[1] = c01; t[2] = c10; t[3] = c11; t[4] = c20; t[5] = c21
                t[6] = c30; t[7] = c31; t[8] = c40; t[9] = c41; t[10] = c50; t[11] = c51
            } else {
                for r in 0..<rows {
                    var x0 = t[r * 2], x1 = t[r * 2 + 1]
                    var b = UnsafeRawPointer(panel)
                    var ar = a + r * lda
                    for _ in 0..<depth {
                        let s = V(repeating: ar.pointee)
                        x0.addProduct(s, b.loadUnaligned(as: V.self))
                        x1.addProduct(s, b.loadUnaligned(fromByteOffset: 32, as: V.self))
                        b += 64; ar += 1
                    }
                    t[r * 2] = x0; t[r * 2 + 1] = x1
                }
            }
            if gelu {
                for i in 0..<(rows * 2) { t[i] = Activation.gelu(t[i]) }
            }
            for r in 0..<rows {
                for g in 0..<2 { store(t[r * 2 + g], c + r * ldc + g * 8, columns - g * 8) }
            }
        }
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ valid: Int) -> V {
        if valid >= 8 { return UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        var v = V()
        for j in 0..<max(0, valid) { v[j] = p[j] }
        return v
    }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>, _ valid: Int) {
        if valid >= 8 { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self); return }
        for j in 0..<max(0, valid) { p[j] = v[j] }
    }
}
