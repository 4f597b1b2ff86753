import AsyncHTTPClient
import Foundation
import NIOCore
import SealgateServer
import SealgateTestSupport
import Testing
import X509

#if canImport(Glibc)
    import Glibc
#endif

extension BrokerProcessTests {
    /// Runs `openssl` with `arguments` and `input`; returns exit status and standard output.
    static func openssl(_ arguments: [String], input: String = "") throws -> (Int32, String) {
        let output = try ChildProcess.run("openssl", arguments, stdin: Array(input.utf8), timeout: 60)
        return (output.status, output.text)
    }

    @Test("Attested TLS, two processes: the gateway serves a broker-CA certificate for its in-memory key; without the CA, no connection")
    func attestedTLS() async throws {
        try await Self.withScenario { s in
            try s.enrol()
            try await s.startBroker()
            try s.provision()
            #expect(try s.keys(["enrol-workload", "gateway", "--name", "127.0.0.1", "--name", "localhost", "--max-validity", "600"]) == 0)
            let (status, bundle) = try s.run(["keys", "ca", "--broker", s.brokerURL, "--token-file", "br/admin-token"])
            #expect(status == 0 && bundle.contains("BEGIN CERTIFICATE"))
            try bundle.write(toFile: s.dir + "/broker-ca.pem", atomically: true, encoding: .utf8)

            s.gatewayUsesTLS = true
            s.gateway = try s.start(
                ["serve", "--demo", "--data-dir", "gw", "--port", "\(s.gatewayPort)", "--broker", s.brokerURL, "--lease-seconds", "\(s.leaseSeconds)",
                 "--attested-tls"], log: "gateway.log")
            let trusting = HTTPClient(
                eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: try TLSFiles.client(caPath: s.dir + "/broker-ca.pem")))
            s.tlsClient = trusting
            try await s.waitFor("gateway ready over attested TLS", seconds: 40) { try await s.get(s.gatewayURL + "/readyz").0 == 200 }
            try await s.waitFor("demo data", seconds: 20) { try await s.query("acme").0 == 200 }
            // The gateway wrote the same CA bundle for its clients.
            #expect(try String(contentsOfFile: s.dir + "/gw/ca.pem", encoding: .utf8) == bundle)
            // No key file on disk: nothing in the data directory holds a private key but the broker's and mock TEE's own.
            let files = FileManager.default.enumerator(atPath: s.dir + "/gw")?.compactMap { $0 as? String } ?? []
            #expect(!files.contains { $0.contains("tls") })

            // openssl: the chain verifies to the broker CA, and the leaf carries the Sealgate workload extension.
            let (_, handshake) = try Self.openssl(
                ["s_client", "-connect", "127.0.0.1:\(s.gatewayPort)", "-CAfile", s.dir + "/broker-ca.pem", "-showcerts", "-verify_return_error"])
            #expect(handshake.contains("Verify return code: 0 (ok)"))
            // Only the leaf is sent: the client holds the CA already (it is what it verifies against).
            #expect(handshake.components(separatedBy: "-----BEGIN CERTIFICATE-----").count - 1 == 1)
            let leafPEM = try #require(handshake.components(separatedBy: "-----END CERTIFICATE-----").first.map { $0 + "-----END CERTIFICATE-----" })
            let leaf = try Certificate(pemEncoded: String(leafPEM[leafPEM.range(of: "-----BEGIN CERTIFICATE-----")!.lowerBound...]))
            #expect(WorkloadExtensionProbe.workload(leaf) == "gateway")
            // Without the CA the handshake fails; plain HTTP on the TLS port gets no answer.
            let (refused, _) = try Self.openssl(["s_client", "-connect", "127.0.0.1:\(s.gatewayPort)", "-verify_return_error"])
            #expect(refused != 0)
            #expect((try? await HTTPClient.shared.execute(HTTPClientRequest(url: s.gatewayURL + "/healthz"), timeout: .seconds(2))) == nil)
            #expect((try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(s.gatewayPort)/healthz"), timeout: .seconds(2)))?.status != .ok)

            // Renewal under load: the lease (5 s) renews the certificate; requests keep succeeding across swaps.
            let firstSerial = leaf.serialNumber
            var failures = 0
            let deadline = Date().addingTimeInterval(12)
            while Date() < deadline {
                if (try? await s.get(s.gatewayURL + "/healthz").0) != 200 { failures += 1 }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            #expect(failures == 0)
            let (_, later) = try Self.openssl(["s_client", "-connect", "127.0.0.1:\(s.gatewayPort)", "-CAfile", s.dir + "/broker-ca.pem", "-showcerts"])
            let laterPEM = try #require(later.components(separatedBy: "-----END CERTIFICATE-----").first)
            let renewed = try Certificate(pemEncoded: String(laterPEM[laterPEM.range(of: "-----BEGIN CERTIFICATE-----")!.lowerBound...]) + "-----END CERTIFICATE-----")
            #expect(renewed.serialNumber != firstSerial)
            #expect(try await s.metric(#"sealgate_key_release_total{tenant="-",resource_type="cert",decision="granted",reason="granted",tee="mock"}"#) >= 2)

            // CA rotation: the bundle keeps the old CA, so the certificate served now still verifies against it; the
            // next renewal is signed by the new CA, which a client holding only the old bundle does not trust.
            #expect(try s.keys(["rotate-ca"]) == 0)
            let (_, rotated) = try s.run(["keys", "ca", "--broker", s.brokerURL, "--token-file", "br/admin-token"])
            #expect(rotated.components(separatedBy: "BEGIN CERTIFICATE").count - 1 == 2)
            try rotated.write(toFile: s.dir + "/broker-ca-rotated.pem", atomically: true, encoding: .utf8)
            func verifies(with bundle: String) throws -> Bool {
                let (_, out) = try Self.openssl(["s_client", "-connect", "127.0.0.1:\(s.gatewayPort)", "-CAfile", s.dir + bundle, "-verify_return_error"])
                return out.contains("Verify return code: 0 (ok)")
            }
            #expect(try verifies(with: "/broker-ca-rotated.pem"))
            try await s.waitFor("a certificate from the rotated CA", seconds: 30) { try !verifies(with: "/broker-ca.pem") }
            #expect(try verifies(with: "/broker-ca-rotated.pem"))
            #expect(try String(contentsOfFile: s.dir + "/gw/ca.pem", encoding: .utf8).components(separatedBy: "BEGIN CERTIFICATE").count - 1 == 2)
        }
    }

