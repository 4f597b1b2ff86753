import Attestation
import Crypto
import Foundation
import JOSE
import KeyBroker
import KeyLease
import Logging
import ReleasePolicy
import SealgateCore
import StorageSQLite
import Synchronization
import Testing
import _CryptoExtras

@Suite("Key broker: RCAR exchange, release policies, JWE release, admin roles, rotation and shredding")
struct KeyBrokerTests {
    final class Clock: Sendable {
        let value = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        var now: @Sendable () -> Date { { self.value.withLock { $0 } } }
        func advance(_ s: TimeInterval) { value.withLock { $0 = $0.addingTimeInterval(s) } }
    }

    static let acmeInternal = ResourcePath(tenant: TenantID(unchecked: "acme"), dataClass: DataClass(unchecked: "internal"))
    static let acmeRestricted = ResourcePath(tenant: TenantID(unchecked: "acme"), dataClass: DataClass(unchecked: "restricted"))
    static let globexInternal = ResourcePath(tenant: TenantID(unchecked: "globex"), dataClass: DataClass(unchecked: "internal"))

    struct Setup {
        let broker: KeyBroker
        let tee: MockTEE
        let clock: Clock
        let store: SQLiteBrokerStore
        let admin: AdminCredential
        let events: Events
    }

    final class Events: Sendable {
        let list = Mutex<[String]>([])
        func withLock<T>(_ body: (inout [String]) -> T) -> T { list.withLock { body(&$0) } }
    }

