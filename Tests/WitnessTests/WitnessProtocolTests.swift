import Audit
import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import SealgateServer
import Testing
import Witness

/// The witness over HTTP on loopback, fed by real audit logs: C2SP tlog-witness status codes and bodies.
@Suite("Witness: add-checkpoint over HTTP")
struct WitnessProtocolTests {
    /// A built witness for `logs` in `dir`, with captured events.
    static func witness(_ dir: String, logs: [NoteVerifier], events: CapturedEvents) throws -> WitnessInstance {
        var options = WitnessOptions()
        options.port = 0
        options.dataDir = dir
        options.name = "witness.test/w1"
        options.logs = logs
        options.now = WitnessFixture.clock
        options.events = events
        options.logger = Logger(label: "witness-test")
        return try SealgateWitness.build(options)
    }

    @Test("Consistent growth is cosigned; the cosignature verifies with the witness key and the state advances")
    func consistentGrowth() async throws {
        let dir = try WitnessFixture.directory()
        let log = try WitnessFixture.log(dir + "/a")
        let instance = try Self.witness(dir + "/w", logs: [log.verifier], events: CapturedEvents())
        let witnessKey = instance.witness.signer.verifier
        try await instance.application.test(.live) { client in
            let port = try #require(client.port)
            let note3 = try await WitnessFixture.grow(log, by: 3, tag: "a")
            let first = try await WitnessFixture.post(port: port, try await WitnessFixture.body(log, note: note3, old: 0))
            #expect(first.status == 200)
            var cosigned = try SignedNote(note3)
            try cosigned.append(lines: first.body)
            let check = AuditVerifier.verifyCosignatures(note: cosigned.encoded, witnesses: [witnessKey], quorum: 1, now: WitnessFixture.clock())
            #expect(check.meetsQuorum)
            #expect(check.times["witness.test/w1"] == WitnessFixture.time)

            let note7 = try await WitnessFixture.grow(log, by: 4, tag: "a")
            let second = try await WitnessFixture.post(port: port, try await WitnessFixture.body(log, note: note7, old: 3))
            #expect(second.status == 200)
            let state = try #require(try await instance.witness.state(origin: WitnessFixture.origin))
            #expect(state.size == 7)
            #expect(state.root == (try Checkpoint(body: log.verifier.open(note7))).root)
        }
    }

    @Test("A forked log (same origin and key, other history) is refused with 409 and 422, and evented as a split view")
    func forkedLogRefused() async throws {
        let dir = try WitnessFixture.directory()
        let log = try WitnessFixture.log(dir + "/a")
        let fork = try WitnessFixture.log(dir + "/b", keyFrom: log)
        let events = CapturedEvents()
        let instance = try Self.witness(dir + "/w", logs: [log.verifier], events: events)
        try await instance.application.test(.live) { client in
            let port = try #require(client.port)
            let note5 = try await WitnessFixture.grow(log, by: 5, tag: "a")
            #expect(try await WitnessFixture.post(port: port, try await WitnessFixture.body(log, note: note5, old: 0)).status == 200)

            let forkNote5 = try await WitnessFixture.grow(fork, by: 5, tag: "b")
            let sameSize = try await WitnessFixture.post(port: port, try await WitnessFixture.body(fork, note: forkNote5, old: 5))
            #expect(sameSize.status == 409)
            #expect(sameSize.contentType == "text/x.tlog.size")
            #expect(sameSize.body == "5\n")

            let forkNote7 = try await WitnessFixture.grow(fork, by: 2, tag: "b")
            let unknownSize = try await WitnessFixture.post(port: port, try await WitnessFixture.body(fork, note: forkNote7, old: 0))
            #expect(unknownSize.status == 409)
            #expect(unknownSize.body == "5\n")
            let proofFromWitnessed = try await WitnessFixture.post(port: port, try await WitnessFixture.body(fork, note: forkNote7, old: 5))
            #expect(proofFromWitnessed.status == 422)
            #expect(WitnessFixture.reason(proofFromWitnessed) == "inconsistent_proof")

            let splits = events.all.filter { $0.type == "dev.sealgate.witness.split_view" }
            #expect(splits.map { $0.data["reason"] } == ["root_mismatch", "inconsistent_proof"])
            #expect(splits.allSatisfy { $0.subject == WitnessFixture.origin && $0.data["witnessed_size"] == "5" })
            let state = try #require(try await instance.witness.state(origin: WitnessFixture.origin))
            #expect(state.size == 5)
            #expect(state.root == (try Checkpoint(body: log.verifier.open(note5))).root)
            #expect(instance.metrics.render().contains(#"sealgate_witness_refusals_total{reason="inconsistent_proof"} 1"#))
        }
    }

