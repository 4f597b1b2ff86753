import Foundation
import HTTPHardening
import Testing

/// Header, body and idle deadlines and the connection limit, with one-second limits. Bounds are generous: the
/// assertions are that the server closes, never how fast.
@Suite("Listener: header, body and idle deadlines and the connection limit")
struct ListenerDeadlineTests {
    static let short = ListenerLimits(headerTimeout: 1, bodyTimeout: 1, idleTimeout: 1, maxConnections: 64)

    @Test("A connection that sends nothing is closed after the idle timeout, without an answer")
    func idle() async throws {
        try await ListenerTests.withGateway(Self.short) { port in
            let connection = try RawHTTPConnection(port: port)
            #expect(connection.closedByServer(within: 10))
        }
    }

    @Test("A keep-alive connection is closed after the idle timeout once its answer is written")
    func keepAliveIdle() async throws {
        try await ListenerTests.withGateway(Self.short) { port in
            let connection = try RawHTTPConnection(port: port)
            connection.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(try connection.readAnswer().status == 200)
            #expect(connection.closedByServer(within: 10))
        }
    }

    @Test("Headers trickling in get a header_timeout problem (408) and the connection is closed")
    func slowHeaders() async throws {
        try await ListenerTests.withGateway(Self.short) { port in
            let connection = try RawHTTPConnection(port: port)
            connection.send("GET /healthz HTTP/1.1\r\nHost: 127")
            let answer = try connection.readAnswer()
            #expect(answer.status == 408)
            #expect(answer.object["type"] as? String == "urn:sealgate:problem:header_timeout")
            #expect(connection.closedByServer(within: 10))
        }
    }

    @Test("A body trickling in gets a body_timeout problem (408) and the connection is closed")
    func slowBody() async throws {
        try await ListenerTests.withGateway(Self.short) { port in
            let connection = try RawHTTPConnection(port: port)
            connection.send(
                "POST /v1/query HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(Keys.acme)\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"q")
            let answer = try connection.readAnswer()
            #expect(answer.status == 408)
            #expect(answer.object["type"] as? String == "urn:sealgate:problem:body_timeout")
            #expect(connection.closedByServer(within: 10))
        }
    }

    @Test("Past the connection limit a connection gets a connection_limit problem (503) at once; refusals are counted")
    func connectionLimit() async throws {
        let limits = ListenerLimits(headerTimeout: 30, bodyTimeout: 30, idleTimeout: 30, maxConnections: 3)
        try await ListenerTests.withGateway(limits) { port in
            // HummingbirdTesting's own client may hold one of the three; connections are served until the limit.
            var held: [RawHTTPConnection] = []
            var refused: RawHTTPConnection.Answer?
            for _ in 0..<5 where refused == nil {
                let connection = try RawHTTPConnection(port: port)
                connection.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                let answer = try connection.readAnswer()
                if answer.status == 200 {
                    held.append(connection)
                } else {
                    refused = answer
                    #expect(connection.closedByServer(within: 10))
                }
            }
            #expect((2...3).contains(held.count))
            let answer = try #require(refused)
            #expect(answer.status == 503)
            #expect(answer.object["type"] as? String == "urn:sealgate:problem:connection_limit")
            held.removeAll()
            // Once the held connections are gone, new ones are served again and the refusal was counted.
            var metrics = ""
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline, !metrics.contains("sealgate_connections_refused_total") {
                guard let connection = try? RawHTTPConnection(port: port) else { continue }
                connection.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                if let answer = try? connection.readAnswer(), answer.status == 200 { metrics = answer.body }
                usleep(100_000)
            }
            let line = metrics.split(separator: "\n").first { $0.hasPrefix(#"sealgate_connections_refused_total{reason="connection_limit"} "#) }
            #expect((line?.split(separator: " ").last.flatMap { Int($0) } ?? 0) >= 1, "\(metrics)")
        }
    }
}