    /// A broker on a real SQLite file: acme and globex with internal and restricted KEKs; mock evidence from the
    /// reference set `gateway-a` may read everything but acme's restricted class, which needs hardware evidence.
    static func setup(policies: String? = nil) async throws -> Setup {
        let clock = Clock()
        let tee = MockTEE(signingKey: P256.Signing.PrivateKey(), measurement: MockMeasurement(executableDigest: String(repeating: "aa", count: 48), policyDigest: String(repeating: "bb", count: 32)))
        let values = ReferenceValues(
            sets: [ReferenceValueSet(id: "gateway-a", tee: .mock, measurements: [tee.measurement.measurement], minSVN: 1)], acceptMockEvidence: true,
            mockSigners: [tee.signingKey.publicKey.pemRepresentation])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("broker-\(UUID().uuidString)").path
        let store = try await SQLiteBrokerStore(path: directory + "/broker.sqlite", logger: Logger(label: "test"))
        let json = policies ?? #"""
            [{"id": "acme-restricted-hardware", "applies_to": {"tenant": "acme", "data_class": "restricted"},
              "rule": {"field": "status", "equals": "affirming", "reason": "mock_evidence_not_permitted"}}]
            """#
        let events = Events()
        let broker = KeyBroker(
            verifiers: [], referenceValues: values, policies: try PolicySet(try ReleasePolicyLoader.decode(Data(json.utf8))), store: store,
            protector: try MasterKey(raw: Data(repeating: 7, count: 32)), tokenKey: P256.Signing.PrivateKey(), tokenTTL: 60, now: clock.now,
            onEvent: { e in events.withLock { $0.append("\(e.kind.rawValue) \(e.resource ?? "-") \(e.decision.reason)") } })
        // As a broker's start-up does, before anything is stored.
        _ = try await broker.establishStoredRecords(.refuse)
        for resource in [acmeInternal, acmeRestricted, globexInternal] {
            try await broker.provision(tenant: resource.tenant, dataClass: resource.dataClass)
        }
        let admin = AdminCredential(name: "test-admin", tokenSHA256: "", roles: [.admin], createdAt: clock.now())
        return Setup(broker: broker, tee: tee, clock: clock, store: store, admin: admin, events: events)
    }

    /// Runs `body` against a fresh broker and closes its database afterwards, whatever happens.
    static func withBroker(policies: String? = nil, _ body: (Setup) async throws -> Void) async throws {
        let s = try await setup(policies: policies)
        do {
            try await body(s)
        } catch {
            await s.store.close()
            throw error
        }
        await s.store.close()
    }

    /// Runs auth and attest with a fresh P-256 key; returns the token and the private key.
    static func attest(_ s: Setup, bindNonce: String? = nil) async throws -> (String, P256.KeyAgreement.PrivateKey) {
        let challenge = try #require(try? await s.broker.auth(version: "0.1.0", tee: .mock).get())
        let key = P256.KeyAgreement.PrivateKey()
        let runtime = RuntimeData(nonce: challenge.nonce, teePublicKey: .ec(key.publicKey))
        let bound = RuntimeData(nonce: bindNonce ?? challenge.nonce, teePublicKey: .ec(key.publicKey))
        let evidence = try s.tee.evidence(reportData: bound.reportData, now: s.clock.now())
        guard case .token(let token, _) = await s.broker.attest(sessionID: challenge.sessionID, AttestRequest(runtimeData: runtime, evidence: evidence)) else {
            throw KeyBrokerError(.attestationContraindicated, "attestation refused")
        }
        return (token, key)
    }

    static func reason(_ outcome: ReleaseOutcome) -> BrokerReason? {
        if case .denied(let d) = outcome { return d.reason }
        return nil
    }

    @Test("A lease holds the released KEK until it expires; a class whose policy refuses mock evidence is not released")
    func leaseLifecycle() async throws {
        try await Self.withBroker { s in
            let leases = LeaseManager(client: InProcessBrokerClient(broker: s.broker), attester: s.tee, maxLease: 30, now: s.clock.now, logger: Logger(label: "test"))
            #expect(await leases.acquire(resources: [Self.acmeInternal, Self.acmeRestricted]))
            #expect(await leases.keys(for: Self.acmeInternal)?.map(\.version) == [1])
            #expect(await leases.keys(for: Self.acmeRestricted) == nil)
            #expect(s.events.withLock { $0 }.contains("release acme/kek/restricted mock_evidence_not_permitted"))
            s.clock.advance(31)
            #expect(await leases.keys(for: Self.acmeInternal) == nil)
            #expect(await leases.isValid == false)
        }
    }

    @Test("The released JWE opens only with the attested key, for EC (ECDH-ES+A256KW) and RSA (RSA-OAEP-256) TEE keys")
    func jweRelease() async throws {
        try await Self.withBroker { s in
            let (token, key) = try await Self.attest(s)
            guard case .released(let jwe, let decision, let keyIDs) = await s.broker.resource(.token(token), path: "acme/kek/internal") else {
                Issue.record("release refused")
                return
            }
            #expect(decision.allowed && keyIDs == ["acme/kek/internal#1"])
            #expect(try JWE.protectedHeader(of: jwe)["alg"] == "ECDH-ES+A256KW")
            #expect(try JWE.protectedHeader(of: jwe)["enc"] == "A256GCM")
            let release = try JSONDecoder().decode(KEKRelease.self, from: try JWE.decrypt(jwe, with: .ec(key)))
            #expect(release.resource == "acme/kek/internal" && release.current == 1 && Base64URL.decode(release.versions[0].key)?.count == 32)
            #expect(throws: JOSEError.self) { try JWE.decrypt(jwe, with: .ec(P256.KeyAgreement.PrivateKey())) }

            // An RSA tee-pubkey gets RSA-OAEP-256.
            let rsa = try _RSA.Encryption.PrivateKey(keySize: .bits2048)
            let challenge = try await s.broker.auth(version: "0.1.0", tee: .mock).get()
            let runtime = RuntimeData(nonce: challenge.nonce, teePublicKey: try .rsa(rsa.publicKey))
            guard case .token(let rsaToken, _) = await s.broker.attest(
                sessionID: challenge.sessionID, AttestRequest(runtimeData: runtime, evidence: try s.tee.evidence(reportData: runtime.reportData, now: s.clock.now())))
            else {
                Issue.record("RSA key attestation refused")
                return
            }
            guard case .released(let rsaJWE, _, _) = await s.broker.resource(.token(rsaToken), path: "acme/kek/internal") else {
                Issue.record("RSA release refused")
                return
            }
            #expect(try JWE.protectedHeader(of: rsaJWE)["alg"] == "RSA-OAEP-256")
            let again = try JSONDecoder().decode(KEKRelease.self, from: try JWE.decrypt(rsaJWE, with: try .rsa(rsa)))
            #expect(again.versions == release.versions)
        }
    }

    @Test("Evidence bound to another nonce or key is refused; a nonce is single-use; sessions expire")
    func binding() async throws {
        try await Self.withBroker { s in
            await #expect(throws: KeyBrokerError.self) { _ = try await Self.attest(s, bindNonce: "another-nonce") }
            #expect(s.events.withLock { $0 }.last == "attestation - attestation_contraindicated")

            // Evidence bound to key A presented with key B.
            let challenge = try await s.broker.auth(version: "0.1.0", tee: .mock).get()
            let a = RuntimeData(nonce: challenge.nonce, teePublicKey: .ec(P256.KeyAgreement.PrivateKey().publicKey))
            let b = RuntimeData(nonce: challenge.nonce, teePublicKey: .ec(P256.KeyAgreement.PrivateKey().publicKey))
            let evidence = try s.tee.evidence(reportData: a.reportData, now: s.clock.now())
            guard case .denied(let swapped) = await s.broker.attest(sessionID: challenge.sessionID, AttestRequest(runtimeData: b, evidence: evidence)) else {
                Issue.record("evidence bound to another key was accepted")
                return
            }
            #expect(swapped.reason == .attestationContraindicated && swapped.result?.failures.map(\.reason) == [.reportDataMismatch])
            // The nonce was consumed by the failed attempt.
            guard case .denied(let replay) = await s.broker.attest(sessionID: challenge.sessionID, AttestRequest(runtimeData: a, evidence: evidence)) else {
                Issue.record("a consumed nonce was accepted")
                return
            }
            #expect(replay.reason == .unknownSession)

            // A successful session cannot attest twice.
            let fresh = try await s.broker.auth(version: "0.1.0", tee: .mock).get()
            let runtime = RuntimeData(nonce: fresh.nonce, teePublicKey: .ec(P256.KeyAgreement.PrivateKey().publicKey))
            let good = AttestRequest(runtimeData: runtime, evidence: try s.tee.evidence(reportData: runtime.reportData, now: s.clock.now()))
            guard case .token = await s.broker.attest(sessionID: fresh.sessionID, good) else {
                Issue.record("valid evidence refused")
                return
            }
            guard case .denied(let twice) = await s.broker.attest(sessionID: fresh.sessionID, good) else {
                Issue.record("a replayed attest was accepted")
                return
            }
            #expect(twice.reason == .nonceReplayed)

            // Expired session; unknown version; malformed JWK.
            let late = try await s.broker.auth(version: "0.1.0", tee: .mock).get()
            s.clock.advance(121)
            guard case .denied(let expired) = await s.broker.attest(sessionID: late.sessionID, good) else {
                Issue.record("an expired session was accepted")
                return
            }
            #expect(expired.reason == .sessionExpired)
            await #expect(throws: ReleaseDecision.self) { try await s.broker.auth(version: "9.9", tee: .mock).get() }
            let jwkSession = try await s.broker.auth(version: "0.1.0", tee: .mock).get()
            var bad = JWK.ec(P256.KeyAgreement.PrivateKey().publicKey)
            bad.x = "AAAA"
            let badRuntime = RuntimeData(nonce: jwkSession.nonce, teePublicKey: bad)
            guard case .denied(let malformed) = await s.broker.attest(
                sessionID: jwkSession.sessionID, AttestRequest(runtimeData: badRuntime, evidence: try s.tee.evidence(reportData: badRuntime.reportData, now: s.clock.now())))
            else {
                Issue.record("a malformed JWK was accepted")
                return
            }
            #expect(malformed.reason == .malformedJWK)

            // A valid key that forbids every algorithm the broker encrypts with gets no token (not a 500 later).
            for (use, alg) in [("sig", nil), (nil, "RSA1_5"), (nil, "ECDH-ES")] as [(String?, String?)] {
                let session = try await s.broker.auth(version: "0.1.0", tee: .mock).get()
                var key = JWK.ec(P256.KeyAgreement.PrivateKey().publicKey)
                key.use = use
                key.alg = alg
                let runtime = RuntimeData(nonce: session.nonce, teePublicKey: key)
                guard case .denied(let refused) = await s.broker.attest(
                    sessionID: session.sessionID, AttestRequest(runtimeData: runtime, evidence: try s.tee.evidence(reportData: runtime.reportData, now: s.clock.now())))
                else {
                    Issue.record("a key with use \(use ?? "-") alg \(alg ?? "-") was accepted")
                    continue
                }
                #expect(refused.reason == .malformedJWK)
            }
        }
    }

    @Test("Foreign, tampered and expired tokens and unknown resources release nothing")
    func tokens() async throws {
        try await Self.withBroker { s in
            let (token, _) = try await Self.attest(s)
            #expect(Self.reason(await s.broker.resource(.token(token), path: "acme/kek/internal")) == nil)
            #expect(Self.reason(await s.broker.resource(.token(token), path: "initech/kek/internal")) == .unknownResource)
            #expect(Self.reason(await s.broker.resource(.token(token), path: "acme/kek/secret-class")) == .unknownResource)
            #expect(Self.reason(await s.broker.resource(.token(token), path: "acme/unknown/internal")) == .unknownResource)
            #expect(Self.reason(await s.broker.resource(.token(token), path: "../../etc")) == .unknownResource)
            #expect(Self.reason(await s.broker.resource(.none, path: "acme/kek/internal")) == .unauthenticated)
            let parsed = try CompactJWS.parse(token)
            let foreign = try CompactJWS.sign(payload: parsed.payload, header: ["typ": "JWT"], key: P256.Signing.PrivateKey())
            #expect(Self.reason(await s.broker.resource(.token(foreign), path: "acme/kek/internal")) == .tokenInvalid)
            #expect(Self.reason(await s.broker.resource(.token(token + "x"), path: "acme/kek/internal")) == .tokenInvalid)
            // A token from another broker (another key and issuer).
            try await Self.withBroker { other in
                let (otherToken, _) = try await Self.attest(other)
                #expect(Self.reason(await s.broker.resource(.token(otherToken), path: "acme/kek/internal")) == .tokenInvalid)
            }
            s.clock.advance(61)
            #expect(Self.reason(await s.broker.resource(.token(token), path: "acme/kek/internal")) == .tokenExpired)
        }
    }

    @Test("A workload attested for one tenant cannot obtain another tenant's KEK")
    func tenantIsolation() async throws {
        let policy = #"[{"id": "globex-own-gateway", "applies_to": {"tenant": "globex"}, "rule": {"field": "reference_set", "in": ["gateway-globex"]}}]"#
        try await Self.withBroker(policies: policy) { s in
            let (token, _) = try await Self.attest(s)
            guard case .denied(let decision) = await s.broker.resource(.token(token), path: "globex/kek/internal") else {
                Issue.record("globex's KEK was released to acme's gateway")
                return
            }
            #expect(decision.reason.rawValue == "reference_set_not_allowed")
            #expect(decision.rule.hasPrefix("globex-own-gateway"))
            #expect(Self.reason(await s.broker.resource(.token(token), path: "acme/kek/internal")) == nil)
        }
    }

    @Test("Rotation keeps older versions releasable until retired; the current version cannot be retired")
    func rotation() async throws {
        try await Self.withBroker { s in
            let rotated = try await s.broker.rotate(tenant: "acme", dataClass: "internal", by: s.admin).get()
            #expect(rotated.version == 2)
            let (token, key) = try await Self.attest(s)
            guard case .released(let jwe, _, let ids) = await s.broker.resource(.token(token), path: "acme/kek/internal") else {
                Issue.record("release refused")
                return
            }
            #expect(ids == ["acme/kek/internal#1", "acme/kek/internal#2"])
            let release = try JSONDecoder().decode(KEKRelease.self, from: try JWE.decrypt(jwe, with: .ec(key)))
            #expect(release.current == 2 && release.versions.map(\.state) == ["decrypt_only", "active"])
            await #expect(throws: ReleaseDecision.self) { try await s.broker.retire(tenant: "acme", dataClass: "internal", version: 2, by: s.admin).get() }
            _ = try await s.broker.retire(tenant: "acme", dataClass: "internal", version: 1, by: s.admin).get()
            guard case .released(let after, _, _) = await s.broker.resource(.token(token), path: "acme/kek/internal") else {
                Issue.record("release refused after retire")
                return
            }
            let retired = try JSONDecoder().decode(KEKRelease.self, from: try JWE.decrypt(after, with: .ec(key)))
            #expect(retired.versions.map(\.version) == [2])
            // Its material is gone: a database writer who sets it active again gets no release of it.
            let stored = try await s.store.keks(tenant: Self.acmeInternal.tenant, dataClass: Self.acmeInternal.dataClass)
            #expect(stored.map(\.state) == [.retired, .active] && stored[0].sealedKey.isEmpty && !stored[1].sealedKey.isEmpty)
            try await s.store.setState(.active, tenant: Self.acmeInternal.tenant, dataClass: Self.acmeInternal.dataClass, version: 1)
            if case .released(let again, _, _) = await s.broker.resource(.token(token), path: "acme/kek/internal") {
                let versions = try JSONDecoder().decode(KEKRelease.self, from: try JWE.decrypt(again, with: .ec(key))).versions.map(\.version)
                #expect(!versions.contains(1), "a retired version was released again")
            }
        }
    }

    @Test("Shredding destroys one tenant's keys and leaves the other's")
    func shredding() async throws {
        try await Self.withBroker { s in
            #expect(try await s.broker.shred(tenant: "acme", by: s.admin).get() == 2)
            let stored = try await s.store.keks(tenant: TenantID(unchecked: "acme"))
            #expect(stored.allSatisfy { $0.state == .destroyed && $0.sealedKey.isEmpty })
            let (token, _) = try await Self.attest(s)
            #expect(Self.reason(await s.broker.resource(.token(token), path: "acme/kek/internal")) == .tenantShredded)
            #expect(Self.reason(await s.broker.resource(.token(token), path: "globex/kek/internal")) == nil)
            #expect(s.events.withLock { $0 }.contains("admin acme granted"))
            await #expect(throws: ReleaseDecision.self) { try await s.broker.rotate(tenant: "acme", dataClass: "internal", by: s.admin).get() }
        }
    }

    @Test("Admin calls without a credential or the role are refused and change nothing")
    func adminRoles() async throws {
        try await Self.withBroker { s in
            let bootstrap = try #require(try await s.broker.bootstrapAdmin())
            #expect(try await s.broker.bootstrapAdmin() == nil)
            let admin = try await s.broker.authorize(bootstrap, role: .shredder).get()
            let readerToken = try await s.broker.createCredential(name: "auditor", roles: [.reader], by: admin).get()
            let reader = try await s.broker.authorize(readerToken, role: .reader).get()
            #expect(reader.roles == [.reader])
            guard case .failure(let missing) = await s.broker.authorize(readerToken, role: .shredder) else {
                Issue.record("a reader was allowed to shred")
                return
            }
            #expect(missing.reason == .roleMissing)
            guard case .failure(let anonymous) = await s.broker.authorize("not-a-token", role: .reader) else {
                Issue.record("an unknown token was accepted")
                return
            }
            #expect(anonymous.reason == .adminUnauthenticated)
            let before = try await s.store.keks(tenant: TenantID(unchecked: "acme"))
            await #expect(throws: ReleaseDecision.self) { try await s.broker.createKEK(tenant: "acme", dataClass: "internal", by: admin).get() }
            await #expect(throws: ReleaseDecision.self) { try await s.broker.createTenant("acme", by: admin).get() }
            await #expect(throws: ReleaseDecision.self) { try await s.broker.createTenant("Bad Tenant!", by: admin).get() }
            #expect(try await s.store.keks(tenant: TenantID(unchecked: "acme")) == before)
        }
    }

    @Test("Credentials: names are tokens, a reader can be revoked, the last admin cannot")
    func credentials() async throws {
        try await Self.withBroker { s in
            let bootstrap = try #require(try await s.broker.bootstrapAdmin())
            let admin = try await s.broker.authorize(bootstrap, role: .admin).get()
            await #expect(throws: ReleaseDecision.self) { try await s.broker.createCredential(name: "a/b", roles: [.reader], by: admin).get() }
            let reader = try await s.broker.createCredential(name: "reader-1", roles: [.reader], by: admin).get()
            #expect(try await s.broker.revokeCredential(name: "reader-1", by: admin).get() == "reader-1")
            guard case .failure(let gone) = await s.broker.authorize(reader, role: .reader) else {
                Issue.record("a revoked credential still works")
                return
            }
            #expect(gone.reason == .credentialRevoked)  // a once-valid token is refused by name, and audited
            guard case .failure(let last) = await s.broker.revokeCredential(name: "bootstrap-admin", by: admin) else {
                Issue.record("the last admin was revoked")
                return
            }
            #expect(last.reason == .conflict)
        }
    }

    @Test("Policies decide before existence is revealed, and a policy's own reason code is marked as a policy decision")
    func policyBeforeExistence() async throws {
        let policy = #"[{"id": "no-initech", "applies_to": {"tenant": "initech"}, "rule": {"field": "status", "equals": "never", "reason": "storage_unavailable"}}]"#
        try await Self.withBroker(policies: policy) { s in
            let (token, _) = try await Self.attest(s)
            guard case .denied(let decision) = await s.broker.resource(.token(token), path: "initech/kek/internal") else {
                Issue.record("released a resource of an unknown tenant")
                return
            }
            // Not `unknown_resource`: the policy decided first, and its reason is flagged so HTTP maps it to 403 PolicyDeny.
            #expect(decision.reason.rawValue == "storage_unavailable" && decision.byPolicy && decision.rule.hasPrefix("no-initech"))
            guard case .denied(let unknown) = await s.broker.resource(.token(token), path: "umbrella/kek/internal") else {
                Issue.record("released a resource of an unknown tenant")
                return
            }
            #expect(unknown.reason == .unknownResource && !unknown.byPolicy)
        }
    }
}