    @Test("An origin spelled otherwise (NFD of a witnessed NFC origin, same log key) is no log of this witness, before and after a restart")
    func equivalentOriginRefused() async throws {
        let dir = try WitnessFixture.directory()
        let key = Curve25519.Signing.PrivateKey()
        let nfc = "caf\u{E9}.example/audit"
        let nfd = "cafe\u{301}.example/audit"
        #expect(nfc == nfd && !nfc.utf8.elementsEqual(nfd.utf8), "Swift calls them equal; their bytes differ")
        let signer = NoteSigner(name: nfc, key: key)
        let honest = try signer.sign(Checkpoint(origin: nfc, size: 1, root: Data(repeating: 1, count: 32)).body)
        // The log itself equivocates: the same key, a line naming the trusted (NFC) key, a body with the NFD origin.
        let forked = try signer.sign(Checkpoint(origin: nfd, size: 1, root: Data(repeating: 2, count: 32)).body)
        for restart in [false, true] {
            let witnessDir = dir + "/w-\(restart)"
            if restart {
                let first = try Self.witness(witnessDir, logs: [signer.verifier], events: CapturedEvents())
                try await first.application.test(.live) { client in
                    let port = try #require(client.port)
                    let answer = try await WitnessFixture.post(port: port, AddCheckpointRequest(oldSize: 0, proof: [], note: honest).body)
                    #expect(answer.status == 200, "\(answer.body)")
                }
            }
            let instance = try Self.witness(witnessDir, logs: [signer.verifier], events: CapturedEvents())
            try await instance.application.test(.live) { client in
                let port = try #require(client.port)
                if !restart { #expect(try await WitnessFixture.post(port: port, AddCheckpointRequest(oldSize: 0, proof: [], note: honest).body).status == 200) }
                let answer = try await WitnessFixture.post(port: port, AddCheckpointRequest(oldSize: 0, proof: [], note: forked).body)
                #expect(answer.status != 200, "restart \(restart): the NFD origin was cosigned: \(answer.body)")
            }
        }
        // audit verify's checks compare origins by bytes too.
        do {
            _ = try AuditVerifier.verifyWitnessedCheckpoint(note: forked, log: signer.verifier, witnesses: [], quorum: 0, now: WitnessFixture.clock())
            Issue.record("a checkpoint of another origin spelling verified as the log's")
        } catch {
            #expect("\(error)".contains("origin"), "\(error)")
        }
    }

    @Test("A rolled-back size is refused: old size beyond the checkpoint is 400, an old checkpoint is 409 with the cosigned size")
    func rolledBackRefused() async throws {
        let dir = try WitnessFixture.directory()
        let log = try WitnessFixture.log(dir + "/a")
        let instance = try Self.witness(dir + "/w", logs: [log.verifier], events: CapturedEvents())
        try await instance.application.test(.live) { client in
            let port = try #require(client.port)
            let note3 = try await WitnessFixture.grow(log, by: 3, tag: "a")
            let note7 = try await WitnessFixture.grow(log, by: 4, tag: "a")
            #expect(try await WitnessFixture.post(port: port, try await WitnessFixture.body(log, note: note7, old: 0)).status == 200)
            let beyond = try await WitnessFixture.post(port: port, AddCheckpointRequest(oldSize: 7, proof: [], note: note3).body)
            #expect(beyond.status == 400)
            #expect(WitnessFixture.reason(beyond) == "old_size_too_large")
            let older = try await WitnessFixture.post(port: port, try await WitnessFixture.body(log, note: note3, old: 0))
            #expect(older.status == 409)
            #expect(older.body == "7\n")
            #expect(try await instance.witness.state(origin: WitnessFixture.origin)?.size == 7)
        }
    }

    @Test("Unknown log is 404, a signature by an untrusted key 403, malformed bodies 400")
    func refusals() async throws {
        let dir = try WitnessFixture.directory()
        let log = try WitnessFixture.log(dir + "/a")
        let other = try WitnessFixture.log(dir + "/c", origin: "other.sealgate.local/audit")
        let impostor = try WitnessFixture.log(dir + "/d")
        let instance = try Self.witness(dir + "/w", logs: [log.verifier], events: CapturedEvents())
        try await instance.application.test(.live) { client in
            let port = try #require(client.port)
            let unknown = try await WitnessFixture.post(port: port, try await WitnessFixture.body(other, note: try await WitnessFixture.grow(other, by: 1, tag: "c"), old: 0))
            #expect(unknown.status == 404)
            #expect(WitnessFixture.reason(unknown) == "unknown_log")
            let forged = try await WitnessFixture.post(port: port, try await WitnessFixture.body(impostor, note: try await WitnessFixture.grow(impostor, by: 1, tag: "d"), old: 0))
            #expect(forged.status == 403)
            #expect(WitnessFixture.reason(forged) == "bad_signature")
            let note = try await WitnessFixture.grow(log, by: 2, tag: "a")
            let bodies: [String] = [
                "", "old 01\n\n" + note, "old -1\n\n" + note, "old 0\nnot-base64\n\n" + note,
                "old 0\n" + String(repeating: Data(count: 32).base64EncodedString() + "\n", count: 64) + "\n" + note,
                "old 0\n\n" + note.replacingOccurrences(of: "\n\n", with: "\n"),
            ]
            for body in bodies {
                let answer = try await WitnessFixture.post(port: port, Data(body.utf8))
                #expect(answer.status == 400, "body \(body.prefix(12).debugDescription)")
                #expect(WitnessFixture.reason(answer) == "malformed_request")
            }
            #expect(try await instance.witness.state(origin: WitnessFixture.origin) == nil)
        }
    }

    @Test("State survives a restart, is never rolled back, and an unreadable state file fails closed")
    func persistedState() async throws {
        let dir = try WitnessFixture.directory()
        let log = try WitnessFixture.log(dir + "/a")
        let store = try WitnessStateStore(directory: dir + "/w/logs")
        let signer = try CosignatureSigner.loadOrCreate(path: dir + "/w/witness.key", name: "witness.test/w1")
        let first = Witness(signer: signer, logs: [log.verifier], store: store, now: WitnessFixture.clock)
        let note7 = try await WitnessFixture.grow(log, by: 7, tag: "a")
        guard case .cosigned = await first.addCheckpoint(try await WitnessFixture.body(log, note: note7, old: 0)) else {
            Issue.record("first checkpoint not cosigned")
            return
        }
        let restarted = Witness(
            signer: try CosignatureSigner.loadOrCreate(path: dir + "/w/witness.key", name: "witness.test/w1"), logs: [log.verifier],
            store: try WitnessStateStore(directory: dir + "/w/logs"), now: WitnessFixture.clock)
        #expect(restarted.signer.verifier == signer.verifier)
        #expect(try await restarted.state(origin: WitnessFixture.origin)?.size == 7)
        guard case .refused(let refusal) = await restarted.addCheckpoint(try await WitnessFixture.body(log, note: note7, old: 0)) else {
            Issue.record("old size 0 accepted after a restart")
            return
        }
        #expect(refusal.reason == .oldSizeMismatch)
        #expect(refusal.witnessedSize == 7)
        #expect(try await restarted.state(origin: WitnessFixture.origin)?.size == 7)

        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/w/logs")
        #expect(files.count == 1)
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/w/witness.key")[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        try Data("{".utf8).write(to: URL(fileURLWithPath: dir + "/w/logs/" + files[0]))
        let damaged = Witness(signer: signer, logs: [log.verifier], store: try WitnessStateStore(directory: dir + "/w/logs"), now: WitnessFixture.clock)
        guard case .refused(let unreadable) = await damaged.addCheckpoint(try await WitnessFixture.body(log, note: note7, old: 7)) else {
            Issue.record("cosigned without readable state")
            return
        }
        #expect(unreadable.reason == .stateUnavailable)
        #expect(unreadable.reason.status == 503)
    }
}
