import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SealgateCore

/// How a model client reaches its upstream: one POST with a deadline, the answer's status and body as a stream.
/// ``HTTPClientTransport`` is the ordinary HTTP(S) client; an attested transport (`AttestedUpstream`) connects
/// only to TLS endpoints whose certificate proves an attested workload.
public protocol UpstreamTransport: Sendable {
    /// POSTs `body` to `url` and returns the response head and a stream of its body.
    func post(url: String, headers: [(String, String)], body: Data, timeout: TimeAmount) async throws -> UpstreamResponse
}

/// An upstream's answer: the status and the body, streamed.
public struct UpstreamResponse: Sendable {
    public let status: Int
    public let body: AsyncThrowingStream<ByteBuffer, any Error>

    public init(status: Int, body: AsyncThrowingStream<ByteBuffer, any Error>) {
        self.status = status
        self.body = body
    }

    /// The body collected up to `limit` bytes.
    /// - Throws: ``UpstreamBodyTooLarge`` beyond it.
    public func collect(upTo limit: Int) async throws -> Data {
        var data = Data()
        for try await buffer in body {
            data.append(contentsOf: buffer.readableBytesView)
            if data.count > limit { throw UpstreamBodyTooLarge() }
        }
        return data
    }
}

/// An upstream body larger than the profile's `max_response_bytes`.
public struct UpstreamBodyTooLarge: Error {}

/// The ordinary transport: AsyncHTTPClient over HTTP or HTTPS (system trust store).
public struct HTTPClientTransport: UpstreamTransport {
    let client: HTTPClient

    public init(client: HTTPClient) { self.client = client }

    public func post(url: String, headers: [(String, String)], body: Data, timeout: TimeAmount) async throws -> UpstreamResponse {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: timeout)
        // The body is read by whoever iterates it, in its own task: no task and no buffer in between, so each piece
        // goes from the client's event loop straight to the reader (one hand-off instead of two, no task per call).
        let reader = BodyReader(response.body.makeAsyncIterator())
        return UpstreamResponse(status: Int(response.status.code), body: AsyncThrowingStream { try await reader.next() })
    }
}

/// An upstream body's iterator behind `AsyncThrowingStream(unfolding:)`, which calls it from one consumer, one
/// element at a time (never concurrently). Dropping the stream drops the iterator, which ends the request.
final class BodyReader: @unchecked Sendable {
    private var iterator: HTTPClientResponse.Body.AsyncIterator

    init(_ iterator: HTTPClientResponse.Body.AsyncIterator) { self.iterator = iterator }

    func next() async throws -> ByteBuffer? { try await iterator.next() }
}
