import Attestation
import Crypto
import Foundation
import KBSProtocol
import KeyBroker
import ReleasePolicy
import SealgateCore
import Testing

/// Two brokers on one database (as the Kubernetes base runs them): a policy or reference-value change made at one
/// holds at the other before its next decision. Before, each kept what it loaded at start, so a tightened policy
/// kept releasing at the replica that did not receive it (review finding).
@Suite("Broker replicas on one store: changes hold at every broker")
struct BrokerReplicaTests {
    /// Broker A (the setup's, its policies stored as in production) and broker B on the same store.
    static func replicas(_ s: KeyBrokerTests.Setup) async throws -> KeyBrokerTests.Setup {
        _ = try await s.broker.putPolicies(await s.broker.policies, by: s.admin).get()
        let b = KeyBroker(
            verifiers: [], referenceValues: await s.broker.referenceValues, policies: try PolicySet([]), store: s.store,
            protector: try MasterKey(raw: Data(repeating: 7, count: 32)), tokenKey: P256.Signing.PrivateKey(), tokenTTL: 60, now: s.clock.now)
        try await b.load(overrideReferenceValues: false)
        return KeyBrokerTests.Setup(broker: b, tee: s.tee, clock: s.clock, store: s.store, admin: s.admin, events: s.events)
    }

    static func release(_ s: KeyBrokerTests.Setup, _ path: String) async throws -> BrokerReason? {
        let (token, _) = try await KeyBrokerTests.attest(s)
        return KeyBrokerTests.reason(await s.broker.resource(.token(token), path: path))
    }

    @Test("A policy tightened at A refuses at B; deleted at A, B releases again; reference values emptied at A refuse attestation at B")
    func changesPropagate() async throws {
        try await KeyBrokerTests.withBroker { a in
            let b = try await Self.replicas(a)
            #expect(try await Self.release(b, "acme/kek/internal") == nil)
            #expect(await b.broker.policies.map(\.id) == ["acme-restricted-hardware"])

            let strict = try ReleasePolicyLoader.decode(Data(#"""
                [{"id": "acme-internal-hardware", "applies_to": {"tenant": "acme", "data_class": "internal"},
                  "rule": {"field": "status", "equals": "affirming", "reason": "mock_evidence_not_permitted"}}]
                """#.utf8))
            _ = try await a.broker.putPolicies(strict, by: a.admin).get()
            #expect(try await Self.release(b, "acme/kek/internal") == .mockEvidenceNotPermitted)
            #expect(Set(await b.broker.policies.map(\.id)) == ["acme-restricted-hardware", "acme-internal-hardware"])

            _ = try await a.broker.deletePolicy("acme-internal-hardware", by: a.admin).get()
            #expect(try await Self.release(b, "acme/kek/internal") == nil)

            let none = ReferenceValues(sets: [], acceptMockEvidence: true, mockSigners: [a.tee.signingKey.publicKey.pemRepresentation])
            _ = try await a.broker.setReferenceValues(none, by: a.admin).get()
            await #expect(throws: KeyBrokerError.self) { _ = try await KeyBrokerTests.attest(b) }
            #expect(await b.broker.referenceValues.sets.isEmpty)
        }
    }
}
