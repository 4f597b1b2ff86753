import SealgateCore

/// The attestation module's error: thrown only for malformed input or local failures.
///
/// A rejected piece of evidence is not an error; it is a ``VerificationOutcome`` carrying its reasons.
public struct AttestationError: Error, Sendable, CustomStringConvertible {
    /// The reason, comparable.
    public let reason: AttestationReason
    /// An operator-facing message without secrets.
    public let message: String

    /// Creates an error.
    public init(_ reason: AttestationReason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason.rawValue): \(message)" }
}

/// Stable reason codes for attestation failures.
public struct AttestationReason: StringCode {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public static let malformedEvidence = AttestationReason("malformed_evidence")
    /// This TEE could not measure itself (the mock TEE could not read its own executable).
    public static let measurementUnavailable = AttestationReason("measurement_unavailable")
    public static let signatureInvalid = AttestationReason("signature_invalid")
    /// A fixed-width signature field is not in its one canonical encoding (e.g. non-zero bytes in an SEV-SNP
    /// component's zero extension, or in the reserved rest of its signature block), so the same signed evidence
    /// would have more than one byte representation.
    public static let signatureNonCanonical = AttestationReason("signature_non_canonical")
    public static let unknownSigner = AttestationReason("unknown_signer")
    /// The platform (chip, module) is not in the matched reference set's `allowed_platforms`.
    public static let platformNotAllowed = AttestationReason("platform_not_allowed")
    public static let unsupportedEvidence = AttestationReason("unsupported_evidence")
    public static let measurementUnknown = AttestationReason("measurement_unknown")
    public static let debugEnabled = AttestationReason("debug_enabled")
    /// The evidence comes from a less privileged level of the guest (SEV-SNP VMPL) than the set allows (`max_vmpl`).
    public static let vmplNotAllowed = AttestationReason("vmpl_not_allowed")
    /// The guest may be migrated by the host (SEV-SNP migration agent, TDX MIGRATABLE) and the set does not allow it.
    public static let migrationAllowed = AttestationReason("migration_allowed")
    /// A TD without TDATTRIBUTES SEPT_VE_DISABLE, and the set does not say `insecure_allow_sept_ve`.
    public static let septVEEnabled = AttestationReason("sept_ve_enabled")
    /// A TD with a service TD bound (MRSERVICETD not zero) that the set's `service_tds` does not list.
    public static let serviceTDNotAllowed = AttestationReason("service_td_not_allowed")
    public static let tcbOutOfDate = AttestationReason("tcb_out_of_date")
    /// The vendor's collateral rates the TCB (or the QE) `Revoked`.
    public static let tcbRevoked = AttestationReason("tcb_revoked")
    /// The TCB (or QE) status is current but not among the set's accepted statuses (e.g. `SWHardeningNeeded`).
    public static let tcbStatusNotAccepted = AttestationReason("tcb_status_not_accepted")
    /// The evidence type has a vendor TCB rating but the verifier had no collateral to compute it.
    public static let tcbStatusUnknown = AttestationReason("tcb_status_unknown")
    public static let reportDataMismatch = AttestationReason("report_data_mismatch")
    public static let initDataMismatch = AttestationReason("init_data_mismatch")
    /// The matched set pins an image, but no verified init-data named one.
    public static let imageDigestMissing = AttestationReason("image_digest_missing")
    /// The init-data's image digest is not one the matched set pins.
    public static let imageNotAllowed = AttestationReason("image_not_allowed")
    /// The matched set requires a signed image, but no bundle for this digest verified when the values were loaded.
    public static let imageSignatureUnverified = AttestationReason("image_signature_unverified")
    public static let mockEvidenceNotAccepted = AttestationReason("mock_evidence_not_accepted")
    public static let evidenceExpired = AttestationReason("evidence_expired")
    public static let chainInvalid = AttestationReason("chain_invalid")
    public static let certificateExpired = AttestationReason("certificate_expired")
    public static let certificateRevoked = AttestationReason("certificate_revoked")
}
