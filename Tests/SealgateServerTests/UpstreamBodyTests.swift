import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import ModelClientOpenAI
import NIOCore
import Testing

/// `HTTPClientTransport` hands the upstream's body to its reader as the client receives it (no task in between).
@Suite("Upstream transport: the answer's body read by its consumer, whole, in order, and refused past the limit")
struct UpstreamBodyTests {
    static let piece = 65_536

    /// `pieces` writes of 64 KiB, the i-th filled with the letter `a` + i mod 26.
    static func body(_ pieces: Int) -> ResponseBody {
        ResponseBody { writer in
            for i in 0..<pieces { try await writer.write(ByteBuffer(repeating: UInt8(ascii: "a") + UInt8(i % 26), count: piece)) }
            try await writer.finish(nil)
        }
    }

    static func upstream() -> some ApplicationProtocol {
        let router = Router()
        router.post("/eight") { _, _ in Response(status: .ok, body: body(8)) }
        router.post("/many") { _, _ in Response(status: .ok, body: body(64)) }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    @Test("eight 64 KiB pieces arrive whole and in order; 4 MiB against a 100 kB limit is refused; the client still answers after")
    func wholeInOrderAndRefused() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        try await Self.upstream().test(.live) { connection in
            let port = try #require(connection.port)
            let transport = HTTPClientTransport(client: client)
            func read(_ path: String, limit: Int) async throws -> Data {
                let response = try await transport.post(url: "http://127.0.0.1:\(port)\(path)", headers: [], body: Data(), timeout: .seconds(20))
                #expect(response.status == 200)
                return try await response.collect(upTo: limit)
            }
            let expected = Data((0..<8).flatMap { Array(repeating: UInt8(ascii: "a") + UInt8($0 % 26), count: Self.piece) })
            #expect(try await read("/eight", limit: 1 << 20) == expected)
            await #expect(throws: UpstreamBodyTooLarge.self) { _ = try await read("/many", limit: 100_000) }
            #expect(try await read("/eight", limit: 1 << 20) == expected)
        }
        try await client.shutdown()
    }
}
