import Attestation
import Crypto
import Foundation
import KeyBroker
import Logging
import ReleasePolicy
import SealgateCore
import StorageSQLite
import Testing

/// The broker's release-controlling records (policies, reference values, admin credentials, settings) are sealed
/// under its master key, so whoever can write its database but does not hold the key cannot add an admin, loosen
/// or drop a policy, or approve a proposal (review finding: they were stored in clear). Real SQLite files; the
/// "database writer" is the store itself, used without the broker.
@Suite("Broker records sealed under the master key: forged, changed, moved or removed records are refused")
struct StoredRecordsTests {
    static let masterKey = Data(repeating: 7, count: 32)
    static let policyJSON = #"""
        [{"id": "acme-internal-hardware", "applies_to": {"tenant": "acme", "data_class": "internal"},
          "rule": {"field": "status", "equals": "affirming", "reason": "mock_evidence_not_permitted"}}]
        """#

    /// A broker on the store at `path` (with `key` as master key), loaded as `sealgate broker` loads it.
    static func broker(_ store: SQLiteBrokerStore, key: Data = masterKey) throws -> KeyBroker {
        KeyBroker(
            verifiers: [], referenceValues: ReferenceValues(sets: [], acceptMockEvidence: false), policies: try PolicySet([]), store: store,
            protector: try MasterKey(raw: key), tokenKey: P256.Signing.PrivateKey())
    }

    static func withStore(_ body: (String, SQLiteBrokerStore) async throws -> Void) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("records-\(UUID().uuidString)").path + "/broker.sqlite"
        let store = try await SQLiteBrokerStore(path: path, logger: Logger(label: "test"))
        do { try await body(path, store) } catch {
            await store.close()
            throw error
        }
        await store.close()
        try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
    }

    static let system = AdminCredential(name: "startup", tokenSHA256: "", roles: [.admin], createdAt: Date())

    /// A broker that started on an empty store, stored a policy, a tenant with a KEK, and its bootstrap admin.
    static func populated(_ store: SQLiteBrokerStore) async throws -> (KeyBroker, String) {
        let broker = try broker(store)
        let report = try await broker.load(overrideReferenceValues: false)
        #expect(Set(report.created) == ["trust.policies", "trust.reference_values", "trust.admin_credentials"] && report.adopted.isEmpty)
        _ = try await broker.putPolicies(try ReleasePolicyLoader.decode(Data(policyJSON.utf8)), by: system).get()
        try await broker.provision(tenant: TenantID(unchecked: "acme"), dataClass: DataClass(unchecked: "internal"))
        let token = try #require(try await broker.bootstrapAdmin())
        return (broker, token)
    }

    @Test("Nothing release-controlling is in clear; a credential row added to the table is no credential; a restart loads the sealed records")
    func sealedAtRest() async throws {
        try await Self.withStore { path, store in
            let (_, token) = try await Self.populated(store)
            // The tables an earlier release wrote are not used: no policy or credential row, and no setting in clear.
            #expect(try await store.policies().isEmpty)
            #expect(try await store.credentials().isEmpty)
            for name in ["trust.policies", "trust.admin_credentials", "trust.reference_values"] {
                let stored = try #require(try await store.setting(name))
                #expect(stored.starts(with: Data("SGS1".utf8)), "\(name) not sealed")
            }
            let file = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(file.range(of: Data("acme-internal-hardware".utf8)) == nil && file.range(of: Data("bootstrap-admin".utf8)) == nil)

            // A database writer inserts an admin credential of its own: it authenticates nothing.
            let forged = "sgk_forged-token"
            try await store.insertCredential(
                AdminCredential(name: "intruder", tokenSHA256: Hex.encode(SHA256.hash(data: Data(forged.utf8))), roles: [.admin], createdAt: Date()))
            let restarted = try Self.broker(store)
            let report = try await restarted.load(overrideReferenceValues: false)
            #expect(report.ignored == ["credentials: 1"] && report.adopted.isEmpty && report.created.isEmpty)
            guard case .failure(let denial) = await restarted.authenticate(forged) else {
                Issue.record("a credential inserted into the table authenticated")
                return
            }
            #expect(denial.reason == .adminUnauthenticated)
            #expect(try await restarted.authenticate(token).get().name == "bootstrap-admin")
            #expect(await restarted.policies.map(\.id) == ["acme-internal-hardware"])
        }
    }

    @Test("A changed record, one moved to another name, one sealed under another key, or one rewritten in clear refuses start")
    func tamperedRefused() async throws {
        try await Self.withStore { _, store in
            _ = try await Self.populated(store)
            let policies = try #require(try await store.setting("trust.policies"))
            let credentials = try #require(try await store.setting("trust.admin_credentials"))
            func refused(key: Data = Self.masterKey, _ unsealed: UnsealedRecords = .refuse) async -> String? {
                do {
                    _ = try await Self.broker(store, key: key).load(overrideReferenceValues: false, unsealed: unsealed)
                    return nil
                } catch { return "\(error)" }
            }
            #expect(await refused() == nil)
            #expect(await refused(key: Data(repeating: 8, count: 32))?.contains("failed authentication") == true)

            var changed = policies
            changed[changed.count / 2] ^= 0x20
            try await store.putSetting("trust.policies", changed)
            #expect(await refused()?.contains("trust.policies failed authentication") == true)
            // Whatever the broker is told: a sealed record that does not open is never adopted.
            #expect(await refused(.adoptAny)?.contains("failed authentication") == true)

            // The (valid) credentials record copied over the policies record: bound to its name, it does not open there.
            try await store.putSetting("trust.policies", credentials)
            #expect(await refused()?.contains("trust.policies failed authentication") == true)

            try await store.putSetting("trust.policies", policies)
            #expect(await refused() == nil)
            // An empty policy set written in clear over it (every policy dropped at once): in a database whose records
            // are sealed, nothing in clear is adopted, whatever the broker is told.
            try await store.putSetting("trust.policies", Data("{}".utf8))
            #expect(await refused()?.contains("in clear") == true)
            #expect(await refused(.adoptAny)?.contains("in clear") == true)
        }
    }

    @Test("A record removed while a broker runs is refused by it, not read as empty")
    func removedWhileRunning() async throws {
        try await Self.withStore { path, store in
            let (broker, token) = try await Self.populated(store)
            #expect(try await broker.authenticate(token).get().name == "bootstrap-admin")
            let before = try #require(try await store.setting("trust.admin_credentials"))
            try Self.sqlite(path, "DELETE FROM settings WHERE name = 'x.trust.admin_credentials'")
            guard case .failure(let denial) = await broker.authenticate(token) else {
                Issue.record("a removed credentials record still authenticated")
                return
            }
            #expect(denial.reason == .storageUnavailable)
            // A new broker refuses to start on it, whatever it is told: only a backup brings it back.
            for unsealed in [UnsealedRecords.refuse, .adoptAny] {
                do {
                    _ = try await Self.broker(store).load(overrideReferenceValues: false, unsealed: unsealed)
                    Issue.record("a broker started without its credentials record (\(unsealed))")
                } catch { #expect("\(error)".contains("missing") && "\(error)".contains("restore"), "\(error)") }
            }
            #expect(before.starts(with: Data("SGS1".utf8)))
        }
    }

    @Test("Emptying the tenants table, or every sealed record, does not make a used database look new")
    func notNewAgain() async throws {
        try await Self.withStore { path, store in
            _ = try await Self.populated(store)
            // The tenants and the policies record removed: the other records are sealed, so the policies were removed.
            try Self.sqlite(path, "DELETE FROM tenants")
            try Self.sqlite(path, "DELETE FROM settings WHERE name = 'x.trust.policies'")
            await #expect(throws: KeyBrokerError.self) { _ = try await Self.broker(store).load(overrideReferenceValues: false) }
            // Every sealed record removed too: the KEKs left say the database was used; nothing is begun empty.
            try Self.sqlite(path, "DELETE FROM settings WHERE name LIKE 'x.%'")
            do {
                _ = try await Self.broker(store).load(overrideReferenceValues: false)
                Issue.record("a database with keys and no records was taken for a new one")
            } catch { #expect("\(error)".contains("removed"), "\(error)") }
            #expect(try await store.setting("trust.policies") == nil)
        }
    }

    @Test("An earlier release's database (records in clear) refuses start until adopted; adoption seals them as found, leaves the old tables unread and zeroes retired key material")
    func adoption() async throws {
        try await Self.withStore { _, store in
            // What an earlier release left: a policy and a credential in their tables, reference values, a tenant,
            // and a setting in clear.
            let policy = try #require(try ReleasePolicyLoader.decode(Data(Self.policyJSON.utf8)).first)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try await store.putPolicy(id: policy.id, json: try encoder.encode(policy))
            let token = "sgk_old-admin"
            try await store.insertCredential(
                AdminCredential(name: "old-admin", tokenSHA256: Hex.encode(SHA256.hash(data: Data(token.utf8))), roles: [.admin], createdAt: Date()))
            let values = ReferenceValues(sets: [ReferenceValueSet(id: "kept", tee: .mock, measurements: [String(repeating: "ab", count: 48)])], acceptMockEvidence: true)
            try await store.putReferenceValues(try encoder.encode(values))
            try await store.insertTenant(BrokerTenant(id: "acme", createdAt: Date()))
            // A retired KEK version whose material that release kept: a writer setting it `active` again re-released it.
            let acme = TenantID(unchecked: "acme")
            try await store.insert(
                StoredKEK(tenant: acme, dataClass: DataClass(unchecked: "internal"), version: 1, sealedKey: Data(repeating: 9, count: 60), createdAt: Date(), state: .retired))
            try await store.putSetting("admin.revoked_credentials", Data("{}".utf8))

            // A pending proposal in clear (approvals could be planted in it): not carried over.
            try await store.putSetting("admin.proposals", Data(#"[{"id":"planted","approvals":["a","b"]}]"#.utf8))
            func refusal(_ unsealed: UnsealedRecords) async -> String {
                do {
                    _ = try await Self.broker(store).load(overrideReferenceValues: false, unsealed: unsealed)
                    return ""
                } catch { return "\(error)" }
            }
            let message = await refusal(.refuse)
            for part in ["policies acme-internal-hardware", "admin credentials old-admin (admin; token \(Hex.encode(SHA256.hash(data: Data(token.utf8))).prefix(8)))", "sets kept", "accept_mock_evidence true",
                         "settings admin.revoked_credentials", "not carried over: admin.proposals", "--adopt-unsealed-records "] {
                #expect(message.contains(part), "\(part) not in: \(message)")
            }
            let digest = try #require(message.split(separator: " ").last.map(String.init))
            #expect(digest.count == 64 && !message.contains("sgk_") && !message.contains("ab" + String(repeating: "ab", count: 10)))
            // A digest of other content (the database changed since the refusal) adopts nothing.
            #expect(await refusal(.adopt(digest: String(repeating: "0", count: 64))).contains("not those the digest"))
            try await store.putSetting("admin.break_glass", Data("[]".utf8))
            #expect(await refusal(.adopt(digest: digest)).contains("not those the digest"))
            try await store.putSetting("admin.break_glass", Data(#"[{"credential":"old-admin","name":"x","expires_at":"2099-01-01T00:00:00Z"}]"#.utf8))
            let again = await refusal(.refuse)
            let current = try #require(again.split(separator: " ").last.map(String.init))

            let broker = try Self.broker(store)
            let report = try await broker.load(overrideReferenceValues: false, unsealed: .adopt(digest: current))
            #expect(Set(report.adopted) == ["admin.revoked_credentials", "trust.policies", "trust.admin_credentials", "trust.reference_values"])
            #expect(Set(report.dropped) == ["admin.proposals", "admin.break_glass"])
            #expect(await broker.policies.map(\.id) == ["acme-internal-hardware"])
            #expect(await broker.referenceValues.sets.map(\.id) == ["kept"])
            #expect(try await broker.authenticate(token).get().name == "old-admin")
            #expect(try await broker.proposals().isEmpty)
            #expect(try await store.keks(tenant: acme).map(\.sealedKey) == [Data()])
            // The earlier release's rows stay (a broker of that release still running keeps its policies), unread.
            #expect(try await store.policies().count == 1)
            #expect(try #require(try await store.setting("admin.revoked_credentials")).starts(with: Data("SGS1".utf8)))
            // The next start needs nothing more; the same flag left in place adopts nothing later.
            let next = try await Self.broker(store).load(overrideReferenceValues: false, unsealed: .adopt(digest: current))
            #expect(next.adopted.isEmpty && next.created.isEmpty && next.ignored == ["policies: 1", "credentials: 1"] && next.dropped.isEmpty)
            try await store.putSetting("admin.revoked_credentials", Data("{}".utf8))
            #expect(await refusal(.adopt(digest: current)).contains("in a database whose records are sealed"))
        }
    }

    @Test("A break-glass override counts only for a credential the operations policy allows one, and no longer than it allows")
    func breakGlassBounded() async throws {
        try await KeyBrokerTests.withBroker { s in
            await s.broker.setOperationsPolicy(
                try OperationsPolicy.decode(Data(#"{"version": 1, "quorum": {"approvals": 2, "actions": ["shred"]}, "break_glass": {"credentials": ["oncall"], "max_seconds": 3600}}"#.utf8)))
            let master = try MasterKey(raw: Self.masterKey)
            func plant(_ json: String) async throws {
                // Written with the master key: what only a broker (or a bug) could store.
                let sealed = try master.seal(Data(json.utf8), aad: Data("sealgate-broker-record-v1|admin.break_glass".utf8))
                try await s.store.putSetting("admin.break_glass", Data("SGS1".utf8) + sealed)
            }
            func shredReason(_ name: String) async -> BrokerReason? {
                let credential = AdminCredential(name: name, tokenSHA256: String(repeating: "ab", count: 32), roles: [.admin], createdAt: s.clock.now())
                if case .failure(let denial) = await s.broker.shred(tenant: "globex", by: credential) { return denial.reason }
                return nil
            }
            let soon = AuditRecord.timestamp(s.clock.now().addingTimeInterval(600))
            let late = AuditRecord.timestamp(s.clock.now().addingTimeInterval(86_400 * 365))
            try await plant(#"[{"credential": "intruder", "name": "x", "expires_at": "\#(soon)"}]"#)
            #expect(await shredReason("intruder") == .quorumRequired)
            try await plant(#"[{"credential": "oncall", "name": "x", "expires_at": "\#(late)"}]"#)
            #expect(await shredReason("oncall") == .quorumRequired)
            try await plant(#"[{"credential": "oncall", "name": "x", "expires_at": "\#(soon)"}]"#)
            #expect(await shredReason("oncall") == nil)
        }
    }

    @Test("With its sealed records removed and one harmless setting planted in clear, a database is not taken for an earlier release's")
    func plantedSettingIsNoUpgrade() async throws {
        try await Self.withStore { path, store in
            _ = try await Self.populated(store)
            try Self.sqlite(path, "DELETE FROM settings WHERE name LIKE 'x.%'")
            try await store.putSetting("admin.proposals", Data("[]".utf8))
            for unsealed in [UnsealedRecords.refuse, .adopt(digest: String(repeating: "a", count: 64))] {
                do {
                    _ = try await Self.broker(store).load(overrideReferenceValues: false, unsealed: unsealed)
                    Issue.record("adopted a database whose records were removed")
                } catch { #expect("\(error)".contains("no admin credential") && !"\(error)".contains("--adopt-unsealed-records"), "\(error)") }
            }
        }
    }

    @Test("An adoption that stopped after sealing the trust records is completed by the digest of the settings left in clear")
    func interruptedAdoption() async throws {
        try await Self.withStore { _, store in
            _ = try await Self.populated(store)
            // As a crash half-way leaves it: trust records sealed, a setting still in clear.
            try await store.putSetting("workload_enrolments", Data("[]".utf8))
            let message: String
            do {
                _ = try await Self.broker(store).load(overrideReferenceValues: false)
                message = ""
            } catch { message = "\(error)" }
            #expect(message.contains("half-way") && message.contains("settings workload_enrolments"), "\(message)")
            let digest = try #require(message.split(separator: " ").first { $0.count == 64 }.map(String.init))
            let report = try await Self.broker(store).load(overrideReferenceValues: false, unsealed: .adopt(digest: digest))
            #expect(report.adopted == ["workload_enrolments"])
            #expect(try #require(try await store.setting("workload_enrolments")).starts(with: Data("SGS1".utf8)))
        }
    }

    /// Runs one SQL statement on the file (Python's `sqlite3` module: the store has no call that removes a setting).
    static func sqlite(_ path: String, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()", path, sql]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "sqlite3 \(sql)")
    }
}
