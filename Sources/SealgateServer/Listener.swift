import Foundation
import HTTPHardening
import SealgateCore

/// The refusals of the gateway's and the broker's listeners as problem documents and metrics.
///
/// A refusal the listener answers itself (framing errors, slow headers or body, the connection limit) gets the same
/// RFC 7807 shape as every other refusal of the service, and counts in
/// `sealgate_connections_refused_total{reason}`.
extension ListenerSettings {
    /// The metric counting listener refusals.
    static let refusedMetric = "sealgate_connections_refused_total"

    /// The gateway's listener: `urn:sealgate:problem:<reason>` problems.
    static func gateway(_ limits: ListenerLimits, metrics: PrometheusRecorder) -> ListenerSettings {
        ListenerSettings(
            limits: limits,
            problem: { refusal in
                let status = refusal.status?.code ?? 400
                let body = Problem.Body(
                    type: "urn:sealgate:problem:\(refusal.reason.rawValue)", title: Problem.title(for: refusal.reason), status: status,
                    detail: refusal.detail, instance: nil)
                return ListenerProblem(body: encode(body))
            },
            onRefusal: { metrics.increment(refusedMetric, labels: [("reason", $0.reason.rawValue)], by: 1) })
    }

    /// The broker's listener: KBS-style problems (`.../errors/InvalidRequest`) with the Sealgate reason in `reason`.
    static func broker(_ limits: ListenerLimits, metrics: PrometheusRecorder) -> ListenerSettings {
        ListenerSettings(
            limits: limits,
            problem: { refusal in
                let status = refusal.status?.code ?? 400
                let name = status == 503 ? "ServiceUnavailable" : "InvalidRequest"
                let body = BrokerProblem.Body(
                    type: BrokerProblem.typePrefix + name, title: name, status: status, detail: refusal.detail,
                    reason: refusal.reason.rawValue, rule: "listener")
                return ListenerProblem(body: encode(body))
            },
            onRefusal: { metrics.increment(refusedMetric, labels: [("reason", $0.reason.rawValue)], by: 1) })
    }

    private static func encode(_ body: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return [UInt8]((try? encoder.encode(body)) ?? Data("{}".utf8))
    }
}
