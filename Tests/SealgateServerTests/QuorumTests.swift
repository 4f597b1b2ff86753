import Foundation
import HummingbirdTesting
import KeyBroker
import Logging
import SealgateServer
import StorageSQLite
import Synchronization
import Testing

/// The broker's operational access policy over its admin HTTP API on loopback: quorum approval, bad approvals,
/// break-glass, restart, and the CLI (`keys propose | pending | approve`, `policy operations`).
@Suite("Operations policy: quorum approval, refused approvals, break-glass, persistence")
struct QuorumTests {
    static let quorumPolicy = """
        {"version": 1, "quorum": {"approvals": 2, "expiry_seconds": 600},
         "break_glass": {"credentials": ["oncall"], "max_seconds": 600}}
        """

    /// Creates credentials and returns their tokens: over HTTP, or with `broker` as start-up configuration does
    /// (under a quorum of k, creating more than k credentials over HTTP needs a proposal).
    static func credentials(_ client: any TestClientProtocol, admin: String, _ roles: [String: String], broker: KeyBroker? = nil) async throws
        -> [String: String]
    {
        var tokens: [String: String] = [:]
        if let broker {
            let setup = AdminCredential(name: "setup", tokenSHA256: "", roles: [.admin], createdAt: Date())
            for (name, role) in roles.sorted(by: { $0.key < $1.key }) {
                tokens[name] = try await broker.createCredential(name: name, roles: [try #require(AdminRole(rawValue: role))], by: setup).get()
            }
            return tokens
        }
        for (name, role) in roles.sorted(by: { $0.key < $1.key }) {
            let created = try await client.send(.post, "/admin/v0/credentials", key: admin, json: #"{"name": "\#(name)", "roles": ["\#(role)"]}"#)
            #expect(created.status == .created, "\(created.text)")
            tokens[name] = try #require(created.object["token"] as? String)
        }
        return tokens
    }

    static func reason(_ response: TestResponse) -> String { response.object["reason"] as? String ?? "(\(response.status.code)) \(response.text)" }

    @Test("k = 2: a direct shred is refused quorum_required; proposer, twice, wrong digest, revoked, expired approvals are refused; two approvals execute")
    func quorum() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let clock = TestClock()
        var options = BrokerOptions(port: 0, dataDir: dir.path + "/broker", now: clock.now, logger: Logger(label: "test"))
        options.operationsPolicyPath = try dir.write("ops.json", Self.quorumPolicy)
        let instance = try await SealgateBroker.build(options)
        let admin = try String(contentsOfFile: try #require(instance.bootstrapTokenPath), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let kept = Mutex("")
        try await instance.application.test(.live) { client in
            for tenant in ["acme", "globex", "initech", "umbrella"] {
                #expect(try await client.send(.post, "/admin/v0/tenants", key: admin, json: #"{"id": "\#(tenant)"}"#).status == .created)
            }
            let t = try await Self.credentials(
                client, admin: admin, ["alice": "admin", "bob": "admin", "carol": "admin", "eve": "admin", "dave": "reader", "oncall": "shredder"],
                broker: instance.broker)
            // Seven credentials can form a quorum of two: one admin may not mint an eighth directly.
            let minted = try await client.send(.post, "/admin/v0/credentials", key: admin, json: #"{"name": "puppet", "roles": ["admin"]}"#)
            #expect(minted.status == .forbidden && Self.reason(minted) == "quorum_required", "\(minted.text)")

            let direct = try await client.send(.post, "/admin/v0/tenants/acme/shred", key: admin, json: #"{"confirm": "acme"}"#)
            #expect(direct.status == .forbidden && Self.reason(direct) == "quorum_required", "\(direct.text)")
            #expect(direct.text.contains("keys propose"), "\(direct.text)")

            let policy = try await client.send(.get, "/admin/v0/operations-policy", key: t["dave"])
            #expect(policy.object["approvals"] as? Int == 2, "\(policy.text)")

            let byReader = try await client.send(.post, "/admin/v0/proposals", key: t["dave"], json: #"{"action": "shred", "target": "acme"}"#)
            #expect(byReader.status == .forbidden && Self.reason(byReader) == "role_missing", "\(byReader.text)")
            let unknownTenant = try await client.send(.post, "/admin/v0/proposals", key: t["alice"], json: #"{"action": "shred", "target": "nobody"}"#)
            #expect(unknownTenant.status == .notFound, "\(unknownTenant.text)")

            let proposed = try await client.send(.post, "/admin/v0/proposals", key: t["alice"], json: #"{"action": "shred", "target": "acme"}"#)
            #expect(proposed.status == .created, "\(proposed.text)")
            let id = try #require(proposed.object["id"] as? String)
            let digest = try #require(proposed.object["digest"] as? String)
            #expect(proposed.object["state"] as? String == "pending" && proposed.object["required"] as? Int == 2)
            let listed = try await client.send(.get, "/admin/v0/proposals", key: t["dave"])
            #expect(listed.text.contains(digest), "\(listed.text)")

            func approve(_ who: String, digest: String = digest, id: String = id) async throws -> TestResponse {
                try await client.send(.post, "/admin/v0/proposals/\(id)/approve", key: t[who], json: #"{"digest": "\#(digest)"}"#)
            }
            let byProposer = try await approve("alice")
            #expect(byProposer.status == .forbidden && Self.reason(byProposer) == "proposal_self_approval", "\(byProposer.text)")
            let wrongDigest = try await approve("bob", digest: String(repeating: "0", count: 64))
            #expect(wrongDigest.status == .conflict && Self.reason(wrongDigest) == "proposal_digest_mismatch", "\(wrongDigest.text)")
            let first = try await approve("bob")
            #expect(first.status == .ok && first.object["state"] as? String == "pending", "\(first.text)")
            let twice = try await approve("bob")
            #expect(twice.status == .conflict && Self.reason(twice) == "proposal_already_approved", "\(twice.text)")

            // Revoking eve is itself a quorum action: proposed by alice, approved by bob and carol.
            let revoke = try await client.send(.post, "/admin/v0/proposals", key: t["alice"], json: #"{"action": "revoke_credential", "target": "eve"}"#)
            let revokeID = try #require(revoke.object["id"] as? String)
            let revokeDigest = try #require(revoke.object["digest"] as? String)
            #expect(try await approve("bob", digest: revokeDigest, id: revokeID).object["state"] as? String == "pending")
            let revoked = try await approve("carol", digest: revokeDigest, id: revokeID)
            #expect(revoked.object["state"] as? String == "executed", "\(revoked.text)")
            let byRevoked = try await approve("eve")
            #expect(byRevoked.status == .unauthorized && Self.reason(byRevoked) == "credential_revoked", "\(byRevoked.text)")

            #expect(try await client.send(.get, "/admin/v0/tenants", key: admin).text.contains(#""id":"acme","state":"active""#))
            let executed = try await approve("carol")
            #expect(executed.status == .ok && executed.object["state"] as? String == "executed", "\(executed.text)")
            #expect(executed.object["approvals"] as? [String] == ["bob", "carol"])
            #expect(try await client.send(.get, "/admin/v0/tenants", key: admin).text.contains(#""id":"acme","state":"shredded""#))
            let afterwards = try await approve("dave")
            #expect(afterwards.status == .forbidden, "a reader cannot approve a shred: \(afterwards.text)")

            // Expiry.
            let rotate = try await client.send(.post, "/admin/v0/proposals", key: t["alice"], json: #"{"action": "rotate_ca"}"#)
            let rotateID = try #require(rotate.object["id"] as? String)
            clock.advance(601)
            let late = try await approve("bob", digest: try #require(rotate.object["digest"] as? String), id: rotateID)
            #expect(late.status == .conflict && Self.reason(late) == "proposal_expired", "\(late.text)")

            // Break-glass: only named credentials, only up to max_seconds, only until it ends.
            let notNamed = try await client.send(.post, "/admin/v0/break-glass", key: t["alice"], json: #"{"name": "INC-1", "seconds": 300}"#)
            #expect(notNamed.status == .forbidden && Self.reason(notNamed) == "break_glass_not_permitted", "\(notNamed.text)")
            let tooLong = try await client.send(.post, "/admin/v0/break-glass", key: t["oncall"], json: #"{"name": "INC-1", "seconds": 601}"#)
            #expect(Self.reason(tooLong) == "break_glass_not_permitted", "\(tooLong.text)")
            let glass = try await client.send(.post, "/admin/v0/break-glass", key: t["oncall"], json: #"{"name": "INC-1", "seconds": 300}"#)
            #expect(glass.status == .created, "\(glass.text)")
            let underGlass = try await client.send(.post, "/admin/v0/tenants/globex/shred", key: t["oncall"], json: #"{"confirm": "globex"}"#)
            #expect(underGlass.status == .ok, "\(underGlass.text)")
            clock.advance(301)
            let ended = try await client.send(.post, "/admin/v0/tenants/initech/shred", key: t["oncall"], json: #"{"confirm": "initech"}"#)
            #expect(Self.reason(ended) == "quorum_required", "\(ended.text)")

            // A proposal left pending for the restart below.
            let umbrella = try await client.send(.post, "/admin/v0/proposals", key: t["alice"], json: #"{"action": "shred", "target": "umbrella"}"#)
            let umbrellaDigest = try #require(umbrella.object["digest"] as? String)
            kept.withLock { $0 = umbrellaDigest }

            let metrics = try await client.send(.get, "/metrics", key: nil).text
            for reason in ["quorum_required", "proposal_self_approval", "proposal_already_approved", "proposal_digest_mismatch", "credential_revoked", "proposal_expired"] {
                #expect(metrics.contains("reason=\"\(reason)\""), "\(reason) not counted")
            }
        }
        let events = try String(contentsOfFile: dir.path + "/broker/security-events.jsonl", encoding: .utf8)
        for action in ["propose", "approve", "expire_proposal", "execute_proposal", "break_glass", "break_glass_use"] {
            #expect(events.contains("\"action\":\"\(action)\""), "no security event for \(action)")
        }
        #expect(events.contains("proposal_self_approval") && events.contains("credential_revoked"))
        #expect(!events.contains(admin))

        // The proposals are sealed in the store: one byte changed while the broker is down refuses its start.
        let pendingDigest = kept.withLock { $0 }
        let store = try await SQLiteBrokerStore(path: dir.path + "/broker/broker.sqlite", logger: Logger(label: "test"))
        let sealed = try #require(try await store.setting("admin.proposals"))
        #expect(!String(decoding: sealed, as: UTF8.self).contains(pendingDigest))
        var flipped = sealed
        flipped[flipped.count - 1] ^= 1
        try await store.putSetting("admin.proposals", flipped)
        await #expect(throws: KeyBrokerError.self) { _ = try await SealgateBroker.build(options) }
        // The same proposals written in clear (with another target): refused at start too (the database's records
        // are sealed, so nothing in clear is taken).
        let master = try MasterKey.load(path: dir.path + "/broker/master.key")
        let aad = Data("sealgate-broker-record-v1|admin.proposals".utf8)
        let text = String(decoding: try master.open(Data(sealed.dropFirst(4)), aad: aad), as: UTF8.self)
        #expect(text.contains(pendingDigest))
        let changed = Data(text.replacingOccurrences(of: #""target":"umbrella""#, with: #""target":"initech""#).utf8)
        try await store.putSetting("admin.proposals", changed)
        await #expect(throws: KeyBrokerError.self) { _ = try await SealgateBroker.build(options) }
        // Changed by a holder of the master key (or a broker bug), sealed: still listed after a restart, and the
        // digest its approvers saw is refused, because a proposal's digest covers its content.
        try await store.putSetting("admin.proposals", Data("SGS1".utf8) + (try master.seal(changed, aad: aad)))
        await store.close()
        let restarted = try await SealgateBroker.build(options)
        try await restarted.application.test(.live) { client in
            let listed = try await client.send(.get, "/admin/v0/proposals", key: admin)
            let pending = (try JSONSerialization.jsonObject(with: Data(listed.text.utf8)) as? [[String: Any]] ?? []).filter { $0["state"] as? String == "pending" }
            let proposal = try #require(pending.first { $0["digest"] as? String == pendingDigest }, "\(listed.text)")
            let id = try #require(proposal["id"] as? String)
            let changed = try await client.send(.post, "/admin/v0/proposals/\(id)/approve", key: admin, json: #"{"digest": "\#(pendingDigest)"}"#)
            #expect(changed.status == .conflict && Self.reason(changed) == "proposal_digest_mismatch", "\(changed.text)")
            #expect(try await client.send(.get, "/admin/v0/tenants", key: admin).text.contains(#""id":"initech","state":"active""#))
        }
    }

    @Test("k = 1 (no policy file): direct calls work; keys propose, pending (with the digest) and approve execute with one other credential")
    func cliQuorumOfOne() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let instance = try await SealgateBroker.build(BrokerOptions(port: 0, dataDir: dir.path + "/broker", logger: Logger(label: "test")))
        let tokenFile = try #require(instance.bootstrapTokenPath)
        let admin = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try await instance.application.test(.live) { client in
            let port = try #require(client.port)
            let connection = ["--broker", "http://127.0.0.1:\(port)", "--token-file", tokenFile]
            for tenant in ["acme", "globex"] { #expect(try await client.send(.post, "/admin/v0/tenants", key: admin, json: #"{"id": "\#(tenant)"}"#).status == .created) }
            let direct = try await client.send(.post, "/admin/v0/tenants/globex/shred", key: admin, json: #"{"confirm": "globex"}"#)
            #expect(direct.status == .ok, "\(direct.text)")
            // A payload that is not an object or array is refused (it once crashed the broker), and the broker keeps answering.
            let fragment = try await client.send(.post, "/admin/v0/proposals", key: admin, json: #"{"action": "rotate_ca", "payload": 0}"#)
            #expect(fragment.status == .badRequest && Self.reason(fragment) == "malformed_request", "\(fragment.text)")
            let notString = try await client.send(.post, "/admin/v0/proposals", key: admin, json: #"{"action": "shred", "target": 5}"#)
            #expect(notString.status == .badRequest, "\(notString.text)")
            let second = try await Self.credentials(client, admin: admin, ["second": "shredder", "third": "admin"])
            let secondFile = try dir.write("second-token", try #require(second["second"]))
            let thirdFile = try dir.write("third-token", try #require(second["third"]))

            let proposed = try await runCLI(["keys", "propose", "shred", "acme"] + connection)
            #expect(proposed.status == 0, "\(proposed.both)")
            let proposal = try verifyJSON(proposed.stdout)
            let id = try #require(proposal["id"] as? String)
            // Hex ids: a base64url id began with "-" one time in 64 and then read as an option to `keys approve`.
            #expect(id.count == 18 && id.allSatisfy { "0123456789abcdef".contains($0) }, "\(id)")
            let digest = try #require(proposal["digest"] as? String)
            let pending = try await runCLI(["keys", "pending"] + connection)
            #expect(pending.stdout.hasPrefix("ID") && pending.stdout.contains(id) && pending.stdout.contains(digest) && pending.stdout.contains("0/1"), "\(pending.both)")
            let own = try await runCLI(["keys", "approve", id, "--digest", digest] + connection)
            #expect(own.status == 3 && own.stdout.contains("proposal_self_approval"), "\(own.both)")
            let approved = try await runCLI(["keys", "approve", id, "--digest", digest, "--broker", "http://127.0.0.1:\(port)", "--token-file", secondFile])
            #expect(approved.status == 0 && approved.stdout.contains("\"state\":\"executed\""), "\(approved.both)")
            #expect(try await client.send(.get, "/admin/v0/tenants", key: admin).text.contains(#""id":"acme","state":"shredded""#))

            // A credential by proposal: the token is made by the CLI and written to --token-out; it works once executed.
            let tokenOut = dir.path + "/carol-token"
            let minting = try await runCLI(["keys", "propose", "create-credential", "carol", "--role", "reader", "--token-out", tokenOut] + connection)
            #expect(minting.status == 0, "\(minting.both)")
            let carolToken = try String(contentsOfFile: tokenOut, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(carolToken.hasPrefix("sgk_") && !minting.stdout.contains(carolToken))
            #expect(try await client.send(.get, "/admin/v0/tenants", key: carolToken).status == .unauthorized)
            let mintProposal = try verifyJSON(minting.stdout)
            let mintID = try #require(mintProposal["id"] as? String)
            let mintDigest = try #require(mintProposal["digest"] as? String)
            // Approving it needs the role of create_credential (admin): the shredder may not.
            let byShredder = try await runCLI(["keys", "approve", mintID, "--digest", mintDigest, "--broker", "http://127.0.0.1:\(port)", "--token-file", secondFile])
            #expect(byShredder.status == 3 && byShredder.stdout.contains("role_missing"), "\(byShredder.both)")
            let minted = try await runCLI(["keys", "approve", mintID, "--digest", mintDigest, "--broker", "http://127.0.0.1:\(port)", "--token-file", thirdFile])
            #expect(minted.status == 0 && minted.stdout.contains("\"state\":\"executed\""), "\(minted.both)")
            #expect(try await client.send(.get, "/admin/v0/tenants", key: carolToken).status == .ok)
            let again = try await runCLI(["keys", "propose", "create-credential", "dan", "--role", "reader", "--token-out", tokenOut] + connection)
            #expect(again.status != 0 && again.both.contains("exists"), "an existing --token-out file is never overwritten: \(again.both)")
        }
    }

    @Test("policy operations validates like policy explain: problems named (exit 2), a role refused (exit 3), the quorum explained")
    func explainCLI() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let good = try dir.write("ops.json", Self.quorumPolicy)
        let shred = try await runCLI(["policy", "operations", "--policy", good, "--action", "shred", "--roles", "shredder"])
        #expect(shred.status == 0 && shred.stdout.contains("quorum_required") && shred.stdout.contains("2 distinct credentials"), "\(shred.both)")
        let reader = try await runCLI(["policy", "operations", "--policy", good, "--action", "shred", "--roles", "reader", "--json"])
        #expect(reader.status == 3, "\(reader.both)")
        #expect(try verifyJSON(reader.stdout)["allowed"] as? Bool == false)
        let bad = try dir.write(
            "bad.json", #"{"version": 1, "quorum": {"approvals": 0, "actions": ["create_tenant"]}, "roles": {"shred": ["nobody"]}, "extra": 1}"#)
        let refused = try await runCLI(["policy", "operations", "--policy", bad])
        #expect(refused.status == 2, "\(refused.both)")
        for problem in ["extra: unknown field", "quorum.approvals", "quorum.actions", "roles.shred"] {
            #expect(refused.stderr.contains(problem), "\(problem): \(refused.stderr)")
        }
        // The broker refuses to start on the same file.
        var options = BrokerOptions(port: 0, dataDir: dir.path + "/broker", logger: Logger(label: "test"))
        options.operationsPolicyPath = bad
        await #expect(throws: (any Error).self) { _ = try await SealgateBroker.build(options) }
    }
}
