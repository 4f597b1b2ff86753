import Foundation
import HTTPHardening
import Hummingbird
import HummingbirdTesting
import Logging
import SealgateServer
import Testing

/// Runs blocking socket work on a thread of its own, so the server's handlers keep the cooperative pool.
/// (A task-executor preference with a thread-per-job executor hung intermittently at the end of the scope.)
func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// Live gateway and broker listeners on loopback, driven over raw sockets (issue #12).
@Suite("Listener: early refusals close, framing errors are problems, deadlines and the connection limit")
struct ListenerTests {
    static let bigLength = 3 * 1024 * 1024
    static let firstPiece = 64 * 1024

    static func withGateway(_ limits: ListenerLimits = ListenerLimits(), _ body: @escaping @Sendable (Int) throws -> Void) async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        var options = fixture.options()
        options.listener = limits
        let instance = try await Sealgate.build(options)
        try await instance.application.test(.live) { client in
            let port = try #require(client.port)
            try await onThread { try body(port) }
        }
    }

    static func withBroker(_ body: @escaping @Sendable (Int) throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sealgate-listener-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let instance = try await SealgateBroker.build(BrokerOptions(port: 0, dataDir: dir, logger: Logger(label: "test")))
        try await instance.application.test(.live) { client in
            let port = try #require(client.port)
            try await onThread { try body(port) }
        }
    }

    /// A POST announcing a 3 MiB body and sending its first 64 KiB.
    static func bigPost(_ path: String, key: String?, close: Bool) -> [UInt8] {
        var head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(bigLength)\r\n"
        if let key { head += "Authorization: Bearer \(key)\r\n" }
        if close { head += "Connection: close\r\n" }
        return Array((head + "\r\n").utf8) + [UInt8](repeating: 0x61, count: firstPiece)
    }

    /// Sends a refused big POST and checks the answer, then that the server lets go of the connection: with
    /// keep-alive the client sees the end of the stream without sending more; with `Connection: close` (where
    /// Hummingbird already shut its output down) further body bytes are reset instead of piling up unread.
    static func expectRefusedAndClosed(port: Int, path: String, key: String?, close: Bool, status: Int, reason: String) throws {
        let connection = try RawHTTPConnection(port: port, sendBuffer: 32 * 1024)
        #expect(connection.send(bigPost(path, key: key, close: close)))
        let answer = try connection.readAnswer()
        #expect(answer.status == status)
        #expect(answer.body.contains(reason), "\(answer.body)")
        #expect(answer.headers["connection"] == "close")
        if close {
            #expect(connection.closedByServer(within: 10))
            #expect(connection.refusesFurtherBytes(within: 15, limit: bigLength - firstPiece), "the server kept the refused connection open")
        } else {
            #expect(connection.closedByServer(within: 10), "the server kept the refused connection open, waiting for the unread body")
        }
    }

    static func expectHealthy(port: Int) throws {
        let connection = try RawHTTPConnection(port: port)
        connection.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(try connection.readAnswer().status == 200)
    }

    @Test("Gateway: a 413 or 401 that leaves the body unread closes the connection, with and without Connection: close", arguments: [false, true])
    func gatewayEarlyRefusalCloses(close: Bool) async throws {
        try await Self.withGateway { port in
            try Self.expectRefusedAndClosed(port: port, path: "/v1/query", key: Keys.acme, close: close, status: 413, reason: "body_too_large")
            try Self.expectRefusedAndClosed(port: port, path: "/v1/query", key: nil, close: close, status: 401, reason: "missing_credentials")
            try Self.expectHealthy(port: port)
        }
    }

    @Test(
        "Broker: a refused unread body closes the connection, with and without Connection: close", .serialized, arguments: [false, true])
    func brokerEarlyRefusalCloses(close: Bool) async throws {
        try await Self.withBroker { port in
            try Self.expectRefusedAndClosed(port: port, path: "/kbs/v0/auth", key: nil, close: close, status: 400, reason: "malformed_request")
            try Self.expectHealthy(port: port)
        }
    }
}
