import AsyncHTTPClient
import Crypto
import Foundation
import Hummingbird
import HummingbirdTLS
import HummingbirdTesting
import NIOCore
import NIOSSL
import SealgateServer
import Testing
import X509

extension BrokerProcessTests {
    /// A TLS relay with its own certificate in front of the gateway's `/v1/attestation`: forwards the query (or, with
    /// `canned`, always answers that body), so the evidence it relays binds the gateway's key, not the relay's.
    static func relay(to gateway: String, trusting ca: String, canned: String? = nil) throws -> some ApplicationProtocol {
        let authority = try AttestedTransportTests.Authority("relay CA")
        let key = P256.Signing.PrivateKey()
        let leaf = try authority.leaf(for: key, workload: "gateway")
        let trust = try TLSFiles.client(caPath: ca)
        let router = Router()
        router.get("/v1/attestation") { request, _ -> Response in
            if let canned { return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: canned))) }
            var forward = HTTPClientRequest(url: gateway + request.uri.description)
            forward.tlsConfiguration = trust
            let response = try await HTTPClient.shared.execute(forward, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 20)
            return Response(status: .init(code: Int(response.status.code)), headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
        }
        let chain = try [leaf, authority.certificate].map { try NIOSSLCertificate(bytes: Array($0.serializeAsPEM().pemString.utf8), format: .pem) }
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem)))
        return Application(router: router, server: try .tls(.http1(), tlsConfiguration: tls), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    @Test("verify-gateway: passes against a live attested gateway; a swapped TLS key, replayed evidence and wrong reference values fail by name")
    func verifyGateway() async throws {
        try await Self.withScenario { s in
            s.gatewayUsesTLS = true
            s.gateway = try s.start(["serve", "--demo", "--data-dir", "gw", "--port", "\(s.gatewayPort)", "--attested-tls"], log: "gateway.log")
            for _ in 0..<300 where !FileManager.default.fileExists(atPath: s.dir + "/gw/ca.pem") { try await Task.sleep(nanoseconds: 100_000_000) }
            s.tlsClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: try TLSFiles.client(caPath: s.dir + "/gw/ca.pem")))
            try await s.waitFor("gateway ready", seconds: 40) { try await s.get(s.gatewayURL + "/readyz").0 == 200 }
            let (m, values) = try s.run(["measure", "--demo", "--data-dir", "gw", "--reference-values"])
            #expect(m == 0)
            try values.write(toFile: s.dir + "/rv.json", atomically: true, encoding: .utf8)

            let (ok, out) = try s.run(["verify-gateway", s.gatewayURL, "--reference-values", "rv.json", "--ca", "gw/ca.pem", "--json"])
            #expect(ok == 0, "\(out)")
            let report = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
            #expect(report?["verified"] as? Bool == true && report?["tee"] as? String == "mock" && report?["workload"] as? String == "gateway")

            // Reference values for another measurement: the evidence does not appraise.
            var object = try #require(try JSONSerialization.jsonObject(with: Data(values.utf8)) as? [String: Any])
            var sets = try #require(object["sets"] as? [[String: Any]])
            sets[0]["measurements"] = [String(repeating: "ab", count: 48)]
            object["sets"] = sets
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: s.dir + "/rv-other.json"))
            let (bad, badOut) = try s.run(["verify-gateway", s.gatewayURL, "--reference-values", "rv-other.json", "--ca", "gw/ca.pem"])
            #expect(bad == 1 && badOut.contains("evidence_rejected"), "\(badOut)")
            // A CA the gateway's chain does not lead to.
            let (untrusted, untrustedOut) = try s.run(["verify-gateway", s.gatewayURL, "--reference-values", "rv.json", "--ca", "rv.json"])
            #expect(untrusted != 0, "\(untrustedOut)")

            // A relay with its own key in front: the evidence binds the gateway's key, not this connection's.
            try await Self.relay(to: s.gatewayURL, trusting: s.dir + "/gw/ca.pem").test(.live) { relay in
                let port = try #require(relay.port)
                let (status, relayed) = try s.run(["verify-gateway", "https://127.0.0.1:\(port)", "--reference-values", "rv.json"])
                #expect(status == 1 && relayed.contains("tls_key_mismatch"), "\(relayed)")
            }
            // Replayed evidence: an answer captured for another nonce.
            let nonce = String(repeating: "A", count: 43)
            let (_, captured) = try await s.get(s.gatewayURL + "/v1/attestation?nonce=\(nonce)")
            try await Self.relay(to: s.gatewayURL, trusting: s.dir + "/gw/ca.pem", canned: captured).test(.live) { relay in
                let port = try #require(relay.port)
                let (status, replayed) = try s.run(["verify-gateway", "https://127.0.0.1:\(port)", "--reference-values", "rv.json"])
                #expect(status == 1 && replayed.contains("nonce_mismatch"), "\(replayed)")
            }
            // Bad nonces are refused; the cached evidence is served without one; the endpoint is rate-limited.
            #expect(try await s.get(s.gatewayURL + "/v1/attestation?nonce=short").0 == 400)
            #expect(try await s.get(s.gatewayURL + "/v1/attestation?nonce=" + String(repeating: "B", count: 43)).0 == 400)
            let (cachedStatus, cached) = try await s.get(s.gatewayURL + "/v1/attestation")
            #expect(cachedStatus == 200 && cached.contains(#""fresh":false"#))
            var statuses: [Int] = []
            for _ in 0..<15 { statuses.append(try await s.get(s.gatewayURL + "/v1/attestation?nonce=\(nonce)").0) }
            #expect(statuses.contains(429))
            // Plain HTTP is a usage error: the evidence binds a TLS key.
            #expect(try s.run(["verify-gateway", "http://127.0.0.1:\(s.gatewayPort)", "--reference-values", "rv.json"]).0 == 64)
        }
    }
}
