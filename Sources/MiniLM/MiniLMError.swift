/// Why the MiniLM embedder refused its files or could not run. Messages name sizes and tensor names, never text.
public struct MiniLMError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable reason code.
    public enum Reason: String, Sendable {
        /// The safetensors header does not parse, or lies about sizes, offsets or dtypes.
        case safetensorsMalformed = "safetensors_malformed"
        /// A tensor the model needs is missing, has another shape, or is not float32.
        case tensorMismatch = "model_tensor_mismatch"
        /// `vocab.txt` is not UTF-8, lacks a special token, or does not fit the embedding table.
        case vocabularyMalformed = "vocabulary_malformed"
        /// A model file could not be read.
        case unreadable = "model_unreadable"
        /// This CPU lacks the instructions the kernel was compiled for (AVX2 and FMA on x86-64).
        case unsupportedCPU = "unsupported_cpu"
    }

    /// The reason code.
    public let reason: Reason
    /// An operator-facing message without content.
    public let message: String

    /// Creates an error.
    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason.rawValue): \(message)" }
}
