import Crypto
import Foundation
import KBSProtocol
import KeyBroker
import SealgateCore
import Testing

/// Under a quorum of 2, no single credential may loosen release or shred on its own: deleting a release policy and
/// minting a credential are quorum actions, and a credential created after a proposal is no approver of it.
@Suite("Broker quorum: no way around it for one credential")
struct QuorumBypassTests {
    static func quorum2() throws -> OperationsPolicy { try OperationsPolicy.decode(Data(#"{"version": 1, "quorum": {"approvals": 2}}"#.utf8)) }

    /// A credential with `roles` stored in the broker (so it is live), created now.
    static func credential(_ s: KeyBrokerTests.Setup, _ name: String, _ roles: [AdminRole]) async throws -> AdminCredential {
        let token = try await s.broker.createCredential(name: name, roles: roles, by: s.admin).get()
        return try await s.broker.authenticate(token).get()
    }

    @Test("delete_policy by one policy-manager is quorum_required; the policy still holds; a proposal approved by another executes it")
    func deletePolicyNeedsQuorum() async throws {
        try await KeyBrokerTests.withBroker { s in
            let mallory = try await Self.credential(s, "mallory", [.policyManager])
            let alice = try await Self.credential(s, "alice", [.policyManager])
            let bob = try await Self.credential(s, "bob", [.policyManager])
            await s.broker.setOperationsPolicy(try Self.quorum2())
            #expect(await s.broker.deletePolicy("acme-restricted-hardware", by: mallory).failureReason == .quorumRequired)
            let (token, _) = try await KeyBrokerTests.attest(s)
            #expect(KeyBrokerTests.reason(await s.broker.resource(.token(token), path: "acme/kek/restricted")) == .mockEvidenceNotPermitted)
            #expect(await s.broker.propose(action: "delete_policy", target: "no-such-policy", payload: nil, by: mallory).failureReason == .unknownResource)

            s.clock.advance(1)
            let proposal = try await s.broker.propose(action: "delete_policy", target: "acme-restricted-hardware", payload: nil, by: mallory).get()
            #expect(try await s.broker.approve(id: proposal.id, digest: proposal.digest, by: alice).get().state == "pending")
            #expect(await s.broker.policies.contains { $0.id == "acme-restricted-hardware" })
            #expect(try await s.broker.approve(id: proposal.id, digest: proposal.digest, by: bob).get().state == "executed")
            #expect(await !s.broker.policies.contains { $0.id == "acme-restricted-hardware" })
        }
    }

    @Test("Once a quorum can be formed, one admin cannot mint approvers: direct creation is quorum_required, and credentials made after a proposal are proposal_approver_too_new")
    func sockPuppets() async throws {
        try await KeyBrokerTests.withBroker { s in
            let mallory = try await Self.credential(s, "mallory", [.admin])
            for name in ["alice", "bob"] { _ = try await Self.credential(s, name, [.admin]) }
            await s.broker.setOperationsPolicy(try Self.quorum2())
            // Three credentials can form a quorum of two: minting a fourth directly is a quorum action.
            #expect(await s.broker.createCredential(name: "mallory-2", roles: [.admin], by: mallory).failureReason == .quorumRequired)
            s.clock.advance(1)
            let proposal = try await s.broker.propose(action: "shred", target: "acme", payload: nil, by: mallory).get()
            // Minted after the proposal (start-up configuration, which no quorum gates, stands in for the way in).
            s.clock.advance(1)
            for name in ["mallory-2", "mallory-3"] {
                let puppet = try await Self.credential(s, name, [.admin])
                #expect(await s.broker.approve(id: proposal.id, digest: proposal.digest, by: puppet).failureReason == .proposalApproverTooNew)
            }
            #expect(try await s.broker.listTenants().first { $0.id == "acme" }?.state == "active")
        }
    }

    @Test("Retiring a KEK version (not undoable) is a quorum action: direct is quorum_required, the current version cannot be proposed, two approvals retire it")
    func retireNeedsQuorum() async throws {
        try await KeyBrokerTests.withBroker { s in
            _ = try await s.broker.rotate(tenant: "acme", dataClass: "internal", by: s.admin).get()
            let keeper = try await Self.credential(s, "keeper", [.keyManager])
            let alice = try await Self.credential(s, "alice", [.keyManager])
            let bob = try await Self.credential(s, "bob", [.keyManager])
            await s.broker.setOperationsPolicy(try Self.quorum2())
            #expect(await s.broker.retire(tenant: "acme", dataClass: "internal", version: 1, by: keeper).failureReason == .quorumRequired)
            #expect(await s.broker.propose(action: "retire", target: "acme/kek/internal#2", payload: nil, by: keeper).failureReason == .conflict)
            #expect(await s.broker.propose(action: "retire", target: "acme/kek/internal", payload: nil, by: keeper).failureReason == .malformedRequest)
            s.clock.advance(1)
            let proposal = try await s.broker.propose(action: "retire", target: "acme/kek/internal#1", payload: nil, by: keeper).get()
            _ = try await s.broker.approve(id: proposal.id, digest: proposal.digest, by: alice).get()
            #expect(try await s.broker.approve(id: proposal.id, digest: proposal.digest, by: bob).get().state == "executed")
            let versions = try await s.store.keks(tenant: TenantID(unchecked: "acme"), dataClass: DataClass(unchecked: "internal"))
            #expect(versions.map(\.state) == [.retired, .active])
        }
    }

    @Test("A model key's digest and a workload's certificate names change what is trusted: quorum actions, executed after two approvals")
    func modelDigestAndEnrolment() async throws {
        try await KeyBrokerTests.withBroker { s in
            let digest = "sha256:" + String(repeating: "ab", count: 32)
            _ = try await s.broker.createModelKey(resource: "acme/model/llm", digest: "sha256:" + String(repeating: "cd", count: 32), by: s.admin).get()
            let keeper = try await Self.credential(s, "keeper", [.admin])
            let alice = try await Self.credential(s, "alice", [.admin])
            let bob = try await Self.credential(s, "bob", [.admin])
            await s.broker.setOperationsPolicy(try Self.quorum2())
            let workload = try #require(WorkloadClass("model:llm"))
            let enrolment = WorkloadEnrolment(workload: workload, names: ["llm.internal"])
            #expect(await s.broker.setModelDigest(resource: "acme/model/llm", digest: digest, by: keeper).failureReason == .quorumRequired)
            #expect(await s.broker.enrol(enrolment, by: keeper).failureReason == .quorumRequired)
            #expect(await s.broker.propose(action: "set_model_digest", target: "acme/model/llm", payload: Data(#"{"digest": "md5:1"}"#.utf8), by: keeper)
                .failureReason == .malformedRequest)
            #expect(await s.broker.propose(action: "set_model_digest", target: "acme/model/none", payload: Data(#"{"digest": "\#(digest)"}"#.utf8), by: keeper)
                .failureReason == .unknownResource)
            s.clock.advance(1)
            let change = try await s.broker.propose(action: "set_model_digest", target: "acme/model/llm", payload: Data(#"{"digest": "\#(digest)"}"#.utf8), by: keeper).get()
            let enrol = try await s.broker.propose(action: "enrol_workload", target: "model:llm", payload: try JSONEncoder().encode(enrolment), by: keeper).get()
            for proposal in [change, enrol] {
                _ = try await s.broker.approve(id: proposal.id, digest: proposal.digest, by: alice).get()
                #expect(try await s.broker.approve(id: proposal.id, digest: proposal.digest, by: bob).get().state == "executed", "\(proposal.action)")
            }
            #expect(try await s.broker.modelKeys(tenant: "acme").first?.digest == digest)
            #expect(try await s.broker.enrolments()[workload]?.names == ["llm.internal"])
        }
    }

    @Test("create_credential as a proposal: the proposer's token hash is stored once two older credentials approve; bad payloads are refused")
    func createCredentialProposal() async throws {
        try await KeyBrokerTests.withBroker { s in
            let proposer = try await Self.credential(s, "proposer", [.admin])
            let alice = try await Self.credential(s, "alice", [.admin])
            let bob = try await Self.credential(s, "bob", [.admin])
            await s.broker.setOperationsPolicy(try Self.quorum2())
            s.clock.advance(1)
            let token = "sgk_" + Base64URL.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
            let hash = Hex.encode(SHA256.hash(data: Data(token.utf8)))
            let payload = Data(#"{"roles": ["reader"], "token_sha256": "\#(hash)"}"#.utf8)
            for bad in [#"{"roles": ["reader"]}"#, #"{"roles": [], "token_sha256": "\#(hash)"}"#, #"{"roles": ["boss"], "token_sha256": "\#(hash)"}"#,
                        #"{"roles": ["reader"], "token_sha256": "\#(hash.uppercased())"}"#, #"{"roles": ["reader"], "token_sha256": "\#(hash)", "token": "x"}"#] {
                #expect(await s.broker.propose(action: "create_credential", target: "carol", payload: Data(bad.utf8), by: proposer).failureReason == .malformedRequest, "\(bad)")
            }
            #expect(await s.broker.propose(action: "create_credential", target: "alice", payload: payload, by: proposer).failureReason == .alreadyExists)
            let proposal = try await s.broker.propose(action: "create_credential", target: "carol", payload: payload, by: proposer).get()
            #expect(!proposal.payload.contains(token))
            #expect(await s.broker.authenticate(token).failureReason != nil, "not before the quorum")
            _ = try await s.broker.approve(id: proposal.id, digest: proposal.digest, by: alice).get()
            let executed = try await s.broker.approve(id: proposal.id, digest: proposal.digest, by: bob).get()
            #expect(executed.state == "executed", "\(executed)")
            let carol = try await s.broker.authenticate(token).get()
            #expect(carol.name == "carol" && carol.roles == [.reader])
        }
    }
}

extension Result where Failure == ReleaseDecision {
    /// The reason of a refused admin result, `nil` on success.
    fileprivate var failureReason: BrokerReason? {
        guard case .failure(let denial) = self else { return nil }
        return denial.reason
    }
}