    @Test("Attested TLS with no enrolment at the broker: the gateway never listens (fail closed) and says why")
    func attestedTLSWithoutEnrolment() async throws {
        try await Self.withScenario { s in
            try s.enrol()
            try await s.startBroker()
            try s.provision()
            s.gateway = try s.start(
                ["serve", "--demo", "--data-dir", "gw", "--port", "\(s.gatewayPort)", "--broker", s.brokerURL, "--lease-seconds", "\(s.leaseSeconds)",
                 "--attested-tls"], log: "gateway.log")
            try await s.waitFor("the refusal in the gateway log", seconds: 30) { s.log("gateway.log").contains("workload_not_enrolled") }
            #expect((try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(s.gatewayPort)/healthz"), timeout: .seconds(1))) == nil)
            #expect(s.log("gateway.log").contains("not listening"))
        }
    }
}

extension BrokerProcessTests {
    @Test("Mutual TLS: a broker that requires client certificates releases keys only over TLS with the token's workload certificate")
    func mutualTLS() async throws {
        try await Self.withScenario { s in
            try s.useTLS()
            s.brokerArguments = ["--require-client-cert"]
            try s.enrol()
            try await s.startBroker()
            try s.provision()
            #expect(try s.keys(["enrol-workload", "gateway", "--name", "127.0.0.1"]) == 0)
            // Without a workload certificate (no --attested-tls): attestation passes, every key is refused.
            try s.startGateway()
            try await s.waitFor("keys refused for lack of a client certificate", seconds: 30) {
                try await s.metric(
                    #"sealgate_key_release_total{tenant="acme",resource_type="kek",decision="denied",reason="client_certificate_required",tee="mock"}"#) >= 1
            }
            #expect(try await s.get(s.gatewayURL + "/readyz").0 == 503)
            s.stop(s.gateway)
            // With --attested-tls the gateway presents its workload certificate to the broker and gets its keys.
            let caPath = try #require(s.tlsPaths?.ca)
            s.gatewayUsesTLS = true
            s.gateway = try s.start(
                ["serve", "--demo", "--data-dir", "gw", "--port", "\(s.gatewayPort)", "--broker", s.brokerURL, "--broker-ca", caPath,
                 "--lease-seconds", "\(s.leaseSeconds)", "--attested-tls"], log: "gateway-mtls.log")
            let (_, bundle) = try s.run(["keys", "ca", "--broker", s.brokerURL, "--token-file", "br/admin-token", "--ca", caPath])
            // The scenario's client trusts both: the broker's operator CA and the workload CA the gateway now serves under.
            try (try String(contentsOfFile: caPath, encoding: .utf8) + "\n" + bundle).write(toFile: s.dir + "/workload-ca.pem", atomically: true, encoding: .utf8)
            let previous = s.tlsClient
            s.tlsClient = HTTPClient(
                eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: try TLSFiles.client(caPath: s.dir + "/workload-ca.pem")))
            try? await previous?.shutdown()
            try await s.waitFor("gateway ready with keys released over mutual TLS", seconds: 40) { try await s.get(s.gatewayURL + "/readyz").0 == 200 }
            try await s.waitFor("demo data", seconds: 20) { try await s.query("acme").0 == 200 }
            #expect(try await s.metric(#"sealgate_key_release_total{tenant="acme",resource_type="kek",decision="granted",reason="granted",tee="mock"}"#) >= 1)
        }
    }
}

/// Reads the workload class out of a certificate's Sealgate extension (OID documented in docs/protocol.md).
enum WorkloadExtensionProbe {
    static func workload(_ certificate: Certificate) -> String? {
        guard let ext = certificate.extensions.first(where: { $0.oid.description == "1.3.6.1.4.1.59337.1.1" }) else { return nil }
        // SEQUENCE { INTEGER 1, UTF8String workload, ... }: the second element.
        let bytes = Array(ext.value)
        guard bytes.count > 8, bytes[0] == 0x30 else { return nil }
        var index = bytes[1] & 0x80 == 0 ? 2 : 2 + Int(bytes[1] & 0x7f)
        index += 3  // INTEGER 1
        guard index + 2 <= bytes.count, bytes[index] == 0x0c else { return nil }
        let length = Int(bytes[index + 1])
        guard index + 2 + length <= bytes.count else { return nil }
        return String(decoding: bytes[(index + 2)..<(index + 2 + length)], as: UTF8.self)
    }
}
