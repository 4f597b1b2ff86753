import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The attested-TLS client (attested upstream models and `verify-gateway`) keeps its deadline after the TCP
/// connection: a peer that accepts and then says nothing is given up on at the deadline (review finding: a request
/// waited forever, ignoring the profile's timeout and `--timeout`).
@Suite("Attested TLS client: the deadline covers handshake and answer", .timeLimit(.minutes(1)))
struct UpstreamDeadlineTests {
    /// A TCP listener on 127.0.0.1 that never accepts or answers (the kernel completes connections into its backlog).
    static func silentListener() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        #expect(bound == 0 && listen(fd, 16) == 0)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    @Test("verify-gateway --timeout 2 against a peer that never answers: NOT VERIFIED within seconds, not a hang")
    func silentPeer() async throws {
        let (fd, port) = try Self.silentListener()
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
