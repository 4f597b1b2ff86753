/// Why a sealed model was refused, sealed or loaded: a stable snake_case code.
public struct ModelLoadReason: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The OMS signature does not verify under the given trust, or is not an OMS v1.0 manifest.
    public static let signatureInvalid = ModelLoadReason(rawValue: "model_signature_invalid")
    /// The broker refused the model key (attestation, release policy, unknown key, unreachable broker).
    public static let keyDenied = ModelLoadReason(rawValue: "model_key_denied")
    /// The released key is for another model, or the data key does not open under it.
    public static let keyMismatch = ModelLoadReason(rawValue: "model_key_mismatch")
    /// A decrypted file's SHA-256 differs from the signed manifest.
    public static let digestMismatch = ModelLoadReason(rawValue: "model_digest_mismatch")
    /// `sealed-model.json` is malformed, or does not describe the signed files.
    public static let manifestInvalid = ModelLoadReason(rawValue: "model_manifest_invalid")
    /// A sealed file is shorter or longer than its chunks.
    public static let truncated = ModelLoadReason(rawValue: "model_truncated")
    /// A chunk does not open: changed, reordered, or moved from another file or model.
    public static let chunkInvalid = ModelLoadReason(rawValue: "model_chunk_invalid")
    /// A path is absolute, has `..`, is not a file of the model, or is a symbolic link.
    public static let pathInvalid = ModelLoadReason(rawValue: "model_path_invalid")
    /// A file could not be read or written (including memfd creation).
    public static let unreadable = ModelLoadReason(rawValue: "model_unreadable")

    public var description: String { rawValue }
}

/// The one error of this module: a reason and a message that names files and resources, never key material or
/// model contents.
public struct ModelLoadError: Error, Sendable, CustomStringConvertible {
    public let reason: ModelLoadReason
    public let message: String

    public init(_ reason: ModelLoadReason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason): \(message)" }
}
