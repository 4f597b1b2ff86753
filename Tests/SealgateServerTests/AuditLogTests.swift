import Audit
import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import SealgateCore
import Synchronization
import SealgateTestSupport
import Testing

@testable import SealgateServer

/// The `sealgate` executable built next to this test bundle.
func sealgateBinary() throws -> String {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [dir, dir.deletingLastPathComponent()] {
        let path = candidate.appendingPathComponent("sealgate").path
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    throw AuditError(.badRequest, "sealgate binary not found next to \(dir.path); run `swift build` first")
}

@Suite("Audit log over HTTP and across crashes")
struct AuditLogTests {
    @Test("Tile round trip: the entry bundles served over HTTP recompute the root of the served, signed checkpoint")
    func tileRoundTrip() async throws {
        let auditor = "sg_test_auditor_key_0123456789"
        var config = testConfiguration()
        config += "\naudit:\n  origin: test.sealgate/audit\n  checkpoint_every_records: 5\n  auditor_api_key_sha256: [\(Gateway.hashAPIKey(auditor))]\n"
        let fixture = try Fixture(config: config)
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { instance, client in
            for n in 0..<300 {
                try await client.send(.post, "/v1/query", key: n % 2 == 0 ? Keys.acme : "wrong-key", json: queryJSON("question \(n)"))
            }
            try await instance.auditLog.checkpointIfNeeded()
            let note = try await client.send(.get, "/audit/checkpoint", key: nil).text
            let key = try NoteVerifier(encoded: try await client.send(.get, "/audit/key", key: nil).text)
            let checkpoint = try Checkpoint(body: try key.open(note))
            #expect(checkpoint.origin == "test.sealgate/audit")
            #expect(checkpoint.size >= 300)
            let refused = try await client.send(.get, "/audit/tile/entries/000", key: Keys.acme)
            #expect(refused.status == .unauthorized)
            #expect(refused.problemType == "urn:sealgate:problem:invalid_credentials")
            let refusedIndex = try #require(refused.auditIndex)
            let refusedRecord = try #require(try fixture.auditRecord(refusedIndex))
            #expect(refusedRecord["kind"] as? String == "audit_read" && refusedRecord["outcome"] as? String == "denied")
            var entries: [Data] = []
            var tile = 0
            while entries.count < checkpoint.size {
                let width = min(256, checkpoint.size - tile * 256)
                let suffix = width == 256 ? "" : ".p/\(width)"
                let bundle = try await client.send(.get, "/audit/tile/entries/\(TlogTiles.encodeIndex(tile))\(suffix)", key: auditor)
                #expect(bundle.status == .ok)
                // A full entry bundle holds whole records: cacheable by the auditor's client, never by a shared cache.
                #expect(bundle.headers[.cacheControl] == (width == 256 ? "private, max-age=31536000, immutable" : "no-store"))
                entries += try TlogTiles.parseBundle(Data(buffer: bundle.body))
                tile += 1
            }
            let tree = MerkleTree(leafHashes: entries.map(MerkleHash.leaf))
            #expect(tree.root == checkpoint.root)
            // The level-0 hash tile equals the leaf hashes.
            let hashes = try await client.send(.get, "/audit/tile/0/000", key: auditor)
            #expect(hashes.headers[.cacheControl] == "private, max-age=31536000, immutable")
            #expect(Data(buffer: hashes.body) == entries.prefix(256).map(MerkleHash.leaf).reduce(Data(), +))
            // An inclusion proof for a query's own audit index verifies against the checkpoint.
            let proof = try await client.send(.get, "/audit/proof/inclusion?index=7&size=\(checkpoint.size)", key: auditor).object
            let path = (proof["proof"] as? [String] ?? []).compactMap { Data(base64Encoded: $0) }
            #expect(MerkleProof.verifyInclusion(index: 7, size: checkpoint.size, leafHash: MerkleHash.leaf(entries[7]), proof: path, root: checkpoint.root))
            let entry = try await client.send(.get, "/audit/entries/7", key: auditor).object
            #expect(entry["inclusion"] != nil)
            // An auditor's refused reads are audited (kind audit_read, outcome denied, the reason) like any refusal.
            for (path, reason) in [
                ("/audit/entries/999999", "not_found"), ("/audit/tile/0/x999/999", "not_found"), ("/audit/tile/nonsense", "not_found"),
                // Seven groups pass Int.max: this once trapped the whole gateway.
                ("/audit/tile/63/x999/x999/x999/x999/x999/x999/999", "not_found"),
                ("/audit/proof/inclusion?index=9&size=2", "malformed_request"), ("/audit/proof/consistency?from=5&to=1", "malformed_request"),
            ] {
                let refusal = try await client.send(.get, path, key: auditor)
                #expect(refusal.problemType == "urn:sealgate:problem:\(reason)", "\(path)")
                let index = try #require(refusal.auditIndex, "\(path)")
                let record = try #require(try fixture.auditRecord(index))
                #expect(record["kind"] as? String == "audit_read" && record["outcome"] as? String == "denied" && record["reason"] as? String == reason)
            }
        }
        let report = try AuditVerifier.verify(directory: fixture.dir + "/audit", verifier: nil)
        #expect(report.isValid, "\(report.failures)")
    }

    @Test("Killed mid-append many times, every acknowledged record survives and the log verifies")
    func crashRecovery() async throws {
        let binary = try sealgateBinary()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crash-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var acknowledged = Set<Int>()
        for round in 0..<12 {
            let acks = dir + "-acks-\(round)"
            FileManager.default.createFile(atPath: acks, contents: nil)
            defer { try? FileManager.default.removeItem(atPath: acks) }
            let process = try ChildProcess(
                binary, ["audit", "load", "--dir", dir, "--records", "100000", "--writers", "8", "--print-acks"], stdout: acks)
            // Kill mid-append: once appends are being acknowledged (start-up time varies with load), after a varying delay.
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, ((try? FileManager.default.attributesOfItem(atPath: acks)[.size] as? Int) ?? 0) == 0 {
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            try await Task.sleep(nanoseconds: UInt64(20 + (round * 37) % 150) * 1_000_000)
            #expect(process.stop(signal: SIGKILL), "the load generator outlived SIGKILL")
            let output = (try? String(contentsOfFile: acks, encoding: .utf8)) ?? ""
            // The last line may itself be torn by the kill; only complete lines count as acknowledged.
            let lines = output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            acknowledged.formUnion(lines.compactMap { Int($0) })
        }
        #expect(acknowledged.count > 100)
        let log = try AuditLog(directory: dir, origin: "load.sealgate.local/audit")
        let size = await log.size
        #expect(acknowledged.allSatisfy { $0 < size }, "an acknowledged record is missing")
        try await log.checkpointIfNeeded()
        let report = try AuditVerifier.verify(directory: dir, verifier: log.verifier)
        #expect(report.isValid, "\(report.failures)")
    }

    @Test("A log dropped before its first periodic checkpoint: `audit verify` passes and `audit key` prints the key, with or without checkpoints")
    func keyAndVerifyWithoutPeriodicCheckpoint() async throws {
        let binary = try sealgateBinary()
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("nocp-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let verifier: NoteVerifier
        do {
            let log = try AuditLog(directory: dataDir + "/audit", origin: "test.sealgate/audit", checkpointEvery: 1000)
            for n in 0..<3 {
                _ = try await log.append(AuditRecord(kind: .query, time: Date(), requestID: "r\(n)", tenant: "t", principal: "p", outcome: .allowed))
            }
            verifier = log.verifier
            // Killed here: no periodic or shutdown checkpoint.
        }
        func run(_ arguments: [String]) throws -> (Int32, String) {
            let output = try ChildProcess.run(binary, arguments)
            return (output.status, output.text)
        }
        let (keyStatus, key) = try run(["audit", "key", "--data-dir", dataDir])
        #expect(keyStatus == 0 && key == verifier.encoded + "\n", "\(key)")
        let (verifyStatus, report) = try run(["audit", "verify", "--data-dir", dataDir, "--key", verifier.encoded])
        #expect(verifyStatus == 0, "\(report)")
        #expect(report.contains("3 entries after the last checkpoint are not yet covered"), "\(report)")
        // The key comes from the signing key, not from a checkpoint.
        try FileManager.default.removeItem(atPath: dataDir + "/audit/checkpoints")
        let (bareStatus, bare) = try run(["audit", "key", "--data-dir", dataDir, "--origin", "test.sealgate/audit"])
        #expect(bareStatus == 0 && bare == verifier.encoded + "\n", "\(bare)")
    }

    @Test("A full disk fails appends closed; they succeed again when space returns")
    func fullDisk() async throws {
        let binary = try sealgateBinary()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("full-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func run(_ limitKB: Int?) throws -> (Int32, String) {
            let limit = limitKB.map { "ulimit -f \($0); trap '' XFSZ; " } ?? ""
            let output = try ChildProcess.run("/bin/bash", ["-c", "\(limit)exec '\(binary)' audit load --dir '\(dir)' --records 2000 --writers 4"])
            return (output.status, output.text)
        }
        // `ulimit -f` (in 1 KiB blocks here) makes writes past 64 KiB fail like a full disk.
        let (full, fullOutput) = try run(64)
        #expect(full != 0, "appends beyond the limit must fail: \(fullOutput)")
        #expect(fullOutput.contains("failed="))
        let (ok, okOutput) = try run(nil)
        #expect(ok == 0, "\(okOutput)")
        let log = try AuditLog(directory: dir, origin: "load.sealgate.local/audit")
        try await log.checkpointIfNeeded()
        let report = try AuditVerifier.verify(directory: dir, verifier: log.verifier)
        #expect(report.isValid, "\(report.failures)")
        #expect(report.entries >= 2000)
    }
}

/// An audit sink that fails while `full` is set, like a full disk under the real log.
final class FillableAuditSink: AuditSink, Sendable {
    let base: any AuditSink
    let full = Mutex(false)
    init(_ base: any AuditSink) { self.base = base }
    func append(_ record: AuditRecord) async throws -> UInt64 {
        if full.withLock({ $0 }) { throw SealgateError(.auditUnavailable, "no space left on device") }
        return try await base.append(record)
    }
}

@Suite("No answer without its audit record")
struct AuditFailClosedTests {
    @Test("While the audit log cannot write, queries get 503 audit_unavailable and ingests store nothing; both recover")
    func failClosed() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let sink = Mutex<FillableAuditSink?>(nil)
        var options = fixture.options()
        options.auditDecorator = { base in
            let wrapped = FillableAuditSink(base)
            sink.withLock { $0 = wrapped }
            return wrapped
        }
        try await withLiveGateway(fixture, options: options) { _, client in
            try await client.send(.post, "/v1/collections/handbook/documents", key: Keys.acme, json: documentJSON(id: "gym", text: "The gym is open until ten."))
            let fillable = try #require(sink.withLock { $0 })
            fillable.full.withLock { $0 = true }
            let query = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("When does the gym close?"))
            #expect(query.status == .serviceUnavailable)
            #expect(query.problemType == "urn:sealgate:problem:audit_unavailable")
            #expect(!query.text.contains("ten"))
            let ingest = try await client.send(.post, "/v1/collections/handbook/documents", key: Keys.acme, json: documentJSON(id: "pool", text: "The pool opens at six."))
            #expect(ingest.problemType == "urn:sealgate:problem:audit_unavailable")
            fillable.full.withLock { $0 = false }
            let listing = try await client.send(.get, "/v1/collections/handbook/documents", key: Keys.acme)
            #expect((listing.object["documents"] as? [[String: Any]])?.map { $0["id"] as? String } == ["gym"])
            #expect(try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("When does the gym close?")).status == .ok)
        }
    }
}
