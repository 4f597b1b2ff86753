import Attestation
import Crypto
import Foundation
import JOSE
import KeyBroker
import KeyLease
import Logging
import ReleasePolicy
import SealgateCore
import SwiftASN1
import Testing
import X509

@Suite("Workload CA: certificates only for keys the evidence bound, enrolled names, policy, rotation with overlap")
struct WorkloadCertificateTests {
    typealias S = KeyBrokerTests

    /// Auth + attest binding `workloadKey` (or not) in the runtime data; returns the token.
    static func attest(_ s: S.Setup, workloadKey: JWK?, boundKey: JWK? = nil) async throws -> String {
        let challenge = try #require(try? await s.broker.auth(version: "0.1.0", tee: .mock).get())
        let tee = P256.KeyAgreement.PrivateKey()
        let runtime = RuntimeData(nonce: challenge.nonce, teePublicKey: .ec(tee.publicKey), workloadPublicKey: workloadKey)
        let evidence = try s.tee.evidence(reportData: runtime.reportData, now: s.clock.now())
        guard case .token(let token, _) = await s.broker.attest(sessionID: challenge.sessionID, AttestRequest(runtimeData: runtime, evidence: evidence)) else {
            throw KeyBrokerError(.attestationContraindicated, "attestation refused")
        }
        return token
    }

    static func enrolGateway(_ s: S.Setup, names: [String] = ["gateway.example", "127.0.0.1"]) async throws {
        _ = try await s.broker.enrol(WorkloadEnrolment(workload: .gateway, names: names, maxValiditySeconds: 600), by: s.admin).get()
    }

    static func leaf(_ certificate: WorkloadCertificate) throws -> Certificate { try Certificate(pemEncoded: certificate.chain[0]) }

    @Test("An issued certificate names the enrolled names only, chains to the CA, lives no longer than the token, carries the extension")
    func issuance() async throws {
        try await S.withBroker { s in
            try await Self.enrolGateway(s)
            let identity = WorkloadIdentity(workload: .gateway, now: s.clock.now)
            let token = try await Self.attest(s, workloadKey: identity.publicJWK)
            guard case .issued(let issued, let decision) = await s.broker.workloadCertificate(.token(token), WorkloadCertificateRequest(workload: .gateway, publicKey: identity.publicJWK)) else {
                Issue.record("issuance refused")
                return
            }
            #expect(decision.allowed)
            let leaf = try Self.leaf(issued)
            let ca = try Certificate(pemEncoded: issued.chain[1])
            #expect(ca.publicKey.isValidSignature(leaf.signature, for: leaf))
            #expect(leaf.publicKey == Certificate.PublicKey(identity.privateKey.publicKey))
            let names = try #require(try leaf.extensions.subjectAlternativeNames)
            #expect(names.contains(.dnsName("gateway.example")) && names.contains(.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))))
            #expect(names.count == 2)
            // The token lives 60 s (setup), the enrolment allows 600: the token bounds the certificate.
            #expect(leaf.notValidAfter <= s.clock.now().addingTimeInterval(60))
            let ext = try #require(WorkloadExtension(leaf))
            #expect(ext.workload == "gateway" && ext.tee == "mock" && ext.measurement == s.tee.measurement.measurement)
            #expect(ext.earDigest == Data(SHA256.hash(data: Data(token.utf8))))
            #expect(try leaf.extensions.basicConstraints == .notCertificateAuthority)
            #expect(issued.trust == [issued.chain[1]])
            // What a TLS endpoint sends: the leaf alone (the CA is a trust anchor), also when the anchor's PEM is
            // wrapped differently, and never an empty chain.
            #expect(issued.servedChain == [issued.chain[0]])
            let rewrapped = WorkloadCertificate(
                chain: issued.chain, notAfter: issued.notAfter, serial: issued.serial, trust: issued.trust.map { $0.replacingOccurrences(of: "\n", with: "\r\n") })
            #expect(rewrapped.servedChain == [issued.chain[0]])
            let selfIssuedLeaf = WorkloadCertificate(chain: [issued.chain[1]], notAfter: issued.notAfter, serial: issued.serial, trust: issued.trust)
            #expect(selfIssuedLeaf.servedChain == [issued.chain[1]])
            let untrusted = WorkloadCertificate(chain: issued.chain, notAfter: issued.notAfter, serial: issued.serial, trust: [])
            #expect(untrusted.servedChain == issued.chain)
            #expect(issued.chain.allSatisfy { $0.hasSuffix("-----END CERTIFICATE-----\n") })
            #expect(s.events.withLock { $0 }.contains("release sealgate/cert/gateway granted"))
        }
    }

