import Foundation
import Gateway
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
        let start = Date()
        let unreachable = try await runCLI(["audit", "verify", "--url", "http://127.0.0.1:\(port)", "--api-key", "x"])
        #expect(Date().timeIntervalSince(start) < 15, "a refused connection is reported at once, not after the 30 s deadline")
        #expect(unreachable.status == 1, "\(unreachable.both)")
        #expect(unreachable.stderr.contains("cannot reach the gateway at http://127.0.0.1:\(port)"), "\(unreachable.stderr)")
        #expect(unreachable.stderr.contains("check --url"), "\(unreachable.stderr)")
    }
}
