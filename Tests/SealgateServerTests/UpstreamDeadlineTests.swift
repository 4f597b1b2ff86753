import Foundation
import SealgateTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The attested-TLS client (attested upstream models and `verify-gateway`) keeps its deadline after the TCP
/// connection: a peer that accepts and then says nothing is given up on at the deadline (review finding: a request
/// waited forever, ignoring the profile's timeout and `--timeout`).
@Suite("Attested TLS client: the deadline covers handshake and answer", .timeLimit(.minutes(1)))
struct UpstreamDeadlineTests {
    @Test("verify-gateway --timeout 2 against a peer that never answers: NOT VERIFIED within seconds, not a hang")
    func silentPeer() async throws {
        let (fd, port) = try #require(silentTCPListener())
        defer { close(fd) }
        let dir = try TempDir()
        defer { dir.remove() }
        let values = try dir.write("rv.json", #"{"sets": [], "accept_mock_evidence": false}"#)
        let started = ContinuousClock.now
        let run = try await runCLI(["verify-gateway", "https://127.0.0.1:\(port)", "--reference-values", values, "--timeout", "2"])
        #expect(run.status != 0, "\(run.both)")
        #expect(ContinuousClock.now - started < .seconds(30), "the deadline was not kept: \(ContinuousClock.now - started)")
    }
}
