import Audit
import Foundation
import Gateway
import Hummingbird
import HummingbirdTesting
import Testing

/// `sealgate audit … --url` and `sealgate ingest` against a live gateway in this process.
@Suite("CLI against a live gateway")
struct GatewayCLITests {
    @Test("audit verify --url: a wrong or missing auditor key and an unreachable gateway exit 1 with one line naming the fix")
    func auditRemoteFailures() async throws {
        let auditor = "sg_test_auditor_key_0123456789"
        let config = testConfiguration() + "\naudit:\n  auditor_api_key_sha256: [\(Gateway.hashAPIKey(auditor))]\n"
        let fixture = try Fixture(config: config)
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { instance, client in
            try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("remote work"))
            try await instance.auditLog.checkpointIfNeeded()
            let url = "http://127.0.0.1:\(try #require(client.port))"
            let wrong = try await runCLI(["audit", "verify", "--url", url, "--api-key", "sg_not_the_auditor_key_000000"])
            #expect(wrong.status == 1, "\(wrong.both)")
            #expect(
                wrong.stderr.contains("auditor key missing or wrong: pass --api-key with a key listed in audit.auditor_api_key_sha256"), "\(wrong.stderr)")
            #expect(!wrong.both.contains("Usage:") && !wrong.both.contains("sg_not_the_auditor_key"), "\(wrong.both)")
            let missing = try await runCLI(["audit", "verify", "--url", url])
            #expect(missing.status == 1, "\(missing.both)")
            #expect(missing.stderr.contains("auditor key missing: pass --api-key (or set SEALGATE_AUDITOR_KEY)"), "\(missing.stderr)")
            let right = try await runCLI(["audit", "verify", "--url", url, "--api-key", auditor])
            #expect(right.status == 0, "\(right.both)")
        }
        let port = try BrokerProcessTests.freePort()
        // A refused connection is reported as such (the message names it), not as a deadline that ran out.
        let unreachable = try await runCLI(["audit", "verify", "--url", "http://127.0.0.1:\(port)", "--api-key", "x"])
        #expect(unreachable.status == 1, "\(unreachable.both)")
        #expect(unreachable.stderr.contains("cannot reach the gateway at http://127.0.0.1:\(port)"), "\(unreachable.stderr)")
        #expect(unreachable.stderr.contains("check --url"), "\(unreachable.stderr)")
    }

    @Test("ingest: ./notes, notes/ and an absolute path give a file one id; empty and other files are skipped and named; no bar off a terminal")
    func ingestStableIDs() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let work = try TempDir()
        defer { work.remove() }
        _ = try work.write("notes/a.md", "# Alpha\nAcme's travel policy covers trains.\n")
        _ = try work.write("notes/sub/b.txt", "Second note about remote work.\n")
        _ = try work.write("notes/empty.md", "")
        _ = try work.write("notes/photo.png", "not text")
        try await withLiveGateway(fixture) { _, client in
            let url = "http://127.0.0.1:\(try #require(client.port))"
            func ingest(_ paths: [String]) async throws -> CLIRun {
                try await runCLI(
                    ["ingest", "--tenant", "acme", "--collection", "notes", "--class", "internal", "--url", url, "--api-key", Keys.acme] + paths,
                    cwd: work.path)
            }
            let first = try await ingest(["./notes/"])
            #expect(first.status == 0, "\(first.both)")
            #expect(first.stdout.contains("ingested 2 of 2 files") && first.stdout.contains("2 skipped"), "\(first.stdout)")
            #expect(first.stderr.contains("skipped ./notes/empty.md: empty"), "\(first.stderr)")
            #expect(first.stderr.contains("skipped ./notes/photo.png: not a .txt or .md file"), "\(first.stderr)")
            #expect(!first.stderr.contains("\r") && !first.stderr.contains("[#"), "progress bar drawn into a pipe: \(first.stderr)")
            for paths in [["notes"], [work.path + "/notes/"], ["notes/a.md"], [work.path + "/notes/sub/../a.md"]] {
                let again = try await ingest(paths)
                #expect(again.status == 0, "\(paths): \(again.both)")
            }
            let port = try BrokerProcessTests.freePort()
            let down = try await runCLI(
                ["ingest", "--tenant", "acme", "--collection", "notes", "--class", "internal", "--url", "http://127.0.0.1:\(port)", "--api-key", Keys.acme, "notes"],
                cwd: work.path)
            #expect(down.status == 1 && down.stderr.components(separatedBy: "cannot reach the gateway").count == 2, "one message, not one per file: \(down.stderr)")
            let listed = try await client.send(.get, "/v1/collections/notes/documents", key: Keys.acme).object
            let ids = ((listed["documents"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }.sorted()
            #expect(ids == ["a.md", "sub-b.txt"], "\(listed)")
        }
    }

    @Test("GET /v1/collections lists the collections a key may read, with counts of the documents of its classes, audited as list")
    func collections() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { _, client in
            for (collection, id, dataClass) in [("handbook", "a", "internal"), ("handbook", "b", "restricted"), ("notes", "c", "internal")] {
                let made = try await client.send(.post, "/v1/collections/\(collection)/documents", key: Keys.acme, json: documentJSON(id: id, text: "Text \(id).", dataClass: dataClass))
                #expect(made.status == .created, "\(made.text)")
            }
            try await client.send(.post, "/v1/collections/notes/documents", key: Keys.globex, json: documentJSON(id: "g", text: "Globex text."))
            func names(_ key: String) async throws -> [String] {
                let answer = try await client.send(.get, "/v1/collections", key: key)
                #expect(answer.status == .ok && answer.auditIndex != nil, "\(answer.text)")
                return ((answer.object["collections"] as? [[String: Any]]) ?? []).map { "\($0["name"] ?? "")=\($0["documents"] ?? "")" }
            }
            #expect(try await names(Keys.acme) == ["handbook=2", "notes=1"])
            // The reader may read handbook only, and only public and internal documents.
            #expect(try await names(Keys.acmeReader) == ["handbook=1"])
            #expect(try await names(Keys.globex) == ["notes=1"])
            #expect(try await client.send(.get, "/v1/collections", key: nil).status == .unauthorized)
        }
        let kinds = try fixture.auditRecords().compactMap { ($0["record"] as? [String: Any])?["kind"] as? String }
        #expect(kinds.filter { $0 == "list" }.count >= 3, "\(kinds)")
    }
}

/// `audit verify --url` against a server that is not a Sealgate log: an entry bundle shorter than its tile is
/// refused by name (before, the CLI kept asking for more tiles forever).
@Suite("audit verify --url against a broken or hostile server")
struct RemoteLogBoundsTests {
    @Test("A checkpoint of 5 entries whose bundle holds none: exit 1 naming the bundle, promptly")
    func shortBundle() async throws {
        let signer = NoteSigner(name: "bounds.test/audit", key: .init())
        let note = try signer.sign(Checkpoint(origin: "bounds.test/audit", size: 5, root: Data(repeating: 3, count: 32)).body)
        let router = Router()
        router.get("/audit/checkpoint") { _, _ in note }
        router.get("/audit/key") { _, _ in signer.verifier.encoded }
        router.get("/audit/tile/entries/**") { _, _ in "" }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let run = try await runCLI(["audit", "verify", "--url", "http://127.0.0.1:\(port)", "--api-key", "sg_any_auditor_key_000000000"])
            #expect(run.status == 1 && run.stderr.contains("entry bundle 0 holds 0 entries"), "\(run.both)")
        }
    }
}
