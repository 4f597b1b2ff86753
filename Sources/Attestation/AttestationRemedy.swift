/// What an operator does about a refused attestation: the causes as stable codes, and the command that fixes
/// the commonest ones. Shown in the gateway's log and security event and in the broker's log — never evidence
/// content, only reason codes.
public enum AttestationRemedy {
    /// The fix for the first of `reasons` that has a known one, or `nil`.
    public static func hint(for reasons: [AttestationReason]) -> String? {
        reasons.lazy.compactMap { hint(for: $0) }.first
    }

    /// The fix for one failure reason, or `nil` when there is no operator action (tampered evidence, say).
    public static func hint(for reason: AttestationReason) -> String? {
        switch reason {
        case .measurementUnknown:
            return "the measurement is not enrolled: run 'sealgate measure --reference-values' on this build and load the output "
                + "with 'sealgate keys put-reference-values' (or the broker's --reference-values)"
        case .unknownSigner:
            return "the mock TEE's signing key is not a reference-value mock signer: 'sealgate measure --reference-values' includes it; "
                + "load it with 'sealgate keys put-reference-values'"
        case .mockEvidenceNotAccepted:
            return "the reference values refuse mock evidence (accept_mock_evidence: false): run on hardware, or use development reference values"
        case .platformNotAllowed:
            return "the platform is not in the reference value set's allowed_platforms"
        case .debugEnabled:
            return "the TEE runs with debug enabled; production reference values refuse it"
        case .tcbOutOfDate, .tcbRevoked, .tcbStatusNotAccepted, .tcbStatusUnknown:
            return "the platform's TCB is below what the reference values accept: update the platform firmware, or review min_svn/accepted TCB statuses"
        case .evidenceExpired, .certificateExpired:
            return "the evidence or a certificate is outside its validity: check the clock and the collateral"
        default:
            return nil
        }
    }
}
