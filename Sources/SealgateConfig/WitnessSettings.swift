import Crypto
import Foundation
import SealgateCore

/// A witness the gateway submits its checkpoints to (`audit.witnesses[]`): a C2SP tlog-witness.
public struct AuditWitness: Sendable, Codable, Equatable {
    /// The witness's submission prefix; the gateway POSTs to `<url>/add-checkpoint`.
    public var url: String
    /// The witness's `cosignature/v1` verifier key, as `sealgate witness key` prints it.
    public var key: String

    public init(url: String, key: String) {
        self.url = url
        self.key = key
    }
}

extension ConfigLoader {
    /// The problems of `audit.witnesses`, `audit.witness_quorum` and `audit.witness_timeout_seconds`.
    static func witnessIssues(_ audit: AuditSettings) -> [(path: String, message: String)] {
        var issues: [(path: String, message: String)] = []
        var keys = Set<String>()
        for (i, witness) in audit.witnesses.enumerated() {
            if httpURL(witness.url) == nil {
                issues.append(("audit.witnesses[\(i)].url", "an http(s) URL is required"))
            }
            if !isCosignatureKey(witness.key) {
                issues.append(("audit.witnesses[\(i)].key", "must be a cosignature/v1 verifier key (name+keyid+base64 of 0x04 and 32 bytes), as `sealgate witness key` prints"))
            } else if !keys.insert(witness.key).inserted {
                issues.append(("audit.witnesses[\(i)].key", "the same witness key is listed twice"))
            }
        }
        let quorum = audit.witnessQuorum
        if !audit.witnesses.isEmpty, quorum < 1 || quorum > audit.witnesses.count {
            issues.append(("audit.witness_quorum", "must be between 1 and the number of witnesses (\(audit.witnesses.count))"))
        }
        if audit.witnesses.isEmpty, audit.witnessQuorumSet != nil {
            issues.append(("audit.witness_quorum", "needs audit.witnesses"))
        }
        if !(0.1...120).contains(audit.witnessTimeoutSeconds) {
            issues.append(("audit.witness_timeout_seconds", "must be between 0.1 and 120"))
        }
        return issues
    }

    /// Whether `key` has the form of a C2SP `cosignature/v1` verifier key with a matching key id.
    static func isCosignatureKey(_ key: String) -> Bool {
        let parts = key.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[0].contains(where: \.isWhitespace), let id = Hex.decode(String(parts[1])),
            id.count == 4, let raw = Data(base64Encoded: String(parts[2])), raw.count == 33, raw.first == 0x04
        else { return false }
        var input = Data(parts[0].utf8)
        input.append(0x0A)
        input.append(raw)
        return Data(SHA256.hash(data: input).prefix(4)) == id
    }
}

extension AuditSettings {
    /// The witness keys are encoded only when witnesses are configured, so the policy digest of a configuration
    /// without them is what it was before they existed.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(origin, forKey: .origin)
        try c.encode(checkpointEveryRecords, forKey: .checkpointEveryRecords)
        try c.encode(checkpointIntervalSeconds, forKey: .checkpointIntervalSeconds)
        try c.encode(auditorAPIKeySHA256, forKey: .auditorAPIKeySHA256)
        guard !witnesses.isEmpty else { return }
        try c.encode(witnesses, forKey: .witnesses)
        try c.encode(witnessQuorum, forKey: .witnessQuorumSet)
        try c.encode(witnessTimeoutSeconds, forKey: .witnessTimeoutSeconds)
    }
}
