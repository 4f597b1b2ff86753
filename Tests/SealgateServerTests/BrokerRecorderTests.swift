import Attestation
import Foundation
import KeyBroker
import Logging
import SealgateCore
import SealgateServer
import Synchronization
import Testing

@Suite("Broker records: what is audited, what is only counted")
struct BrokerRecorderTests {
    final class CapturingSink: AuditSink, Sendable {
        let records = Mutex<[AuditRecord]>([])
        func append(_ record: AuditRecord) async throws -> UInt64 {
            records.withLock {
                $0.append(record)
                return UInt64($0.count - 1)
            }
        }
    }

    static func event(_ reason: BrokerReason, allowed: Bool = false, tenant: String = "acme") -> BrokerEvent {
        BrokerEvent(
            kind: .release, decision: ReleaseDecision(allowed: allowed, reason: reason, rule: "test", result: nil), tee: "mock", tenant: tenant,
            resource: "acme/kek/internal", resourceType: "kek", keyIDs: [], principal: "tee")
    }

    @Test("Refusals without a broker-issued credential are counted but not audited; other decisions are both")
    func unauthenticatedNotAudited() async throws {
        let sink = CapturingSink()
        let metrics = PrometheusRecorder()
        let recorder = BrokerRecorder(audit: sink, metrics: metrics, events: NoSecurityEvents(), now: { Date() })
        for reason in [BrokerReason.unauthenticated, .unknownSession, .tokenInvalid, .tokenExpired, .sessionExpired, .nonceReplayed] {
            await recorder.record(Self.event(reason, tenant: "-"))
        }
        #expect(sink.records.withLock { $0.isEmpty })
        #expect(metrics.render().contains(#"sealgate_key_release_total{tenant="-",resource_type="kek",decision="denied",reason="token_invalid",tee="mock"} 1"#))
        await recorder.record(Self.event(BrokerReason("reference_set_not_allowed")))
        await recorder.record(Self.event(.granted, allowed: true))
        let kinds = sink.records.withLock { $0.map { "\($0.kind.rawValue) \($0.outcome.rawValue) \($0.reason ?? "-")" } }
        #expect(kinds == ["key_release denied reference_set_not_allowed", "key_release allowed -"])
    }

    @Test("A refused attestation is logged at the broker with its causes and the command that fixes it")
    func attestationRefusalLogged() async throws {
        let logs = LogCapture()
        let recorder = BrokerRecorder(audit: CapturingSink(), metrics: PrometheusRecorder(), events: NoSecurityEvents(), now: { Date() }, logger: logs.logger)
        let decision = ReleaseDecision(
            allowed: false, reason: .attestationContraindicated, rule: "appraisal", result: nil, reportedCauses: [.measurementUnknown])
        await recorder.record(
            BrokerEvent(kind: .attestation, decision: decision, tee: "mock", tenant: "-", resource: nil, resourceType: "attestation", keyIDs: [], principal: "tee"))
        #expect(logs.all.contains("attestation refused"), "\(logs.all)")
        #expect(logs.all.contains(#""attestation.causes": measurement_unknown"#), "\(logs.all)")
        #expect(logs.all.contains("sealgate keys put-reference-values"), "\(logs.all)")
    }

    @Test("The broker refuses a token key readable by others")
    func tokenKeyMode() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("broker-mode-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir + "/token-key.pem", contents: Data("x".utf8), attributes: [.posixPermissions: 0o644])
        await #expect(throws: SealgateError.self) {
            _ = try await SealgateBroker.build(BrokerOptions(port: 0, dataDir: dir, logger: Logger(label: "test")))
        }
    }
}
