import Foundation
import Logging
import SealgateCore

/// A refusal on its way to the client, with the index of the audit record that recorded it.
public struct GatewayFailure: Error, Sendable {
    public let denial: Denial
    public let auditIndex: UInt64?
}

/// One refused request, as a value: what was refused, why, for whom, and the rule that decided.
public struct Refusal: Sendable {
    public var denial: Denial
    public var kind: AuditKind
    public var requestID: String
    public var principal: Principal?
    /// The data class and model the request named (only configured names reach records and labels).
    public var dataClass: String?
    public var model: String?
    /// The rule's audit name, if a configured rule decided.
    public var rule: String?

    /// Creates a refusal.
    public init(
        _ denial: Denial, kind: AuditKind, requestID: String, principal: Principal?, dataClass: String? = nil,
        model: String? = nil, rule: String? = nil
    ) {
        self.denial = denial
        self.kind = kind
        self.requestID = requestID
        self.principal = principal
        self.dataClass = dataClass
        self.model = model
        self.rule = rule
    }
}

/// The one place that turns an outcome into its traces: the audit record, the metric, the security event and
/// the log line. Stages decide and return values; only this type writes.
public struct OutcomeRecorder: Sendable {
    let audit: any AuditSink
    let metrics: any MetricsRecorder
    let events: any SecurityEventSink
    let logger: Logger
    let now: @Sendable () -> Date
    /// Digest of the effective configuration, on every record.
    public let policyDigest: String
    /// Configured class and model names: anything else is recorded as `unknown`.
    let knownClasses: Set<String>
    let knownModels: Set<String>

    /// Creates a recorder.
    public init(
        audit: any AuditSink, metrics: any MetricsRecorder, events: any SecurityEventSink, logger: Logger,
        now: @escaping @Sendable () -> Date, policyDigest: String, knownClasses: Set<String>, knownModels: Set<String>
    ) {
        self.audit = audit
        self.metrics = metrics
        self.events = events
        self.logger = logger
        self.now = now
        self.policyDigest = policyDigest
        self.knownClasses = knownClasses
        self.knownModels = knownModels
    }

    /// Records a refusal (audit record, `sealgate_denials_total`, security event for credential and integrity
    /// refusals, log notice) and returns it as the failure to answer with.
    public func deny(_ refusal: Refusal) async -> GatewayFailure {
        let tenant = refusal.principal?.tenant.rawValue ?? "-"
        let classLabel = refusal.dataClass.map { knownClasses.contains($0) ? $0 : "unknown" }
        let modelLabel = refusal.model.map { knownModels.contains($0) ? $0 : "unknown" }
        var record = AuditRecord(
            kind: refusal.kind, time: now(), requestID: refusal.requestID, tenant: tenant,
            principal: refusal.principal?.id.rawValue ?? "-", outcome: .denied, reason: refusal.denial.reason.rawValue)
        record.dataClass = classLabel
        record.model = modelLabel
        record.rule = refusal.rule
        record.policyDigest = policyDigest
        let index = try? await audit.append(record)
        let reason = refusal.denial.reason.rawValue
        metrics.increment(
            "sealgate_denials_total",
            labels: [("reason", reason), ("tenant", tenant), ("data_class", classLabel ?? "-"), ("route", refusal.kind.rawValue)])
        if [.invalidCredentials, .integrityFailure].contains(refusal.denial.reason) {
            events.emit(
                SecurityEvent(
                    type: "dev.sealgate.request.denied", subject: refusal.principal?.tenant.rawValue, time: now(),
                    data: ["reason": reason, "route": refusal.kind.rawValue, "request_id": refusal.requestID]))
        }
        logger.notice(
            "request denied",
            metadata: [
                "request.id": "\(refusal.requestID)", "tenant.id": "\(tenant)", "policy.reason": "\(reason)",
                "request.kind": "\(refusal.kind.rawValue)",
            ])
        return GatewayFailure(denial: refusal.denial, auditIndex: index)
    }

    /// Appends a success record; a failure to audit turns the request into a denial (no answer without a record).
    public func commit(_ record: AuditRecord) async -> Result<UInt64, GatewayFailure> {
        var record = record
        record.policyDigest = policyDigest
        do {
            let index = try await audit.append(record)
            if record.kind != .chatCompletion {
                metrics.increment("sealgate_requests_total", labels: [("route", record.kind.rawValue), ("outcome", record.outcome.rawValue)])
            } else if record.outcome != .allowed {
                metrics.increment("sealgate_stream_failures_total", labels: [("tenant", record.tenant)])
            }
            return .success(index)
        } catch {
            logger.error("audit append failed", metadata: ["request.id": "\(record.requestID)"])
            metrics.increment(
                "sealgate_denials_total",
                labels: [
                    ("reason", ReasonCode.auditUnavailable.rawValue), ("tenant", record.tenant), ("data_class", record.dataClass ?? "-"),
                    ("route", record.kind.rawValue),
                ])
            return .failure(GatewayFailure(denial: Denial(.auditUnavailable, "The audit log is unavailable; the request was refused."), auditIndex: nil))
        }
    }

    /// Appends a record of the gateway's own work (re-wrap); a failure is logged, never fatal.
    @discardableResult
    func note(_ record: AuditRecord) async -> UInt64? {
        var record = record
        record.policyDigest = policyDigest
        return try? await audit.append(record)
    }

    /// Logs why a model call failed — the reason code and the model client's operator message, which names the
    /// endpoint and the check that failed (no workload CA, TLS refused, HTTP status), never prompt or answer text.
    /// The refusal itself is recorded by ``deny(_:)``.
    func modelFailed(_ error: any Error, requestID: String) {
        let detail = (error as? SealgateError).map { "\($0.code.rawValue): \($0.message)" } ?? "\(type(of: error))"
        logger.warning("model call failed", metadata: ["request.id": "\(requestID)", "model.failure": "\(detail)"])
    }

    /// Logs and counts stored values that failed authentication (moved or altered ciphertext).
    func integrityFailures(_ count: Int, tenant: TenantID, requestID: String) {
        logger.warning(
            "stored ciphertext failed authentication",
            metadata: ["tenant.id": "\(tenant)", "request.id": "\(requestID)", "integrity.failures": "\(count)"])
        metrics.increment("sealgate_integrity_failures_total", labels: [("tenant", tenant.rawValue)], by: count)
    }

    /// Counts redactions by label.
    func redactions(_ counts: [String: Int], tenant: TenantID) {
        for (label, n) in counts where n > 0 {
            metrics.increment("sealgate_redactions_total", labels: [("tenant", tenant.rawValue), ("label", label)], by: n)
        }
    }

    /// A random request id: 128 bits from the system generator, drawn as two words (one `getrandom` each, not one
    /// per byte).
    public static func newRequestID() -> String {
        var generator = SystemRandomNumberGenerator()
        let words = (generator.next() as UInt64, generator.next() as UInt64)
        return withUnsafeBytes(of: words) { Hex.encode($0) }
    }
}
