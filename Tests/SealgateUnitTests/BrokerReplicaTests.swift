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

    @Test("An enrolment made at A holds at B; enrolments made at A and B at once are both kept; a CA rotated at A is in B's bundle")
    func enrolmentsAndCAPropagate() async throws {
        try await KeyBrokerTests.withBroker { a in
            let b = try await Self.replicas(a)
            #expect(try await b.broker.caCertificates().count == 1)
            #expect(try await b.broker.enrolments().isEmpty)
            _ = try await a.broker.enrol(WorkloadEnrolment(workload: .gateway, names: ["gateway.example"], maxValiditySeconds: 600), by: a.admin).get()
            #expect(try await b.broker.enrolments()[.gateway]?.names == ["gateway.example"])

            let models = try ["model:alpha", "model:beta", "model:gamma", "model:delta"].map { try #require(WorkloadClass($0)) }
            await withTaskGroup(of: Void.self) { group in
                for (i, workload) in models.enumerated() {
                    let broker = i.isMultiple(of: 2) ? a.broker : b.broker
                    let admin = a.admin
                    group.addTask { _ = await broker.enrol(WorkloadEnrolment(workload: workload, names: ["\(i).model.example"], maxValiditySeconds: 600), by: admin) }
                }
            }
            #expect(Set(try await a.broker.enrolments().keys) == Set(models + [.gateway]))
            #expect(Set(try await b.broker.enrolments().keys) == Set(models + [.gateway]))

            let before = try await b.broker.caCertificates()
            #expect(try await a.broker.rotateCA(by: a.admin).get() == 2)
            let after = try await b.broker.caCertificates()
            let atA = try await a.broker.caCertificates()
            #expect(after.count == 2 && after[1] == before[0] && after == atA)
        }
    }

    @Test("Two brokers that read the same enrolments, policies or admins before writing keep both changes, or refuse the one that would leave no admin")
    func readModifyWriteRaces() async throws {
        try await KeyBrokerTests.withBroker { s in
            let held = HeldReadStore(base: s.store)
            func broker() throws -> KeyBroker {
                KeyBroker(
                    verifiers: [], referenceValues: ReferenceValues(sets: [], acceptMockEvidence: false), policies: try PolicySet([]), store: held,
                    protector: try MasterKey(raw: Data(repeating: 7, count: 32)), tokenKey: P256.Signing.PrivateKey())
            }
            let (a, b) = (try broker(), try broker())
            let (modelOne, modelTwo) = (try #require(WorkloadClass("model:one")), try #require(WorkloadClass("model:two")))
            held.holdReads(of: "workload_enrolments", readers: 2)
            async let first = a.enrol(WorkloadEnrolment(workload: modelOne, names: ["one.example"], maxValiditySeconds: 600), by: s.admin)
            async let second = b.enrol(WorkloadEnrolment(workload: modelTwo, names: ["two.example"], maxValiditySeconds: 600), by: s.admin)
            _ = try await (first.get(), second.get())
            #expect(Set(try await a.enrolments().keys.map(\.description)) == ["model:one", "model:two"])

            // Two brokers revoking the last two admins at once: both pass their own check, the record's update
            // refuses the second, and one admin remains.
            _ = try await a.createCredential(name: "admin-one", roles: [.admin], by: s.admin).get()
            _ = try await a.createCredential(name: "admin-two", roles: [.admin], by: s.admin).get()
            held.holdReads(of: "trust.admin_credentials", readers: 2)
            async let revokeOne = a.revokeCredential(name: "admin-one", by: s.admin)
            async let revokeTwo = b.revokeCredential(name: "admin-two", by: s.admin)
            let outcomes = await [revokeOne, revokeTwo]
            let refused = outcomes.compactMap { outcome -> BrokerReason? in
                if case .failure(let denial) = outcome { return denial.reason }
                return nil
            }
            #expect(refused == [.conflict], "\(outcomes)")
            #expect(try await b.credentialSummaries().count == 1)
            let policies = try ReleasePolicyLoader.decode(Data(#"""
                [{"id": "p-one", "applies_to": {"tenant": "acme"}, "rule": {"field": "status", "equals": "affirming"}},
                 {"id": "p-two", "applies_to": {"tenant": "globex"}, "rule": {"field": "status", "equals": "affirming"}}]
                """#.utf8))
            held.holdReads(of: "trust.policies", readers: 2)
            async let put1 = a.putPolicies([policies[0]], by: s.admin)
            async let put2 = b.putPolicies([policies[1]], by: s.admin)
            _ = try await (put1.get(), put2.get())
            let c = try broker()
            try await c.load(overrideReferenceValues: false)
            #expect(Set(await c.policies.map(\.id)).isSuperset(of: ["p-one", "p-two"]))
        }
    }

    @Test("A broker given its policies by configuration (the gateway's embedded one) never takes policies from the store, whatever generation it finds")
    func configuredBrokerKeepsItsPolicies() async throws {
        try await KeyBrokerTests.withBroker { a in
            // `a` was given its policies (acme's restricted class needs hardware evidence) and never loaded them from
            // the store, like the embedded broker; another broker on the store stores an unrelated policy set.
            let other = KeyBroker(
                verifiers: [], referenceValues: await a.broker.referenceValues, policies: try PolicySet([]), store: a.store,
                protector: try MasterKey(raw: Data(repeating: 7, count: 32)), tokenKey: P256.Signing.PrivateKey())
            try await other.load(overrideReferenceValues: false)
            let loose = try ReleasePolicyLoader.decode(Data(#"[{"id": "globex-any", "applies_to": {"tenant": "globex"}, "rule": {"field": "status", "equals": "warning"}}]"#.utf8))
            _ = try await other.putPolicies(loose, by: a.admin).get()
            #expect(try await Self.release(a, "acme/kek/restricted") == .mockEvidenceNotPermitted)
            #expect(await a.broker.policies.map(\.id) == ["acme-restricted-hardware"])
        }
    }
}
