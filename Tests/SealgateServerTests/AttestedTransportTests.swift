import AttestedUpstream
import Crypto
import Foundation
import Hummingbird
import HummingbirdTLS
import HummingbirdTesting
import KeyBroker
import ModelClientOpenAI
import NIOSSL
import SealgateCore
import SwiftASN1
import Synchronization
import Testing
import X509

/// The attested upstream transport against real TLS servers on loopback, one per kind of certificate: only a
/// chain to the trusted workload CA, naming the host, valid now, with the expected workload class and measurement
/// gets a request; every other endpoint is refused in the handshake with nothing sent.
@Suite("Attested upstream transport: certificates it must refuse")
struct AttestedTransportTests {
    struct Authority {
        let key = P384.Signing.PrivateKey()
        let name: DistinguishedName
        let certificate: Certificate

        init(_ commonName: String) throws {
            name = try DistinguishedName { CommonName(commonName) }
            let now = Date()
            certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(key.publicKey),
                notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(3600), issuer: name, subject: name,
                signatureAlgorithm: .ecdsaWithSHA384,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                },
                issuerPrivateKey: Certificate.PrivateKey(key))
        }

        var pem: String { (try? certificate.serializeAsPEM().pemString) ?? "" }

        /// A server certificate for 127.0.0.1 with the workload extension (or none), valid in `[from, to]`.
        func leaf(
            for key: P256.Signing.PrivateKey, workload: String?, measurement: String = "aa", modelDigest: String? = nil, from: TimeInterval = -60,
            to: TimeInterval = 600
        ) throws -> Certificate {
            let now = Date()
            return try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(key.publicKey),
                notValidBefore: now.addingTimeInterval(from), notValidAfter: now.addingTimeInterval(to), issuer: name,
                subject: try DistinguishedName { CommonName("upstream") }, signatureAlgorithm: .ecdsaWithSHA384,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    try ExtendedKeyUsage([.serverAuth])
                    SubjectAlternativeNames([.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
                    if let workload {
                        try WorkloadExtension(
                            workload: workload, tee: "mock", measurement: measurement, status: "warning", earDigest: Data(count: 32), modelDigest: modelDigest
                        ).certificateExtension()
                    }
                },
                issuerPrivateKey: Certificate.PrivateKey(self.key))
        }
    }

    /// Serves `leaf` (and its CA) over TLS on loopback, counting requests, and runs `body` with the port.
    final class Hits: Sendable {
        let count = Mutex(0)
        func withLock<T>(_ body: (inout Int) -> T) -> T { count.withLock { body(&$0) } }
    }

    static func serving(_ leaf: Certificate, key: P256.Signing.PrivateKey, ca: Authority, _ body: @escaping @Sendable (Int, Hits) async throws -> Void) async throws {
        let hits = Hits()
        let router = Router()
        router.post("/v1/chat/completions") { _, _ -> Response in
            hits.withLock { $0 += 1 }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: #"{"choices":[{"message":{"content":"hi"}}]}"#)))
        }
        let chain = try [leaf, ca.certificate].map { try NIOSSLCertificate(bytes: Array($0.serializeAsPEM().pemString.utf8), format: .pem) }
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem)))
        let app = Application(router: router, server: try .tls(.http1(), tlsConfiguration: tls), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            try await body(try #require(client.port), hits)
        }
    }

    static func post(_ transport: AttestedTransport, port: Int) async throws -> Int {
        let response = try await transport.post(
            url: "https://127.0.0.1:\(port)/v1/chat/completions", headers: [("Content-Type", "application/json")], body: Data(#"{"secret":"passage"}"#.utf8),
            timeout: .seconds(5))
        _ = try await response.collect(upTo: 1 << 16)
        return response.status
    }

    /// Serves `leaf` and expects `transport` to refuse it with `code` in the handshake, the upstream never reached.
    static func expectRefused(
        _ transport: AttestedTransport, serving leaf: Certificate, key: P256.Signing.PrivateKey, ca: Authority, code: ReasonCode, _ what: String
    ) async throws {
        try await serving(leaf, key: key, ca: ca) { port, hits in
            do {
                _ = try await Self.post(transport, port: port)
                Issue.record("\(what): accepted")
            } catch let refusal as UpstreamRefused {
                #expect(refusal.code == code, "\(what): \(refusal.code)")
            }
            #expect(hits.withLock { $0 } == 0, "\(what): the upstream received a request")
        }
    }

    @Test("Only the expected workload class and measurement under the trusted CA gets the request")
    func refusals() async throws {
        let ca = try Authority("workload CA")
        let foreign = try Authority("someone else's CA")
        let key = P256.Signing.PrivateKey()
        let transport = AttestedTransport(workload: "model:llm", measurements: ["AA"], trust: { [ca.pem] })
        // The good one.
        try await Self.serving(try ca.leaf(for: key, workload: "model:llm"), key: key, ca: ca) { port, hits in
            let status = try await Self.post(transport, port: port)
            #expect(status == 200)
            #expect(hits.withLock { $0 } == 1)
        }
        let refused: [(String, Certificate, Authority)] = [
            ("another workload class", try ca.leaf(for: key, workload: "model:other"), ca),
            ("no workload extension", try ca.leaf(for: key, workload: nil), ca),
            ("a measurement the profile does not allow", try ca.leaf(for: key, workload: "model:llm", measurement: "bb"), ca),
            ("an expired certificate", try ca.leaf(for: key, workload: "model:llm", from: -7200, to: -3600), ca),
            ("a foreign CA", try foreign.leaf(for: key, workload: "model:llm"), foreign),
        ]
        for (what, leaf, issuer) in refused {
            try await Self.expectRefused(transport, serving: leaf, key: key, ca: issuer, code: .modelNotAttested, what)
        }
        // Never plain HTTP, and no trusted CA at all: refused before connecting.
        await #expect(throws: UpstreamRefused.self) {
            _ = try await transport.post(url: "http://127.0.0.1:1/v1/chat/completions", headers: [], body: Data(), timeout: .seconds(1))
        }
        let untrusting = AttestedTransport(workload: "model:llm", measurements: [], trust: { [] })
        await #expect(throws: UpstreamRefused.self) {
            _ = try await untrusting.post(url: "https://127.0.0.1:1/v1/chat/completions", headers: [], body: Data(), timeout: .seconds(1))
        }
    }

    @Test("A pinned model digest: only a certificate that carries it gets the request; another or none is model_digest_mismatch")
    func pinnedModelDigest() async throws {
        let ca = try Authority("workload CA")
        let key = P256.Signing.PrivateKey()
        let pinned = "sha256:" + String(repeating: "1f", count: 32)
        let transport = AttestedTransport(workload: "model:llm", measurements: [], modelDigest: pinned, trust: { [ca.pem] })
        try await Self.serving(try ca.leaf(for: key, workload: "model:llm", modelDigest: pinned), key: key, ca: ca) { port, hits in
            let status = try await Self.post(transport, port: port)
            #expect(status == 200)
            #expect(hits.withLock { $0 } == 1)
        }
        let refused: [(String, Certificate, ReasonCode)] = [
            ("another model digest", try ca.leaf(for: key, workload: "model:llm", modelDigest: "sha256:" + String(repeating: "2e", count: 32)), .modelDigestMismatch),
            ("no model digest (a version-1 extension)", try ca.leaf(for: key, workload: "model:llm"), .modelDigestMismatch),
            ("the pinned digest but another workload class", try ca.leaf(for: key, workload: "model:other", modelDigest: pinned), .modelNotAttested),
        ]
        for (what, leaf, code) in refused {
            try await Self.expectRefused(transport, serving: leaf, key: key, ca: ca, code: code, what)
        }
        // An unpinned profile accepts a certificate with any model digest.
        let unpinned = AttestedTransport(workload: "model:llm", measurements: [], trust: { [ca.pem] })
        try await Self.serving(try ca.leaf(for: key, workload: "model:llm", modelDigest: pinned), key: key, ca: ca) { port, _ in
            let status = try await Self.post(unpinned, port: port)
            #expect(status == 200)
        }
    }
}
