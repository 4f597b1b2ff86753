import Foundation
import KBSProtocol
import ModelClientOpenAI
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SealgateCore
import SwiftASN1
import Synchronization
import X509

/// An upstream transport that talks only to attested workloads: HTTPS whose certificate chains to the broker's
/// workload CA (and nothing else), names the host, is valid now, and carries the Sealgate workload extension with
/// the expected workload class and — when the profile lists any — an allowed measurement. Verified in the TLS
/// handshake, before a byte of the request (prompt, passages) is written; one connection per request.
///
/// A refusal is an ``UpstreamRefused`` with `model_not_attested`: never retried, never downgraded to plain HTTP.
public struct AttestedTransport: UpstreamTransport {
    /// The workload class the certificate must name (`model:<id>`).
    public let workload: String
    /// Measurements the extension may carry; empty: any the broker certified.
    public let measurements: Set<String>
    /// The broker CA bundle (PEM certificates) to trust, read at each connection so CA rotation takes effect.
    let trust: @Sendable () async -> [String]
    let now: @Sendable () -> Date
    let maxHeaderBytes = 64 * 1024

    /// Creates the transport.
    public init(
        workload: String, measurements: [String], trust: @escaping @Sendable () async -> [String],
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.workload = workload
        self.measurements = Set(measurements.map { $0.lowercased() })
        self.trust = trust
        self.now = now
    }

    public func post(url: String, headers: [(String, String)], body: Data, timeout: TimeAmount) async throws -> UpstreamResponse {
        guard let parsed = URL(string: url), parsed.scheme == "https", let host = parsed.host else {
            throw UpstreamRefused(.modelNotAttested, "an attested upstream is reached over https only")
        }
        let port = parsed.port ?? 443
        var target = parsed.path.isEmpty ? "/" : parsed.path
        if let query = parsed.query { target += "?" + query }
        let roots = try await trust().flatMap { try Self.certificates(pem: $0) }
        guard !roots.isEmpty else { throw UpstreamRefused(.modelNotAttested, "no workload CA to verify the upstream against") }
        let check = CertificateCheck(roots: roots, host: host, workload: workload, measurements: measurements, now: now)
        let verified = VerifiedFlag()
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        // Verification is ours (CertificateCheck); BoringSSL's default is replaced, never skipped.
        configuration.certificateVerification = .fullVerification
        let context = try NIOSSLContext(configuration: configuration)
        let deadline = NIODeadline.now() + timeout
        let isIP = WorkloadAddress.isIP(host)
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
                                    let ok = await check.verify(certificates)
                                    verified.set(ok)
                                    promise.succeed(ok ? .certificateVerified : .failed)
                                }
                            })
                        try channel.pipeline.syncOperations.addHandler(tls)
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw UpstreamRefused(.modelNotAttested, "the upstream at \(host):\(port) did not prove an attested \(workload) (TLS refused)")
        }
        let (status, stream) = try await Self.exchange(
            channel, host: host, port: port, target: target, headers: headers, body: body, deadline: deadline, verified: verified)
        return UpstreamResponse(status: status, body: stream)
    }

    /// Writes the request and streams the response; the connection closes when the body ends or the reader stops.
    private static func exchange(
        _ channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>, host: String, port: Int, target: String,
        headers: [(String, String)], body: Data, deadline: NIODeadline, verified: VerifiedFlag
    ) async throws -> (Int, AsyncThrowingStream<ByteBuffer, any Error>) {
        let (headStream, headContinuation) = AsyncThrowingStream<Int, any Error>.makeStream()
        let (bodyStream, bodyContinuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let task = Task {
            do {
                try await channel.executeThenClose { inbound, outbound in
                    var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target)
                    head.headers.add(name: "Host", value: port == 443 ? host : "\(host):\(port)")
                    head.headers.add(name: "Content-Length", value: String(body.count))
                    head.headers.add(name: "Connection", value: "close")
                    for (name, value) in headers { head.headers.add(name: name, value: value) }
                    try await outbound.write(.head(head))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
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
                    if !sawHead { throw UpstreamRefused(.modelUnavailable, "upstream closed without an answer") }
                    bodyContinuation.finish()
                }
            } catch {
                // The TLS handshake completes after connect: a certificate this transport refused surfaces here, before
                // anything was written (NIOSSL buffers writes until the handshake succeeds).
                let mapped: any Error =
                    !verified.value || error is NIOSSLError || error is BoringSSLError
                    ? UpstreamRefused(.modelNotAttested, "the upstream at \(host):\(port) did not prove the expected attested workload (TLS handshake refused)")
                    : error
                headContinuation.finish(throwing: mapped)
                bodyContinuation.finish(throwing: mapped)
            }
        }
        bodyContinuation.onTermination = { _ in task.cancel() }
        var iterator = headStream.makeAsyncIterator()
        guard let status = try await iterator.next() else { throw UpstreamRefused(.modelUnavailable, "upstream closed without an answer") }
        return (status, bodyStream)
    }

    static func certificates(pem: String) throws -> [Certificate] {
        try PEMDocument.parseMultiple(pemString: pem).map { try Certificate(pemDocument: $0) }
    }
}

/// The checks of an attested upstream's certificate chain.
struct CertificateCheck: Sendable {
    let roots: [Certificate]
    let host: String
    let workload: String
    let measurements: Set<String>
    let now: @Sendable () -> Date

    /// Chain to a trusted root valid now, names the host, and carries the expected workload extension.
    func verify(_ presented: [NIOSSLCertificate]) async -> Bool {
        guard let parsed = try? presented.map({ try Certificate(derEncoded: try $0.toDERBytes()) }), let leaf = parsed.first else { return false }
        let isIP = WorkloadAddress.isIP(host)
        var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
            RFC5280Policy(validationTime: now())
            ServerIdentityPolicy(serverHostname: isIP ? nil : host, serverIP: isIP ? host : nil)
        }
        guard case .validCertificate = await verifier.validate(leaf: leaf, intermediates: CertificateStore(parsed.dropFirst())) else { return false }
        guard let value = WorkloadExtension(leaf), value.workload == workload else { return false }
        return measurements.isEmpty || measurements.contains(value.measurement.lowercased())
    }
}

enum WorkloadAddress {
    static func isIP(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}

/// Whether the handshake's certificate check passed (set from the verification callback).
final class VerifiedFlag: Sendable {
    private let state = Mutex(false)
    var value: Bool { state.withLock { $0 } }
    func set(_ ok: Bool) { state.withLock { $0 = ok } }
}
