import Dashboard
import Prometheus
import SealgateCore

/// ``MetricsRecorder`` backed by a Prometheus registry owned by one gateway instance (no global bootstrap).
/// Every counter increment also goes to ``ring``, the bounded in-memory time buckets the dashboards read.
public struct PrometheusRecorder: MetricsRecorder {
    public let registry: PrometheusCollectorRegistry
    /// The last day of counter increments in one-minute buckets (`/dashboard/data`).
    public let ring: DashboardRing
    /// Counters resolved once per series.
    let counters = CounterHandles()

    /// HELP text of every metric the gateway emits.
    static let help: [String: String] = [
        "sealgate_requests_total": "Requests that completed, by route and outcome.",
        "sealgate_denials_total": "Requests refused, by reason code, tenant, data class and route.",
        "sealgate_key_release_total": "Key lease decisions (attestation and KEK release), by tenant, resource type, decision, reason and TEE.",
        "sealgate_redactions_total": "Spans redacted from model output, by tenant and label.",
        "sealgate_stream_failures_total": "Streamed answers that failed after their headers were sent, by tenant.",
        "sealgate_integrity_failures_total": "Stored values that failed authentication (moved or altered ciphertext), by tenant.",
        "sealgate_dek_rewraps_total": "Document DEKs this process re-wrapped under the current KEK after a rotation, by tenant.",
        "sealgate_attestation_total": "Attestation appraisals, by TEE, appraisal status and reason code.",
        "sealgate_admin_actions_total": "Broker admin API actions, by action, outcome and reason code.",
        "sealgate_connections_refused_total": "Connections and requests the listener refused itself (framing, deadlines, connection limit), by reason.",
        "sealgate_key_lease_age_seconds": "Seconds since the gateway's current key lease was obtained (0 without a lease).",
        "sealgate_key_lease_expiry_seconds": "Seconds until the gateway's current key lease expires (0 without a lease).",
        "sealgate_key_lease_valid": "1 while the gateway holds a valid key lease, else 0.",
        "sealgate_audit_witness_cosignatures_total": "Checkpoint cosignatures the gateway received, by witness.",
        "sealgate_audit_witness_refusals_total": "Checkpoint submissions a witness refused or did not answer, by witness and reason (split_view: it saw another history).",
        "sealgate_audit_witnessed_size": "Tree size of the newest checkpoint that reached audit.witness_quorum cosignatures.",
        "sealgate_witness_cosignatures_total": "Checkpoints this witness cosigned, by log origin.",
        "sealgate_witness_refusals_total": "add-checkpoint requests this witness refused, by reason.",
        "sealgate_audit_log_size": "Records in the audit log.",
        "sealgate_audit_checkpoint_age_seconds": "Seconds since this process last signed an audit checkpoint.",
        "sealgate_security_events_dropped_total": "Security events the webhook sink dropped (queue full, or undeliverable after its retries).",
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), ring: DashboardRing = DashboardRing()) {
        self.registry = registry
        self.ring = ring
    }

    func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: Self.help[name] ?? name)
    }

    public func increment(_ name: String, labels: [(String, String)], by amount: Int) {
        counters.counter(name, labels: labels) { registry.makeCounter(descriptor: descriptor(name), labels: labels) }.increment(by: Int64(amount))
        ring.record(name, labels: labels, amount: amount)
    }

    /// Sets a gauge.
    public func gauge(_ name: String, labels: [(String, String)] = [], value: Double) {
        registry.makeGauge(descriptor: descriptor(name), labels: labels).set(value)
    }

    /// The exposition text.
    public func render() -> String { registry.emitToString() }
}
