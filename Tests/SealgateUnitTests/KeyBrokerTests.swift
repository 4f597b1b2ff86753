import Attestation
import Crypto
import Foundation
import KeyBroker
import KeyLease
import Logging
import SealgateCore
import Synchronization
import Testing

@Suite("In-process key release: nonce, binding, token, release rule")
struct KeyBrokerTests {
    final class Clock: Sendable {
        let value = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        var now: @Sendable () -> Date { { self.value.withLock { $0 } } }
        func advance(_ s: TimeInterval) { value.withLock { $0 = $0.addingTimeInterval(s) } }
    }

    static let acmeInternal = ResourcePath(tenant: TenantID(unchecked: "acme"), dataClass: DataClass(unchecked: "internal"))
    static let acmeRestricted = ResourcePath(tenant: TenantID(unchecked: "acme"), dataClass: DataClass(unchecked: "restricted"))

    struct Setup {
        let broker: KeyBroker
        let tee: MockTEE
        let clock: Clock
    }

    static func setup(mockAllowedFor classes: Set<String> = ["internal"]) async throws -> Setup {
        let clock = Clock()
        let tee = MockTEE(signingKey: P256.Signing.PrivateKey(), measurement: MockMeasurement(executableDigest: String(repeating: "aa", count: 48), policyDigest: String(repeating: "bb", count: 32)))
        let appraiser = Appraiser(
            referenceValues: ReferenceValues(sets: [ReferenceValueSet(id: "dev", tee: .mock, measurements: [tee.measurement.measurement], minSVN: 1)], acceptMockEvidence: true),
            verifiers: [MockEvidenceVerifier(trustedSigners: [tee.signingKey.publicKey])])
        let broker = KeyBroker(
            appraiser: appraiser, store: InMemoryKEKStore(), masterKey: try MasterKey(raw: Data(repeating: 7, count: 32)),
            tokenKey: P256.Signing.PrivateKey(), tokenTTL: 60, now: clock.now,
            rules: { tenant, dataClass in
                tenant.rawValue == "acme" && ["internal", "restricted"].contains(dataClass.rawValue)
                    ? ReleaseRule(allowMockEvidence: classes.contains(dataClass.rawValue)) : nil
            })
        try await broker.provision(tenant: acmeInternal.tenant, dataClass: acmeInternal.dataClass)
        try await broker.provision(tenant: acmeRestricted.tenant, dataClass: acmeRestricted.dataClass)
        return Setup(broker: broker, tee: tee, clock: clock)
    }

    @Test("A lease holds the released KEK until it expires")
    func leaseLifecycle() async throws {
        let s = try await Self.setup()
        let events = Mutex<[String]>([])
        let leases = LeaseManager(
            client: InProcessBrokerClient(broker: s.broker), attester: s.tee, maxLease: 30, now: s.clock.now,
            logger: Logger(label: "test"), onEvent: { e in events.withLock { $0.append("\(e.resource?.description ?? "-") \(e.decision.reason)") } })
        #expect(await leases.acquire(resources: [Self.acmeInternal, Self.acmeRestricted]))
        #expect(await leases.keys(for: Self.acmeInternal)?.map(\.version) == [1])
        // Mock evidence is not enough for the restricted class here.
        #expect(await leases.keys(for: Self.acmeRestricted) == nil)
        #expect(events.withLock { $0 }.contains("acme/kek/restricted mock_evidence_not_permitted"))
        s.clock.advance(31)
        #expect(await leases.keys(for: Self.acmeInternal) == nil)
        #expect(await leases.isValid == false)
    }

    @Test("The released key is the same on every release and unwraps only with the attested key")
    func releasesAreStable() async throws {
        let s = try await Self.setup()
        func lease() async -> SymmetricKey? {
            let manager = LeaseManager(client: InProcessBrokerClient(broker: s.broker), attester: s.tee, now: s.clock.now, logger: Logger(label: "t"))
            _ = await manager.acquire(resources: [Self.acmeInternal])
            return await manager.keys(for: Self.acmeInternal)?.first?.key
        }
        let first = try #require(await lease())
        let second = try #require(await lease())
        #expect(first == second)
    }

