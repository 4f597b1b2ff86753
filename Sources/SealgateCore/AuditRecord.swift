import Foundation

/// One audit record: who asked what kind of thing, what was decided and why — never content.
///
/// Every field is a digest, a count, an identifier or a code. `audit-format.md` documents the encoding.
/// What an audit record is about. The raw values are the `kind` strings of the encoding (`audit-format.md`).
public enum AuditKind: String, Sendable, Codable, CaseIterable {
    // Gateway requests (a denial carries the kind of the route it refused).
    /// `POST /v1/query`.
    case query
    /// `POST /v1/chat/completions`: written when the answer (or the stream) starts.
    case chat
    /// The end of a streamed chat answer, with its redaction counts.
    case chatCompletion = "chat_completion"
    /// `POST /v1/collections/{c}/documents`.
    case ingest
    /// `GET /v1/collections/{c}/documents`.
    case list
    /// `DELETE /v1/collections/{c}/documents/{id}`.
    case delete
    /// `GET /v1/models`.
    case models
    /// A refused read of the auditor routes (`/audit/tile`, `/audit/entries`, `/audit/proof`).
    case auditRead = "audit_read"
    /// A refused read of the dashboard (`/dashboard`, `/dashboard/data`).
    case dashboard
    // Gateway key handling.
    /// The gateway's attestation and each key or secret released to it (or withheld).
    case keyLease = "key_lease"
    /// DEKs re-wrapped under a tenant's current KEK after a rotation.
    case rewrap
    // Broker.
    /// The broker's appraisal of a TEE's evidence.
    case brokerAttestation = "broker_attestation"
    /// The broker's decision on one resource request.
    case keyRelease = "key_release"
    /// An admin action on the broker (provision, rotate, shred, policies, credentials).
    case keyAdmin = "key_admin"
    // Tools.
    /// Synthetic records written by `sealgate audit load` (benchmarks).
    case load
}

/// How a request or decision ended.
public enum AuditOutcome: String, Sendable, Codable, CaseIterable {
    /// It was allowed and carried out.
    case allowed
    /// A stage refused it; `reason` says why.
    case denied
    /// It was allowed but failed while under way (a model stream that broke); `reason` says why.
    case error
}

public struct AuditRecord: Sendable, Codable, Equatable {
    /// What kind of event (``AuditKind``). A denial carries the kind of the route it refused, with `outcome` `denied`.
    public var kind: AuditKind
    /// RFC 3339 time with milliseconds.
    public var time: String
    public var requestID: String
    /// The tenant, or `-` before authentication.
    public var tenant: String
    /// The principal, or `-` before authentication.
    public var principal: String
    public var dataClass: String?
    public var model: String?
    /// How the answering model was reached: `in_gateway` (built-in), `attested` (TLS to an attested workload),
    /// `unattested` (TLS, no attestation) or `insecure_unattested` (plain HTTP, allowed by the profile).
    public var modelAttestation: String?
    /// On answers: `sha256:<hex>`, the OMS manifest digest of the model that produced the answer, as the attested
    /// upstream's workload certificate proved it (a profile's pinned `attestation.digest`). Absent otherwise.
    public var modelDigest: String?
    /// On answers: `sha256:<hex>`, the OMS manifest digest of the sealed embedder artifact that embedded the question
    /// (loaded through the protected loader). Absent for embedders without one.
    public var embedderDigest: String?
    /// `hmac-sha256:` of the sorted scope collection names joined by `\n`, keyed by the tenant's audit salt
    /// (`sha-256:` only when no key of the tenant is leased).
    public var scopeDigest: String?
    /// The same keyed digest of the sorted chunk ids (`collection/document#index`).
    public var chunkIDsDigest: String?
    public var chunkCount: Int?
    /// `hmac-sha256:` of the question's UTF-8 bytes under the tenant's question key (`GET /v1/receipts/key`), so the
    /// tenant can check a receipt is about its question while no one without the key can confirm a guess
    /// (`sha-256:` only when no key of the tenant is leased).
    public var questionDigest: String?
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
    public var outcome: AuditOutcome
    /// The reason code for denials and errors.
    public var reason: String?

    public init(
        kind: AuditKind, time: Date, requestID: String, tenant: String, principal: String, outcome: AuditOutcome,
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

    /// Formats a time as RFC 3339 UTC with milliseconds (`2026-11-27T11:59:13.123Z`, to the nearest millisecond).
    ///
    /// Written out with integer calendar arithmetic (proleptic Gregorian, the days-from-civil algorithm) because
    /// every request and every key release stamps a record: building an `ISO8601DateFormatter` per call cost
    /// more than the broker's cryptography. Years outside 0...9999 are clamped to that range.
    public static func timestamp(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        let clamped = min(max(interval, -62_167_219_200), 253_402_300_799.999)
        // Whole seconds and their fraction separately (x − ⌊x⌋ is exact in binary floating point), so whole
        // milliseconds before 1970 do not lose one to a product like −0.001 × 1000 = −1.0000000000000002.
        let whole = clamped.rounded(.down)
        var seconds = Int64(whole)
        var millis = Int(((clamped - whole) * 1000).rounded())
        if millis >= 1000 {
            millis -= 1000
            seconds += 1
        }
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        // Civil date from days since 1970-01-01 (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yoe + era * 400 + (month <= 2 ? 1 : 0))
        var out = [UInt8]()
        out.reserveCapacity(24)
        func put(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 {
                out.append(UInt8(48 + value / divisor % 10))
                divisor /= 10
            }
        }
        put(year, 4)
        out.append(45)
        put(month, 2)
        out.append(45)
        put(day, 2)
        out.append(84)
        put(secondOfDay / 3600, 2)
        out.append(58)
        put(secondOfDay / 60 % 60, 2)
        out.append(58)
        put(secondOfDay % 60, 2)
        out.append(46)
        put(millis, 3)
        out.append(90)
        return String(decoding: out, as: UTF8.self)
    }
}

/// Where audit records go. Appending must be durable before it returns.
public protocol AuditSink: Sendable {
    /// Appends a record durably and returns its index in the log.
    /// - Throws: ``SealgateError`` with ``ReasonCode/auditUnavailable`` when the record could not be made durable.
    func append(_ record: AuditRecord) async throws -> UInt64
}
