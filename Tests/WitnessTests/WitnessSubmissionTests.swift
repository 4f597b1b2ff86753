import Audit
import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
@testable import SealgateServer
import Testing
import Witness

/// The gateway's submitter against a live witness: cosignatures collected and served, split views evented.
@Suite("Gateway: checkpoints submitted to witnesses")
struct WitnessSubmissionTests {
    static func cosigner(_ log: AuditLog, witnesses: [(port: Int, key: CosignatureVerifier)], quorum: Int = 1, events: CapturedEvents)
        throws -> (WitnessCosigner, PrometheusRecorder)
    {
        let metrics = PrometheusRecorder()
        let cosigner = try WitnessCosigner(
            endpoints: witnesses.map { .init(url: "http://127.0.0.1:\($0.port)/", verifier: $0.key) }, quorum: quorum, timeoutSeconds: 10,
            log: log, metrics: metrics, events: events, logger: Logger(label: "cosigner-test"))
        return (cosigner, metrics)
    }

    @Test("The gateway learns the witness's size from a 409, collects the cosignature, serves and stores the cosigned note")
    func collectsAndServes() async throws {
        let dir = try WitnessFixture.directory()
        let log = try WitnessFixture.log(dir + "/a")
        let instance = try WitnessProtocolTests.witness(dir + "/w", logs: [log.verifier], events: CapturedEvents())
        let witnessKey = instance.witness.signer.verifier
        try await instance.application.test(.live) { client in
            let port = try #require(client.port)
            // The witness already cosigned size 3 (say, before a gateway restart): the gateway starts from 0 and must learn it.
            let note3 = try await WitnessFixture.grow(log, by: 3, tag: "a")
            #expect(try await WitnessFixture.post(port: port, try await WitnessFixture.body(log, note: note3, old: 0)).status == 200)
            let (cosigner, metrics) = try Self.cosigner(log, witnesses: [(port, witnessKey)], events: CapturedEvents())
            let note9 = try await WitnessFixture.grow(log, by: 6, tag: "a")
            await cosigner.submit(note9)

            let served = await cosigner.servedNote(latest: note9)
            let checkpoint = try AuditVerifier.verifyWitnessedCheckpoint(
                note: served, log: log.verifier, witnesses: [witnessKey], quorum: 1, now: WitnessFixture.clock())
            #expect(checkpoint.size == 9)
            #expect(CosignedNoteFile.read(log.directory + "/cosigned") == [served])
            #expect(metrics.render().contains(#"sealgate_audit_witness_cosignatures_total{witness="witness.test/w1"} 1"#))

            // The offline verifier finds the witnessed checkpoint in the log directory and checks it against the tree.
            let report = try AuditVerifier.verify(directory: log.directory, verifier: nil, witnesses: [witnessKey], quorum: 1, now: WitnessFixture.clock())
            #expect(report.isValid, "\(report.failures)")
            #expect(report.witnessed?.size == 9)
            #expect(report.witnessedBy == ["witness.test/w1"])
            let other = CosignatureSigner(name: "witness.test/other", key: .init()).verifier
            let unmet = try AuditVerifier.verify(directory: log.directory, verifier: nil, witnesses: [witnessKey, other], quorum: 2, now: WitnessFixture.clock())
            #expect(!unmet.isValid)
            #expect(unmet.witnessed == nil)
        }
    }

    /// How a second log under the same key and origin diverges from the one the witness cosigned at size 5.
    static let divergences: [(size: Int, tag: String, reason: String)] = [
        (7, "b", "inconsistent_proof"),  // another history, grown past the witnessed size: 409, then 422 from size 5
        (5, "b", "root_mismatch"),  // another history of the same size: 409 for the same old size
        (3, "a", "witnessed_beyond_log"),  // the same history cut back (rolled back): 409 naming a size beyond the log
    ]

    @Test(
        "A forked or rolled-back gateway log is refused by the witness: a split-view event and metric, nothing witnessed served",
        arguments: divergences)
    func splitViewEvented(divergence: (size: Int, tag: String, reason: String)) async throws {
        let dir = try WitnessFixture.directory()
        let log = try WitnessFixture.log(dir + "/a")
        let fork = try WitnessFixture.log(dir + "/b", keyFrom: log)
        let instance = try WitnessProtocolTests.witness(dir + "/w", logs: [log.verifier], events: CapturedEvents())
        let witnessKey = instance.witness.signer.verifier
        try await instance.application.test(.live) { client in
            let port = try #require(client.port)
            let note5 = try await WitnessFixture.grow(log, by: 5, tag: "a")
            #expect(try await WitnessFixture.post(port: port, try await WitnessFixture.body(log, note: note5, old: 0)).status == 200)

            let events = CapturedEvents()
            let (cosigner, metrics) = try Self.cosigner(fork, witnesses: [(port, witnessKey)], events: events)
            let forkNote = try await WitnessFixture.grow(fork, by: divergence.size, tag: divergence.tag)
            await cosigner.submit(forkNote)

            let refused = events.all.filter { $0.type == "dev.sealgate.audit.witness_refused" }
            #expect(refused.map { $0.data["reason"] } == [divergence.reason])
            #expect(refused.first?.data["witness"] == "witness.test/w1")
            #expect(refused.first?.data["witnessed_size"] == "5")
            #expect(refused.first?.subject == WitnessFixture.origin)
            #expect(metrics.render().contains(#"sealgate_audit_witness_refusals_total{witness="witness.test/w1",reason="split_view"} 1"#))
            let served = await cosigner.servedNote(latest: forkNote)
            #expect(throws: AuditError.self) {
                try AuditVerifier.verifyWitnessedCheckpoint(note: served, log: fork.verifier, witnesses: [witnessKey], quorum: 1, now: WitnessFixture.clock())
            }
            #expect(CosignedNoteFile.read(fork.directory + "/cosigned").isEmpty)
            #expect(try await instance.witness.state(origin: WitnessFixture.origin)?.root == (try Checkpoint(body: log.verifier.open(note5))).root)
        }
    }

    @Test("An unreachable witness is counted, blocks nothing, and leaves the checkpoint served without cosignatures")
    func unreachableWitness() async throws {
        let dir = try WitnessFixture.directory()
        let log = try WitnessFixture.log(dir + "/a")
        let key = CosignatureSigner(name: "witness.test/gone", key: .init()).verifier
        let events = CapturedEvents()
        let (cosigner, metrics) = try Self.cosigner(log, witnesses: [(1, key)], events: events)
        let note = try await WitnessFixture.grow(log, by: 2, tag: "a")
        await cosigner.submit(note)
        #expect(metrics.render().contains(#"sealgate_audit_witness_refusals_total{witness="witness.test/gone",reason="unreachable"} 1"#))
        #expect(await cosigner.servedNote(latest: note) == note)
        #expect(events.all.isEmpty)
    }
}