    @Test("Evidence bound to another nonce is refused")
    func wrongNonce() async throws {
        let s = try await Self.setup()
        let challenge = await s.broker.auth(tee: .mock)
        let key = P256.KeyAgreement.PrivateKey()
        let claimed = RuntimeData(nonce: challenge.nonce, teePublicKey: ECPublicJWK(key.publicKey))
        let bound = RuntimeData(nonce: "some-other-nonce", teePublicKey: ECPublicJWK(key.publicKey))
        let evidence = try s.tee.evidence(reportData: bound.reportData, now: s.clock.now())
        guard case .denied(let decision) = await s.broker.attest(sessionID: challenge.sessionID, runtimeData: claimed, evidence: evidence) else {
            Issue.record("attestation with a wrong binding was accepted")
            return
        }
        #expect(decision.reason == .attestationContraindicated)
        #expect(decision.result?.failures.map(\.reason) == [.reportDataMismatch])
    }

    @Test("A nonce is single-use and a mismatched nonce is refused")
    func replay() async throws {
        let s = try await Self.setup()
        let challenge = await s.broker.auth(tee: .mock)
        let key = P256.KeyAgreement.PrivateKey()
        let runtime = RuntimeData(nonce: challenge.nonce, teePublicKey: ECPublicJWK(key.publicKey))
        let evidence = try s.tee.evidence(reportData: runtime.reportData, now: s.clock.now())
        guard case .token = await s.broker.attest(sessionID: challenge.sessionID, runtimeData: runtime, evidence: evidence) else {
            Issue.record("valid evidence was refused")
            return
        }
        guard case .denied(let again) = await s.broker.attest(sessionID: challenge.sessionID, runtimeData: runtime, evidence: evidence) else {
            Issue.record("a replayed session was accepted")
            return
        }
        #expect(again.reason == .unknownSession)
        let other = await s.broker.auth(tee: .mock)
        guard case .denied(let mismatch) = await s.broker.attest(sessionID: other.sessionID, runtimeData: runtime, evidence: evidence) else {
            Issue.record("a mismatched nonce was accepted")
            return
        }
        #expect(mismatch.reason == .nonceMismatch)
    }

    @Test("Expired, forged and foreign-signer tokens release nothing; unknown resources are refused")
    func tokens() async throws {
        let s = try await Self.setup()
        let challenge = await s.broker.auth(tee: .mock)
        let key = P256.KeyAgreement.PrivateKey()
        let runtime = RuntimeData(nonce: challenge.nonce, teePublicKey: ECPublicJWK(key.publicKey))
        guard case .token(let token, _) = await s.broker.attest(sessionID: challenge.sessionID, runtimeData: runtime, evidence: try s.tee.evidence(reportData: runtime.reportData, now: s.clock.now())) else {
            Issue.record("valid evidence was refused")
            return
        }
        func reason(_ token: String, _ resource: ResourcePath) async -> BrokerReason? {
            if case .denied(let d) = await s.broker.release(token: token, resource: resource) { return d.reason }
            return nil
        }
        #expect(await reason(token, Self.acmeInternal) == nil)
        #expect(await reason(token, ResourcePath(tenant: TenantID(unchecked: "globex"), dataClass: DataClass(unchecked: "internal"))) == .unknownResource)
        let parsed = try CompactJWS.parse(token)
        let foreign = try CompactJWS.sign(payload: parsed.payload, header: ["typ": "JWT"], key: P256.Signing.PrivateKey())
        #expect(await reason(foreign, Self.acmeInternal) == .tokenInvalid)
        #expect(await reason(token + "x", Self.acmeInternal) == .tokenInvalid)
        s.clock.advance(61)
        #expect(await reason(token, Self.acmeInternal) == .tokenExpired)
    }
}