    @Test("A key the evidence did not bind, an unenrolled class, no token, a denying policy: no certificate, each with its reason")
    func refusals() async throws {
        let deny = #"""
            [{"id": "no-model-certs", "applies_to": {"resource_type": "cert"},
              "rule": {"field": "tee", "equals": "snp", "reason": "hardware_required"}}]
            """#
        try await S.withBroker { s in
            try await Self.enrolGateway(s)
            let identity = WorkloadIdentity(workload: .gateway, now: s.clock.now)
            let other = WorkloadIdentity(workload: .gateway, now: s.clock.now)
            let request = WorkloadCertificateRequest(workload: .gateway, publicKey: identity.publicJWK)
            // Bound key A, asks for key B.
            let token = try await Self.attest(s, workloadKey: identity.publicJWK)
            #expect(Self.reason(await s.broker.workloadCertificate(.token(token), WorkloadCertificateRequest(workload: .gateway, publicKey: other.publicJWK))) == .workloadKeyNotBound)
            // Nothing bound at all.
            let unbound = try await Self.attest(s, workloadKey: nil)
            #expect(Self.reason(await s.broker.workloadCertificate(.token(unbound), request)) == .workloadKeyNotBound)
            // A class without enrolment.
            let model = try #require(WorkloadClass("model:llama"))
            #expect(Self.reason(await s.broker.workloadCertificate(.token(token), WorkloadCertificateRequest(workload: model, publicKey: identity.publicJWK))) == .workloadNotEnrolled)
            // No credential, a forged token.
            #expect(Self.reason(await s.broker.workloadCertificate(.none, request)) == .unauthenticated)
            #expect(Self.reason(await s.broker.workloadCertificate(.token(token + "x"), request)) == .tokenInvalid)
            // An expired token.
            s.clock.advance(61)
            #expect(Self.reason(await s.broker.workloadCertificate(.token(token), request)) == .tokenExpired)
        }
        try await S.withBroker(policies: deny) { s in
            try await Self.enrolGateway(s)
            let identity = WorkloadIdentity(workload: .gateway, now: s.clock.now)
            let token = try await Self.attest(s, workloadKey: identity.publicJWK)
            let outcome = await s.broker.workloadCertificate(.token(token), WorkloadCertificateRequest(workload: .gateway, publicKey: identity.publicJWK))
            #expect(Self.reason(outcome) == BrokerReason("hardware_required"))
            #expect(s.events.withLock { $0 }.contains("release sealgate/cert/gateway hardware_required"))
        }
    }

    @Test("Workloads asking for their first certificates at once all get certificates of the one CA the broker serves")
    func concurrentFirstIssuance() async throws {
        try await S.withBroker { s in
            try await Self.enrolGateway(s)
            var requests: [(token: String, key: JWK)] = []
            for _ in 0..<4 {
                let identity = WorkloadIdentity(workload: .gateway, now: s.clock.now)
                requests.append((try await Self.attest(s, workloadKey: identity.publicJWK), identity.publicJWK))
            }
            // No CA exists yet: every request opens the CA versions at once (each suspends on the store read).
            let broker = s.broker
            let issued = await withTaskGroup(of: WorkloadCertificate?.self) { group in
                for request in requests {
                    group.addTask {
                        let outcome = await broker.workloadCertificate(.token(request.token), WorkloadCertificateRequest(workload: .gateway, publicKey: request.key))
                        guard case .issued(let certificate, _) = outcome else { return nil }
                        return certificate
                    }
                }
                var all: [WorkloadCertificate?] = []
                for await certificate in group { all.append(certificate) }
                return all
            }
            let bundle = try await broker.caCertificates()
            #expect(bundle.count == 1)
            let ca = try Certificate(pemEncoded: try #require(bundle.first))
            #expect(issued.count == 4)
            for certificate in issued {
                let certificate = try #require(certificate)
                let leaf = try Self.leaf(certificate)
                #expect(ca.publicKey.isValidSignature(leaf.signature, for: leaf), "a certificate of a CA the broker does not serve")
                #expect(certificate.trust == bundle)
            }
        }
    }

    @Test("A request arriving while the first CA version is being saved waits for it instead of being refused")
    func requestDuringFirstCASave() async throws {
        try await S.withBroker { s in
            // A broker whose store holds the first CA version's write until the second request has come in.
            let held = HeldWriteStore(base: s.store)
            let broker = KeyBroker(
                verifiers: [], referenceValues: await s.broker.referenceValues, policies: try PolicySet([]), store: held,
                protector: try MasterKey(raw: Data(repeating: 7, count: 32)), tokenKey: P256.Signing.PrivateKey(), tokenTTL: 60, now: s.clock.now)
            let b = S.Setup(broker: broker, tee: s.tee, clock: s.clock, store: s.store, admin: s.admin, events: s.events)
            try await broker.enrolAtStartUp(WorkloadEnrolment(workload: .gateway, names: ["gateway.example"], maxValiditySeconds: 600))
            var requests: [WorkloadCertificateRequest] = []
            var tokens: [String] = []
            for _ in 0..<2 {
                let identity = WorkloadIdentity(workload: .gateway, now: s.clock.now)
                tokens.append(try await Self.attest(b, workloadKey: identity.publicJWK))
                requests.append(WorkloadCertificateRequest(workload: .gateway, publicKey: identity.publicJWK))
            }
            held.holdNextWrite(of: "workload_ca")
            let (token, request) = (tokens[0], requests[0])
            let first = Task { await broker.workloadCertificate(.token(token), request) }
            await held.writeHeld()
            let (secondToken, secondRequest) = (tokens[1], requests[1])
            let second = Task { await broker.workloadCertificate(.token(secondToken), secondRequest) }
            // Time for the second request to reach the CA versions (before, it found them cached without an active
            // version and was refused `certificate_issue_failed` at once); it must wait for the save instead.
            for _ in 0..<40 {
                try await Task.sleep(nanoseconds: 5_000_000)
                await Task.yield()
            }
            held.release()
            for outcome in [await first.value, await second.value] {
                guard case .issued = outcome else {
                    Issue.record("refused: \(String(describing: Self.reason(outcome)))")
                    continue
                }
            }
            #expect(try await broker.caCertificates().count == 1)
        }
    }

    @Test("Enrolments refuse wildcards, bad names, empty lists and out-of-range validity")
    func enrolmentValidation() async throws {
        try await S.withBroker { s in
            for names in [[], ["*.example.com"], ["bad name"], ["-x.example"], [String(repeating: "a", count: 64) + ".example"]] {
                let result = await s.broker.enrol(WorkloadEnrolment(workload: .gateway, names: names), by: s.admin)
                #expect((try? result.get()) == nil, "\(names)")
            }
            #expect((try? await s.broker.enrol(WorkloadEnrolment(workload: .gateway, names: ["a.example"], maxValiditySeconds: 10), by: s.admin).get()) == nil)
            #expect((try? await s.broker.enrol(WorkloadEnrolment(workload: .gateway, names: ["a.example", "::1", "10.0.0.1"]), by: s.admin).get()) != nil)
            #expect(WorkloadClass("model:") == nil && WorkloadClass("Model:x") == nil && WorkloadClass("model:a/b") == nil)
            #expect(WorkloadClass("model:llama-3.1")?.resourceTag == "model.llama-3.1")
        }
    }

    @Test("Rotation: the new CA signs, the old stays in the bundle until its certificates have expired, the key is sealed at rest")
    func rotation() async throws {
        try await S.withBroker { s in
            try await Self.enrolGateway(s)
            let first = try await s.broker.caCertificates()
            #expect(first.count == 1)
            let version = try await s.broker.rotateCA(by: s.admin).get()
            #expect(version == 2)
            let both = try await s.broker.caCertificates()
            #expect(both.count == 2 && both[1] == first[0])
            let identity = WorkloadIdentity(workload: .gateway, now: s.clock.now)
            let token = try await Self.attest(s, workloadKey: identity.publicJWK)
            guard case .issued(let issued, _) = await s.broker.workloadCertificate(.token(token), WorkloadCertificateRequest(workload: .gateway, publicKey: identity.publicJWK)) else {
                Issue.record("issuance refused")
                return
            }
            #expect(issued.chain[1] == both[0])
            s.clock.advance(TimeInterval(WorkloadEnrolment.validityCap) + 120)
            #expect(try await s.broker.caCertificates() == [both[0]])
            // Nothing of the CA key is stored in the clear.
            let stored = try #require(try await s.store.setting("workload_ca"))
            #expect(!String(decoding: stored, as: UTF8.self).contains("PRIVATE KEY"))
        }
    }

    @Test("A lease manager with a workload identity installs a certificate with every lease")
    func leaseInstallsCertificate() async throws {
        try await S.withBroker { s in
            try await Self.enrolGateway(s)
            let identity = WorkloadIdentity(workload: .gateway, now: s.clock.now)
            let leases = LeaseManager(
                client: InProcessBrokerClient(broker: s.broker), attester: s.tee, maxLease: 30, now: s.clock.now, logger: Logger(label: "test"),
                identity: identity)
            #expect(await leases.acquire(resources: [S.acmeInternal]))
            let first = try #require(identity.certificate)
            s.clock.advance(20)
            #expect(await leases.acquire(resources: [S.acmeInternal]))
            let second = try #require(identity.certificate)
            #expect(first.serial != second.serial && second.notAfter > first.notAfter)
            // Expired and not renewed: no certificate to serve.
            s.clock.advance(61)
            #expect(identity.certificate == nil)
        }
    }

    @Test("A model digest the evidence bound is certified in a version-2 extension; unbound, none; malformed, no token")
    func modelDigest() async throws {
        try await S.withBroker { s in
            let model = try #require(WorkloadClass("model:smollm2"))
            _ = try await s.broker.enrol(WorkloadEnrolment(workload: model, names: ["127.0.0.1"], maxValiditySeconds: 600), by: s.admin).get()
            let digest = "sha256:" + String(repeating: "ab", count: 32)
            let identity = WorkloadIdentity(workload: model, now: s.clock.now)
            let leases = LeaseManager(
                client: InProcessBrokerClient(broker: s.broker), attester: s.tee, maxLease: 30, now: s.clock.now, logger: Logger(label: "test"),
                identity: identity, modelDigest: digest)
            #expect(await leases.acquire(resources: [S.acmeInternal]))
            let certificate = try #require(identity.certificate)
            let ext = try #require(WorkloadExtension(try Self.leaf(certificate)))
            #expect(ext.workload == "model:smollm2" && ext.modelDigest == digest)
            // The version-2 encoding parses back, and a version-1 one (no digest) still does.
            let reparsed = try WorkloadExtension(derEncoded: try ext.certificateExtension().value)
            #expect(reparsed == ext)
            var v1 = ext
            v1.modelDigest = nil
            #expect(try WorkloadExtension(derEncoded: try v1.certificateExtension().value) == v1)
            // Without a digest in the runtime data, the certificate carries none.
            let plain = WorkloadIdentity(workload: model, now: s.clock.now)
            let plainLeases = LeaseManager(
                client: InProcessBrokerClient(broker: s.broker), attester: s.tee, maxLease: 30, now: s.clock.now, logger: Logger(label: "test"),
                identity: plain)
            #expect(await plainLeases.acquire(resources: [S.acmeInternal]))
            let plainCertificate = try #require(plain.certificate)
            #expect(WorkloadExtension(try Self.leaf(plainCertificate))?.modelDigest == nil)
            #expect(WorkloadExtension(try Self.leaf(plainCertificate))?.workload == "model:smollm2")
            // A digest that is not sha256:<64 lowercase hex> is refused at attestation: no token, no certificate.
            let challenge = try #require(try? await s.broker.auth(version: "0.1.0", tee: .mock).get())
            let runtime = RuntimeData(
                nonce: challenge.nonce, teePublicKey: .ec(P256.KeyAgreement.PrivateKey().publicKey), workloadPublicKey: identity.publicJWK,
                modelDigest: "sha256:" + String(repeating: "AB", count: 32))
            let evidence = try s.tee.evidence(reportData: runtime.reportData, now: s.clock.now())
            guard case .denied(let denial) = await s.broker.attest(sessionID: challenge.sessionID, AttestRequest(runtimeData: runtime, evidence: evidence)) else {
                Issue.record("a malformed model digest was accepted")
                return
            }
            #expect(denial.reason == .malformedRequest && denial.rule == "runtime-data.model-digest")
        }
    }

    static func reason(_ outcome: CertificateOutcome) -> BrokerReason? {
        if case .denied(let d) = outcome { return d.reason }
        return nil
    }
}
