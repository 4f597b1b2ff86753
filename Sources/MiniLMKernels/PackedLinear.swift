/// A dense layer `y = x·Wᵀ + b` whose weight is packed for the blocked SIMD kernel.
///
/// The weight arrives as PyTorch stores it (`outputs × inputs`, row-major) and is repacked once into column
/// panels of ``panelWidth`` outputs, each `inputs × panelWidth` contiguous, zero-padded past the last output. The
/// kernel then streams one panel per block of inputs from L1 while a block of rows of `x` stays in L2.
public struct PackedLinear: Sendable {
    /// Columns per panel: two 8-lane vectors, so a 6 × 16 tile is 12 accumulators (of 16 AVX2 registers).
    public static let panelWidth = 16
    /// Rows of `x` per micro-tile.
    static let tileRows = 6
    /// Inputs per cache block (a 384 × 16 panel block is 24 KiB, inside L1; 384 is the hidden size).
    static let depthBlock = 384
    /// Rows per cache block of `x` (96 × 384 floats = 144 KiB, inside L2; a multiple of the tile's 6 rows).
    static let rowBlock = 96

    /// Input features (`K`).
    public let inputs: Int
    /// Output features (`N`).
    public let outputs: Int
    let panels: [Float]
    let bias: [Float]

    /// Packs `weight` (`outputs × inputs`, row-major) and `bias` (`outputs`). The counts must match.
    public init(weight: [Float], bias: [Float], outputs: Int, inputs: Int) {
        precondition(weight.count == outputs * inputs && bias.count == outputs, "PackedLinear: weight or bias size")
        self.inputs = inputs
        self.outputs = outputs
        self.bias = bias
        let width = Self.panelWidth
        let panelCount = (outputs + width - 1) / width
        var packed = [Float](repeating: 0, count: panelCount * inputs * width)
        for p in 0..<panelCount {
            for j in 0..<min(width, outputs - p * width) {
                let row = (p * width + j) * inputs
                for k in 0..<inputs { packed[(p * inputs + k) * width + j] = weight[row + k] }
            }
        }
        panels = packed
    }

    /// Concatenates layers that read the same input (e.g. query, key and value) into one wider layer.
    public init(concatenating parts: [(weight: [Float], bias: [Float], outputs: Int)], inputs: Int) {
        self.init(
            weight: parts.flatMap(\.weight), bias: parts.flatMap(\.bias), outputs: parts.reduce(0) { $0 + $1.outputs },
            inputs: inputs)
    }

    /// `y[rows × outputs] = x[rows × inputs] · Wᵀ + b`.
    public func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        panels.withUnsafeBufferPointer { panelBuffer in
            bias.withUnsafeBufferPointer { biasBuffer in
                guard let b = panelBuffer.baseAddress, let bias = biasBuffer.baseAddress else { return }
                gemm(x, rows: rows, panels: b, bias: bias, into: y)
            }
        }
    }

    private func gemm(
        _ a: UnsafePointer<Float>, rows m: Int, panels: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        into c: UnsafeMutablePointer<Float>
    ) {
        let k = inputs, n = outputs, width = Self.panelWidth
        let panelCount = (n + width - 1) / width
        for rowStart in stride(from: 0, to: m, by: Self.rowBlock) {
            let rowEnd = min(m, rowStart + Self.rowBlock)
            for depthStart in stride(from: 0, to: k, by: Self.depthBlock) {
                let depth = min(Self.depthBlock, k - depthStart)
                for p in 0..<panelCount {
                    let panel = panels + (p * k + depthStart) * width
                    let columns = min(width, n - p * width)
                    var i = rowStart
                    while i < rowEnd {
                        let tile = min(Self.tileRows, rowEnd - i)
                        Tile.run(
                            a: a + i * k + depthStart, lda: k, rows: tile, panel: panel, depth: depth,
                            c: c + i * n + p * width, ldc: n, columns: columns,
                            bias: depthStart == 0 ? bias + p * width : nil)
                        i += tile
                    }
                }
            }
        }
    }
}

/// The register tile: up to 6 rows × 16 columns in twelve 8-lane accumulators, plus two panel vectors and one
/// broadcast: 15 of the 16 AVX2 registers, so nothing spills. One fused multiply-add per accumulator and input
/// (`SIMD.addProduct` lowers to `vfmadd231ps` when the target has FMA).
enum Tile {
    typealias V = SIMD8<Float>

    @inline(__always)
    static func run(
        a: UnsafePointer<Float>, lda: Int, rows: Int, panel: UnsafePointer<Float>, depth: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, columns: Int, bias: UnsafePointer<Float>?
    ) {
        withUnsafeTemporaryAllocation(of: V.self, capacity: 12) { accBuffer in
            guard let t = accBuffer.baseAddress else { return }
            for r in 0..<rows {
                for g in 0..<2 { t[r * 2 + g] = load(bias.map { $0 + g * 8 } ?? UnsafePointer(c + r * ldc + g * 8), columns - g * 8) }
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
