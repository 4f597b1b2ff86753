/// The TCB-status rule of an appraisal: the platform and QE statuses a verifier computed from vendor collateral,
/// judged against a reference value set's accepted statuses.
struct TCBAppraisal: Equatable {
    /// Failed checks (empty when every rated status is accepted).
    var failures: [AttestationFailure] = []
    /// Whether an accepted status is not `UpToDate`, or an unrated TCB was let through: the result is then at best
    /// `warning` (EAR: known issues).
    var warning = false
    private var contraindicated = false
    private var unrated = false

    /// The AR4SI `hardware` tier this rule supports: 96 when a status is refused, else 0 when a status could not be
    /// rated, else 32 for a warning, else 2.
    var hardware: Int { contraindicated ? 96 : unrated ? 0 : warning ? 32 : 2 }

    /// Evidence types whose TCB Intel's collateral rates: a missing status there means nobody rated it, never "no
    /// rating exists", and is judged as ``TCBStatus/notEvaluated``.
    static let rated: Set<TEEType> = [.tdx, .azureTDXVTPM]

    /// Judges the claims' statuses under `set`. A `nil` status (evidence type without a vendor rating) is no check,
    /// except for the types in ``rated``.
    init(claims: VerifiedClaims, set: ReferenceValueSet) {
        let unrated: TCBStatus? = Self.rated.contains(claims.tee) ? .notEvaluated : nil
        judge(claims.tcbStatus ?? unrated, accepted: set.acceptedTCBStatuses, what: "platform TCB", skipUnrated: set.insecureSkipTCBStatus)
        judge(claims.qeStatus ?? unrated, accepted: set.acceptedQEStatuses, what: "Quoting Enclave TCB", skipUnrated: set.insecureSkipTCBStatus)
    }

    private mutating func judge(_ status: TCBStatus?, accepted: [TCBStatus], what: String, skipUnrated: Bool) {
        guard let status else { return }
        if status == .notEvaluated {
            if skipUnrated {
                warning = true
            } else {
                failures.append(AttestationFailure(.tcbStatusUnknown, "\(what) status not evaluated: no collateral was given"))
                unrated = true
            }
            return
        }
        if status == .revoked {
            fail(.tcbRevoked, "\(what) is revoked")
        } else if status == .noMatchingTCBLevel {
            fail(.tcbOutOfDate, "\(what) matches no level of the vendor's collateral")
        } else if !accepted.contains(status) {
            fail(status.isOutOfDate ? .tcbOutOfDate : .tcbStatusNotAccepted, "\(what) status \(status) is not accepted")
        } else if status != .upToDate {
            warning = true
        }
    }

    private mutating func fail(_ reason: AttestationReason, _ detail: String) {
        failures.append(AttestationFailure(reason, detail))
        contraindicated = true
    }
}
