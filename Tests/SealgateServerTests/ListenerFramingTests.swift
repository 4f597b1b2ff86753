import Foundation
import HTTPHardening
import Testing

/// Requests no HTTP client sends: each must get an RFC 7807 problem with a stable reason, then a closed connection.
@Suite("Listener: malformed HTTP/1.1 gets a problem answer and a closed connection")
struct ListenerFramingTests {
    struct Case: Sendable, CustomStringConvertible {
        let description: String
        let bytes: [UInt8]
        let status: Int
        let reason: String
    }

    static let head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    static let cases: [Case] = [
        Case(description: "bare LF line ends", bytes: Array("GET /healthz HTTP/1.1\nHost: 127.0.0.1\n\n".utf8), status: 400, reason: "malformed_http"),
        Case(description: "bare CR in a header", bytes: Array((head + "X-A: a\rb\r\n\r\n").utf8), status: 400, reason: "malformed_http"),
        Case(description: "obs-fold", bytes: Array((head + "X-A: a\r\n b\r\n\r\n").utf8), status: 400, reason: "malformed_http"),
        Case(description: "NUL in a header value", bytes: Array((head + "X-A: a\u{0}b\r\n\r\n").utf8), status: 400, reason: "malformed_http"),
        Case(
            description: "oversized headers", bytes: Array((head + "X-Big: " + String(repeating: "a", count: 64 * 1024) + "\r\n\r\n").utf8),
            status: 431, reason: "headers_too_large"),
        Case(
            description: "bad Content-Length", bytes: Array("POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n{}".utf8),
            status: 400, reason: "malformed_http"),
        Case(
            description: "Content-Length with Transfer-Encoding",
            bytes: Array("POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".utf8),
            status: 400, reason: "malformed_http"),
    ]

    static func expectProblem(port: Int, _ c: Case) throws -> RawHTTPConnection.Answer {
        let connection = try RawHTTPConnection(port: port)
        connection.send(c.bytes)
        let answer = try connection.readAnswer()
        #expect(answer.status == c.status, "\(c)")
        #expect(answer.headers["content-type"] == "application/problem+json", "\(c)")
        #expect(answer.headers["connection"] == "close", "\(c)")
        #expect(connection.closedByServer(within: 10), "\(c): connection left open")
        return answer
    }

    @Test("Gateway: framing errors are urn:sealgate:problem problems", arguments: cases)
    func gateway(_ c: Case) async throws {
        try await ListenerTests.withGateway { port in
            let answer = try Self.expectProblem(port: port, c)
            #expect(answer.object["type"] as? String == "urn:sealgate:problem:\(c.reason)", "\(c): \(answer.body)")
            #expect(answer.object["status"] as? Int == c.status)
            try ListenerTests.expectHealthy(port: port)
        }
    }

    @Test(
        "Broker: framing errors are KBS problems carrying the reason", .serialized, arguments: [cases[2], cases[4], cases[6]])
    func broker(_ c: Case) async throws {
        try await ListenerTests.withBroker { port in
            let answer = try Self.expectProblem(port: port, c)
            #expect(answer.object["reason"] as? String == c.reason, "\(c): \(answer.body)")
            try ListenerTests.expectHealthy(port: port)
        }
    }
}
