import Audit

/// A witness's answer to `add-checkpoint`: cosignature lines, or a refusal with the C2SP status code.
public enum WitnessDecision: Sendable, Equatable {
    /// The checkpoint was checked, the new state persisted, and cosigned: `lines` is the response body.
    case cosigned(lines: String, checkpoint: Checkpoint)
    case refused(WitnessRefusal)
}

/// Why a witness refused a checkpoint.
public struct WitnessRefusal: Sendable, Equatable {
    /// A stable reason code and the HTTP status C2SP tlog-witness assigns to it.
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public let status: Int
        init(_ rawValue: String, _ status: Int) {
            self.rawValue = rawValue
            self.status = status
        }
        public var description: String { rawValue }

        /// The body is not `old`, proof lines, blank line, signed checkpoint (400).
        public static let malformedRequest = Reason("malformed_request", 400)
        /// The old size is larger than the checkpoint's size (400).
        public static let oldSizeTooLarge = Reason("old_size_too_large", 400)
        /// The witness is not configured for the checkpoint's origin (404).
        public static let unknownLog = Reason("unknown_log", 404)
        /// No signature on the checkpoint verifies with a key the witness trusts for its origin (403).
        public static let badSignature = Reason("bad_signature", 403)
        /// The old size is not the size the witness last cosigned (409; the body gives that size).
        public static let oldSizeMismatch = Reason("old_size_mismatch", 409)
        /// Same size as the cosigned checkpoint, different root hash: two histories (409).
        public static let rootMismatch = Reason("root_mismatch", 409)
        /// The consistency proof does not verify from the cosigned tree to this one (422).
        public static let inconsistent = Reason("inconsistent_proof", 422)
        /// The witness cannot read or persist its state (503): it cosigns nothing it could not remember.
        public static let stateUnavailable = Reason("state_unavailable", 503)
    }

    public let reason: Reason
    /// The checkpoint's origin, when the body got that far.
    public let origin: String?
    /// The size the witness last cosigned for the origin (the 409 body), when known.
    public let witnessedSize: Int?
    /// The refused checkpoint's size, when it parsed.
    public let checkpointSize: Int?
    /// An operator-facing detail (no secrets; the request is public data).
    public let detail: String

    /// Whether the refusal is evidence of a split view: a checkpoint validly signed by the log that contradicts one
    /// the witness cosigned before (same size with another root, or no consistency with it).
    public var isSplitView: Bool { reason == .rootMismatch || (reason == .inconsistent && (witnessedSize ?? 0) > 0) }
}
