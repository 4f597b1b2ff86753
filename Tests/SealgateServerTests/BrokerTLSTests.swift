import AsyncHTTPClient
import Crypto
import Foundation
import SealgateServer
import SwiftASN1
import Testing
import X509

extension BrokerProcessTests.Scenario {
    /// Makes a private CA and a server certificate for 127.0.0.1 (P-256, one hour) in the scenario directory and
    /// switches the broker to HTTPS with them.
    func useTLS() throws {
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("Sealgate test CA") }
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(3600), issuer: caName, subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: Certificate.PrivateKey(caKey))
        let serverKey = P256.Signing.PrivateKey()
        let server = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(serverKey.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(3600), issuer: caName,
            subject: try DistinguishedName { CommonName("127.0.0.1") }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
            },
            issuerPrivateKey: Certificate.PrivateKey(caKey))
        let paths = (cert: dir + "/tls-cert.pem", key: dir + "/tls-key.pem", ca: dir + "/tls-ca.pem")
        try server.serializeAsPEM().pemString.write(toFile: paths.cert, atomically: true, encoding: .utf8)
        try serverKey.pemRepresentation.write(toFile: paths.key, atomically: true, encoding: .utf8)
        try ca.serializeAsPEM().pemString.write(toFile: paths.ca, atomically: true, encoding: .utf8)
        tlsPaths = paths
        tlsClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: try TLSFiles.client(caPath: paths.ca)))
    }
}

extension BrokerProcessTests {
    @Test("Broker and gateway over HTTPS with a private CA: keys CLI and gateway trust it with --ca/--broker-ca; without it the gateway gets no keys")
    func tls() async throws {
        try await Self.withScenario { s in
            try s.useTLS()
            try s.enrol()
            try await s.startBroker()
            try s.provision()  // the admin API over HTTPS, trusting the CA
            // Plain HTTP to the TLS port gets no answer; HTTPS without trusting the CA fails verification.
            #expect((try? await s.send(HTTPClientRequest(url: "http://127.0.0.1:\(s.brokerPort)/healthz")))?.0 != 200)
            #expect((try? await HTTPClient.shared.execute(HTTPClientRequest(url: s.brokerURL + "/healthz"), timeout: .seconds(1))) == nil)
            #expect(try s.run(["keys", "tenants", "--broker", s.brokerURL, "--token-file", "br/admin-token", "--timeout", "2"]).0 == 2)

            // A gateway that trusts only the system store never gets keys: broker_unavailable.
            try s.startGateway(trustingCA: false)
            try await s.waitFor("gateway refusing the broker's certificate", seconds: 40) {
                let (status, body) = try await s.get(s.gatewayURL + "/readyz")
                return status == 503 && body.contains("broker_unavailable")
            }
            #expect(try await s.query("acme").0 == 503)
            s.stop(s.gateway)

            // Trusting the CA, it attests over TLS, leases its keys and answers — on its own HTTPS listener too.
            try s.startGateway(servingTLS: true)
            try await s.waitFor("gateway ready over TLS", seconds: 30) { try await s.get(s.gatewayURL + "/readyz").0 == 200 }
            try await s.waitFor("demo data", seconds: 15) { try await s.query("acme").0 == 200 }
            #expect(s.gatewayURL.hasPrefix("https://"))
            #expect((try? await s.send(HTTPClientRequest(url: "http://127.0.0.1:\(s.gatewayPort)/healthz")))?.0 != 200)
            #expect(try await s.metric(#"sealgate_key_release_total{tenant="acme",resource_type="kek",decision="granted",reason="granted",tee="mock"}"#) >= 1)
        }
    }
}
