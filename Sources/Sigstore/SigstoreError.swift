/// Why a Sigstore bundle, trusted root or signed model was refused: a stable, snake_case code.
///
/// Codes are part of the CLI's output and of the docs (`docs/sigstore.md`); they are never renamed.
public enum SigstoreReason: String, Sendable, CaseIterable {
    /// The bundle is not JSON, not a bundle, or larger than ``SigstoreBundle/maximumSize``.
    case malformedBundle = "malformed_bundle"
    /// The bundle's `mediaType` is not one of the three known bundle versions.
    case unknownMediaType = "unknown_media_type"
    /// Not exactly one verification material, or material this bundle version does not allow.
    case invalidVerificationMaterial = "invalid_verification_material"
    /// The trusted root is not JSON or not a `TrustedRoot`.
    case malformedTrustedRoot = "malformed_trusted_root"
    /// A public key could not be read, or is of an unsupported type.
    case unsupportedKey = "unsupported_key"
    /// The signature over the artifact or the DSSE envelope does not verify.
    case signatureInvalid = "signature_invalid"
    /// The artifact's digest is not the signed one (message digest, log entry or in-toto subject).
    case digestMismatch = "digest_mismatch"
    /// The signing certificate does not chain to a certificate authority of the trusted root.
    case certificateUntrusted = "certificate_untrusted"
    /// The certificate was not valid at a verified signing time.
    case certificateExpiredAtSigning = "certificate_expired_at_signing"
    /// The certificate carries an extension marked critical that the verifier does not know.
    case unknownCriticalExtension = "unknown_critical_extension"
    /// No signed certificate timestamp verifies against a CT log of the trusted root.
    case sctInvalid = "sct_invalid"
    /// The certificate's SAN or OIDC issuer does not satisfy the identity policy.
    case identityMismatch = "identity_mismatch"
    /// No transparency log entry, or more than one.
    case tlogEntryMissing = "tlog_entry_missing"
    /// The entry's log id names no log of the trusted root (or the log was not valid then).
    case unknownTlog = "unknown_tlog"
    /// The signed entry timestamp (Rekor v1 inclusion promise) does not verify.
    case setInvalid = "set_invalid"
    /// The inclusion proof is missing, or does not lead to the checkpoint's root hash.
    case inclusionProofInvalid = "inclusion_proof_invalid"
    /// The checkpoint is malformed, does not match the proof, or its signature does not verify.
    case checkpointInvalid = "checkpoint_invalid"
    /// The log entry's body does not describe this bundle's signature, key or artifact (CVE-2022-36056).
    case tlogBodyMismatch = "tlog_body_mismatch"
    /// The log entry kind or version is not one this verifier knows.
    case unsupportedEntryKind = "unsupported_entry_kind"
    /// An RFC 3161 timestamp is malformed, duplicated, too many, or does not verify against a TSA.
    case timestampInvalid = "timestamp_invalid"
    /// No verified source of time: no inclusion promise and no verified RFC 3161 timestamp.
    case noSignedTime = "no_signed_time"
    /// The DSSE envelope or in-toto statement is malformed.
    case invalidEnvelope = "invalid_envelope"
    /// A model directory has a file the signature does not list.
    case modelExtraFile = "model_extra_file"
    /// A file the signature lists is missing from the model directory.
    case modelMissingFile = "model_missing_file"
    /// A file of the model directory differs from its signed digest.
    case modelFileChanged = "model_file_changed"
    /// The model signature's payload is not an OpenSSF model-signing v1.0 manifest.
    case invalidModelManifest = "invalid_model_manifest"
    /// An OCI image layout could not be read, or holds no usable manifest or signature.
    case invalidImageLayout = "invalid_image_layout"
    /// A file or directory could not be read.
    case unreadableInput = "unreadable_input"
}

/// The Sigstore module's one error: a ``SigstoreReason`` and an operator-facing detail.
///
/// Verification returns refusals as values (``SigstoreOutcome``); this error is what parsers throw and what the
/// outcome carries.
public struct SigstoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The stable reason code.
    public let reason: SigstoreReason
    /// What exactly failed, for an operator; never secret material.
    public let detail: String

    /// Makes an error with its reason and detail.
    public init(_ reason: SigstoreReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason.rawValue): \(detail)" }
}
