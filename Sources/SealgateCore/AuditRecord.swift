import Foundation

/// One audit record: who asked what kind of thing, what was decided and why — never content.
///
/// Every field is a digest, a count, an identifier or a code. `audit-format.md` documents the encoding.
public struct AuditRecord: Sendable, Codable, Equatable {
    /// What kind of event: `query`, `chat`, `chat_completion`, `ingest`, `list`, `delete`, `models` or `key_lease`.
    /// A denial carries the kind of the route it refused, with `outcome` `denied`.
    public var kind: String
    /// RFC 3339 time with milliseconds.
    public var time: String
    public var requestID: String
    /// The tenant, or `-` before authentication.
    public var tenant: String
    /// The principal, or `-` before authentication.
    public var principal: String
    public var dataClass: String?
    public var model: String?
    /// `hmac-sha256:` of the sorted scope collection names joined by `\n`, keyed by the tenant's audit salt
    /// (`sha-256:` only when no key of the tenant is leased).
    public var scopeDigest: String?
    /// The same keyed digest of the sorted chunk ids (`collection/document#index`).
    public var chunkIDsDigest: String?
    public var chunkCount: Int?
    /// Digest of the attestation result the keys were released under.
    public var attestationResultDigest: String?
    public var attestationStatus: String?
    public var referenceValueSet: String?
    /// Digest of the policy bundle (the effective configuration).
    public var policyDigest: String?
    /// The rule that decided, e.g. `data_classes.restricted.models`.
    public var rule: String?
    /// Key ids used, e.g. `acme/kek/internal#1`.
    public var keyIDs: [String]?
    /// Redaction counts by label.
    public var redactions: [String: Int]?
    /// `allowed` or `denied` (or `error`).
    public var outcome: String
    /// The reason code for denials and errors.
    public var reason: String?

    public init(
        kind: String, time: Date, requestID: String, tenant: String, principal: String, outcome: String,
        reason: String? = nil
    ) {
        self.kind = kind
        self.time = AuditRecord.timestamp(time)
        self.requestID = requestID
        self.tenant = tenant
        self.principal = principal
        self.outcome = outcome
        self.reason = reason
    }

    /// Formats a time as RFC 3339 UTC with milliseconds.
    public static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}

/// Where audit records go. Appending must be durable before it returns.
public protocol AuditSink: Sendable {
    /// Appends a record durably and returns its index in the log.
    /// - Throws: ``SealgateError`` with ``ReasonCode/auditUnavailable`` when the record could not be made durable.
    func append(_ record: AuditRecord) async throws -> UInt64
}
