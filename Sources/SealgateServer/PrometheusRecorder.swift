import Prometheus
import SealgateCore

/// ``MetricsRecorder`` backed by a Prometheus registry owned by one gateway instance (no global bootstrap).
public struct PrometheusRecorder: MetricsRecorder {
    public let registry: PrometheusCollectorRegistry

    /// HELP text of every metric the gateway emits.
    static let help: [String: String] = [
        "sealgate_requests_total": "Requests that completed, by route and outcome.",
        "sealgate_denials_total": "Requests refused, by reason code, tenant, data class and route.",
        "sealgate_key_release_total": "Key lease decisions (attestation and KEK release), by tenant, resource type, decision, reason and TEE.",
        "sealgate_redactions_total": "Spans redacted from model output, by tenant and label.",
        "sealgate_stream_failures_total": "Streamed answers that failed after their headers were sent, by tenant.",
        "sealgate_integrity_failures_total": "Stored values that failed authentication (moved or altered ciphertext), by tenant.",
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: Self.help[name] ?? name)
    }

    public func increment(_ name: String, labels: [(String, String)], by amount: Int) {
        registry.makeCounter(descriptor: descriptor(name), labels: labels).increment(by: Int64(amount))
    }

    /// The exposition text.
    public func render() -> String { registry.emitToString() }
}
