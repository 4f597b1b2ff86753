import Foundation
import ModelClientOpenAI
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SealgateCore
import Synchronization
import X509

/// One HTTP/1.1 request over a TLS connection of its own whose certificate chain the caller verifies — in the
/// handshake, before the request is written — and whose peer chain it gets back, so what is checked is *this*
/// connection. Used by ``AttestedTransport`` (attested upstream models) and `sealgate verify-gateway`.
public enum OneShotHTTPS {
    /// The answer: status, streamed body, and the peer's certificate chain (leaf first) as presented.
    public struct Answer: Sendable {
        public let response: UpstreamResponse
        public let peerChain: [Certificate]
    }

    /// Sends `method target` to `host:port` over TLS. `verify` gets the presented chain (parsed) and decides;
    /// a refusal, or any failure before the response head, throws `refusal`.
    public static func send(
        host: String, port: Int, method: HTTPMethod, target: String, headers: [(String, String)], body: Data, timeout: TimeAmount,
        refusal: UpstreamRefused, verify: @escaping @Sendable ([Certificate]) async -> Bool
    ) async throws -> Answer {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        // The custom callback replaces BoringSSL's verification; `.fullVerification` makes sure it runs.
        configuration.certificateVerification = .fullVerification
        let context = try NIOSSLContext(configuration: configuration)
        let deadline = NIODeadline.now() + timeout
        let isIP = IPAddress.isLiteral(host)
        let peer = PeerChain()
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(min(timeout, .seconds(10)))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let tls = try NIOSSLClientHandler(
                            context: context, serverHostname: isIP ? nil : host,
                            customVerificationCallback: { certificates, promise in
                                Task {
                                    let parsed = (try? certificates.map { try Certificate(derEncoded: try $0.toDERBytes()) }) ?? []
                                    let ok = parsed.isEmpty ? false : await verify(parsed)
                                    if ok { peer.set(parsed) }
                                    promise.succeed(ok ? .certificateVerified : .failed)
                                }
                            })
                        try channel.pipeline.syncOperations.addHandler(tls)
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw refusal
        }
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: target)
        head.headers.add(name: "Host", value: port == 443 ? host : "\(host):\(port)")
        head.headers.add(name: "Connection", value: "close")
        if method != .GET || !body.isEmpty { head.headers.add(name: "Content-Length", value: String(body.count)) }
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        let (status, stream) = try await exchange(channel, head: head, body: body, deadline: deadline, peer: peer, refusal: refusal)
        return Answer(response: UpstreamResponse(status: status, body: stream), peerChain: peer.value)
    }

    /// Writes the request and streams the response; the connection closes when the body ends or the reader stops.
    private static func exchange(
        _ channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>, head: HTTPRequestHead, body: Data, deadline: NIODeadline,
        peer: PeerChain, refusal: UpstreamRefused
    ) async throws -> (Int, AsyncThrowingStream<ByteBuffer, any Error>) {
        let (headStream, headContinuation) = AsyncThrowingStream<Int, any Error>.makeStream()
        let (bodyStream, bodyContinuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        // The deadline covers the handshake, the response head and the body: at it the connection is closed, so a
        // peer that accepts and then stays silent (or stops mid-body) cannot hold the request, its task and socket.
        let timedOut = Atomic<Bool>(false)
        let closer = channel.channel.eventLoop.scheduleTask(deadline: deadline) {
            timedOut.store(true, ordering: .relaxed)
            channel.channel.close(promise: nil)
        }
        let deadlinePassed = UpstreamRefused(.modelUnavailable, "upstream deadline passed")
        let task = Task {
            defer { closer.cancel() }
            do {
                try await channel.executeThenClose { inbound, outbound in
                    // NIOSSL holds writes until the handshake (and so the verification) has succeeded.
                    try await outbound.write(.head(head))
                    if !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                    try await outbound.write(.end(nil))
                    var sawHead = false
                    for try await part in inbound {
                        guard NIODeadline.now() < deadline else { throw UpstreamRefused(.modelUnavailable, "upstream deadline passed") }
                        switch part {
                        case .head(let response):
                            sawHead = true
                            headContinuation.yield(Int(response.status.code))
                            headContinuation.finish()
                        case .body(let buffer):
                            bodyContinuation.yield(buffer)
                        case .end:
                            bodyContinuation.finish()
                            return
                        }
                    }
                    // Closed at the deadline: an error, never a whole answer that was cut short.
                    if timedOut.load(ordering: .relaxed) { throw deadlinePassed }
                    if !sawHead { throw UpstreamRefused(.modelUnavailable, "upstream closed without an answer") }
                    bodyContinuation.finish()
                }
            } catch {
                // A refused certificate surfaces after connect, as a handshake error or a closed channel: before the
                // verification passed, every failure is the refusal.
                let mapped: any Error =
                    timedOut.load(ordering: .relaxed) ? deadlinePassed : peer.value.isEmpty || error is NIOSSLError || error is BoringSSLError ? refusal : error
                headContinuation.finish(throwing: mapped)
                bodyContinuation.finish(throwing: mapped)
            }
        }
        bodyContinuation.onTermination = { _ in task.cancel() }
        var iterator = headStream.makeAsyncIterator()
        guard let status = try await iterator.next() else { throw UpstreamRefused(.modelUnavailable, "upstream closed without an answer") }
        return (status, bodyStream)
    }


    /// The chain the verification callback accepted.
    final class PeerChain: Sendable {
        private let state = Mutex<[Certificate]>([])
        var value: [Certificate] { state.withLock { $0 } }
        func set(_ chain: [Certificate]) { state.withLock { $0 = chain } }
    }
}
