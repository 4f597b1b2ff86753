import Attestation
import Foundation
import KBSProtocol
import KeyLease
import SealgateCore

/// Records key-lease decisions (attestation and release) as audit records and metrics.
///
/// Separate from ``Gateway`` because the lease manager exists before the gateway that uses it.
public struct LeaseAuditor: Sendable {
    let audit: any AuditSink
    let metrics: any MetricsRecorder
    let policyDigest: String
    let now: @Sendable () -> Date
    let events: any SecurityEventSink

    public init(
        audit: any AuditSink, metrics: any MetricsRecorder, events: any SecurityEventSink = NoSecurityEvents(),
        policyDigest: String, now: @escaping @Sendable () -> Date
    ) {
        self.events = events
        self.audit = audit
        self.metrics = metrics
        self.policyDigest = policyDigest
        self.now = now
    }

    /// Appends the decision's audit record and counts it in `sealgate_key_release_total`.
    public func record(_ event: LeaseEvent) async {
        let tenant = event.tenant
        var record = AuditRecord(
            kind: .keyLease, time: now(), requestID: OutcomeRecorder.newRequestID(), tenant: tenant, principal: "gateway",
            outcome: event.decision.allowed ? .allowed : .denied,
            reason: event.decision.allowed ? nil : event.decision.reason.rawValue)
        record.dataClass = event.resource.flatMap(ResourcePath.init)?.dataClass.rawValue
        record.rule = event.decision.rule
        record.attestationStatus = event.decision.result?.status.rawValue
        record.attestationResultDigest = event.decision.result?.digest
        record.referenceValueSet = event.decision.result?.referenceValueSet
        record.policyDigest = policyDigest
        if event.decision.allowed && !event.keyIDs.isEmpty { record.keyIDs = event.keyIDs }
        let index = try? await audit.append(record)
        var data = [
            "tee": event.tee.rawValue, "decision": event.decision.allowed ? "granted" : "denied",
            "reason": event.decision.reason.rawValue, "rule": event.decision.rule,
        ]
        if let result = event.decision.result {
            data["status"] = result.status.rawValue
            data["result_digest"] = result.digest
            data["reference_value_set"] = result.referenceValueSet ?? ""
            data["measurement"] = result.measurement
        }
        if !event.decision.causes.isEmpty {
            data["causes"] = event.decision.causes.map(\.rawValue).joined(separator: ",")
            if let fix = AttestationRemedy.hint(for: event.decision.causes) { data["fix"] = fix }
        }
        if let index { data["audit_index"] = String(index) }
        if let resource = event.resource {
            data["resource"] = resource
            if !event.keyIDs.isEmpty { data["key_ids"] = event.keyIDs.joined(separator: ",") }
            events.emit(
                SecurityEvent(type: event.decision.allowed ? "dev.sealgate.key.granted" : "dev.sealgate.key.denied", subject: tenant, time: now(), data: data))
        } else {
            metrics.increment(
                "sealgate_attestation_total",
                labels: [("tee", event.tee.rawValue), ("status", event.decision.result?.status.rawValue ?? "none"), ("reason", event.decision.reason.rawValue)])
            events.emit(SecurityEvent(type: "dev.sealgate.attestation.result", time: now(), data: data))
            if event.tee.rawValue == "mock" {
                events.emit(
                    SecurityEvent(
                        type: "dev.sealgate.attestation.mock_evidence", time: now(),
                        data: ["note": "mock (software-signed) evidence was presented; acceptable for development only", "decision": data["decision"] ?? ""]))
            }
        }
        metrics.increment(
            "sealgate_key_release_total",
            labels: [
                ("tenant", tenant), ("resource_type", event.resourceType),
                ("decision", event.decision.allowed ? "granted" : "denied"), ("reason", event.decision.reason.rawValue),
                ("tee", event.tee.rawValue),
            ])
    }
}
