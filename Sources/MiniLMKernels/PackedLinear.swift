/// A dense layer `y = x·Wᵀ + b` whose weight is packed for one ``GEMMKernel``.
///
/// The weight arrives as PyTorch stores it (`outputs × inputs`, row-major) and is repacked once into column
/// panels of the kernel's panel width (16 for the 6 × 16 tile, 32 for the AVX-512 12 × 32 tile), each
/// `inputs × width` contiguous, 64-byte aligned and zero-padded past the last output. The kernel then streams one
/// panel per block of inputs from L1 while a block of rows of `x` stays in L2.
public struct PackedLinear: Sendable {
    /// Input features (`K`).
    public let inputs: Int
    /// Output features (`N`).
    public let outputs: Int
    /// The kernel the weight is packed for and ``apply(_:rows:into:)`` runs.
    public let kernel: GEMMKernel
    /// The panels, from float `panelOffset` on (chosen so that they start on a 64-byte boundary).
    let storage: [Float]
    let panelOffset: Int
    /// The bias, zero-padded to whole panels.
    let bias: [Float]

    /// Packs `weight` (`outputs × inputs`, row-major) and `bias` (`outputs`) for `kernel`. The counts must match, and
    /// `kernel` must run on this CPU (`kernel.runs(on: .current)`): a kernel this CPU lacks is never packed for, so
    /// never executed.
    public init(weight: [Float], bias: [Float], outputs: Int, inputs: Int, kernel: GEMMKernel) {
        precondition(weight.count == outputs * inputs && bias.count == outputs, "PackedLinear: weight or bias size")
        precondition(kernel.runs(on: .current), "PackedLinear: the \(kernel) kernel cannot run on this CPU")
        self.inputs = inputs
        self.outputs = outputs
        self.kernel = kernel
        let width = kernel.panelWidth
        let panelCount = (outputs + width - 1) / width
        let alignment = 16
        var packed = [Float](repeating: 0, count: panelCount * inputs * width + alignment)
        var offset = 0
        packed.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            offset = (alignment - Int(bitPattern: base) / MemoryLayout<Float>.stride % alignment) % alignment
            let panels = base + offset
            for p in 0..<panelCount {
                for j in 0..<min(width, outputs - p * width) {
                    let row = (p * width + j) * inputs
                    for k in 0..<inputs { panels[(p * inputs + k) * width + j] = weight[row + k] }
                }
            }
        }
        storage = packed
        panelOffset = offset
        self.bias = bias + [Float](repeating: 0, count: panelCount * width - outputs)
    }

    /// Concatenates layers that read the same input (e.g. query, key and value) into one wider layer.
    public init(concatenating parts: [(weight: [Float], bias: [Float], outputs: Int)], inputs: Int, kernel: GEMMKernel) {
        self.init(
            weight: parts.flatMap(\.weight), bias: parts.flatMap(\.bias), outputs: parts.reduce(0) { $0 + $1.outputs },
            inputs: inputs, kernel: kernel)
    }

    /// `y[rows × outputs] = x[rows × inputs] · Wᵀ + b`, or with `gelu` `GELU(x · Wᵀ + b)` (exact GELU, as BERT's
    /// intermediate layer), applied to each register tile of the product before it is stored.
    public func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, gelu: Bool = false) {
        kernel.withScratch { scratch in apply(x, rows: rows, into: y, scratch: scratch, gelu: gelu) }
    }

    /// ``apply(_:rows:into:gelu:)`` with the kernel's scratch (``GEMMKernel/withScratch(_:)``) from the caller.
    func apply(
        _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, gelu: Bool = false
    ) {
        storage.withUnsafeBufferPointer { panelBuffer in
            bias.withUnsafeBufferPointer { biasBuffer in
                guard let base = panelBuffer.baseAddress, let bias = biasBuffer.baseAddress else { return }
                kernel.multiply(
                    x, lda: inputs, rows: rows, inputs: inputs, panels: base + panelOffset, bias: bias, outputs: outputs, into: y,
                    ldc: outputs, scratch: scratch, gelu: gelu)
            }
        }
    }
}
