import Foundation
import KeyBroker
import SealgateCore
import Testing

/// Every broker-store behaviour the key broker relies on, run against each backend (SQLite file, PostgreSQL).
@Suite("Broker store conformance (SQLite and PostgreSQL)")
struct BrokerStoreConformanceTests {
    static let acme = TenantID(unchecked: "acme")
    static let globex = TenantID(unchecked: "globex")
    static let internalClass = DataClass(unchecked: "internal")
    static let created = Date(timeIntervalSince1970: 1_800_000_000.5)

    @Test("Tenants and KEK versions: a duplicate is refused and changes nothing; retiring or destroying a version empties its material", arguments: Backend.enabled)
    func keks(_ backend: Backend) async throws {
        let (store, close) = try await backend.brokerStore()
        defer { Task { await close() } }
        try await store.insertTenant(BrokerTenant(id: "globex", createdAt: Self.created))
        try await store.insertTenant(BrokerTenant(id: "acme", createdAt: Self.created))
        await #expect(throws: SealgateError.self) { try await store.insertTenant(BrokerTenant(id: "acme", state: "shredded", createdAt: Self.created)) }
        #expect(try await store.tenants() == [BrokerTenant(id: "acme", createdAt: Self.created), BrokerTenant(id: "globex", createdAt: Self.created)])

        let v1 = StoredKEK(tenant: Self.acme, dataClass: Self.internalClass, version: 1, sealedKey: Data(repeating: 1, count: 60), createdAt: Self.created)
        let v2 = StoredKEK(tenant: Self.acme, dataClass: Self.internalClass, version: 2, sealedKey: Data(repeating: 2, count: 60), createdAt: Self.created)
        let r1 = StoredKEK(tenant: Self.acme, dataClass: DataClass(unchecked: "restricted"), version: 1, sealedKey: Data([3]), createdAt: Self.created)
        for kek in [v2, r1, v1] { try await store.insert(kek) }
        await #expect(throws: SealgateError.self) { try await store.insert(v1) }
        #expect(try await store.keks(tenant: Self.acme, dataClass: Self.internalClass) == [v1, v2])
        #expect(try await store.keks(tenant: Self.acme) == [v1, v2, r1])
        #expect(try await store.keks(tenant: Self.globex).isEmpty)

        try await store.setState(.retired, tenant: Self.acme, dataClass: Self.internalClass, version: 1)
        try await store.setState(.destroyed, tenant: Self.acme, dataClass: Self.internalClass, version: 2)
        let after = try await store.keks(tenant: Self.acme, dataClass: Self.internalClass)
        #expect(after.map(\.state) == [.retired, .destroyed])
        // A retired version is never released again: its material goes as a destroyed one's does.
        #expect(after[0].sealedKey.isEmpty && after[1].sealedKey.isEmpty)
        #expect(try await store.holdsKeyMaterial())
    }

    @Test("Secrets replace by name; shredding destroys one tenant's keys and secrets and leaves the other's", arguments: Backend.enabled)
    func secretsAndShredding(_ backend: Backend) async throws {
        let (store, close) = try await backend.brokerStore()
        defer { Task { await close() } }
        for id in ["acme", "globex"] { try await store.insertTenant(BrokerTenant(id: id, createdAt: Self.created)) }
        for tenant in [Self.acme, Self.globex] {
            try await store.insert(StoredKEK(tenant: tenant, dataClass: Self.internalClass, version: 1, sealedKey: Data([7, 7]), createdAt: Self.created))
            try await store.putSecret(StoredSecret(tenant: tenant, name: "gateway", sealedValue: Data([1]), createdAt: Self.created))
        }
        try await store.putSecret(StoredSecret(tenant: Self.acme, name: "gateway", sealedValue: Data([2]), createdAt: Self.created))
        try await store.putSecret(StoredSecret(tenant: Self.acme, name: "api", sealedValue: Data([3]), createdAt: Self.created))
        #expect(try await store.secret(tenant: Self.acme, name: "gateway")?.sealedValue == Data([2]))
        #expect(try await store.secretNames(tenant: Self.acme) == ["api", "gateway"])
        #expect(try await store.secret(tenant: Self.acme, name: "none") == nil)

        try await store.shred(tenant: Self.acme)
        #expect(try await store.keks(tenant: Self.acme).allSatisfy { $0.state == .destroyed && $0.sealedKey.isEmpty })
        #expect(try await store.secretNames(tenant: Self.acme).isEmpty)
        #expect(try await store.tenants().map(\.state) == ["shredded", "active"])
        #expect(try await store.keks(tenant: Self.globex).map(\.sealedKey) == [Data([7, 7])])
        #expect(try await store.secret(tenant: Self.globex, name: "gateway")?.sealedValue == Data([1]))
    }

    @Test("Policies, reference values, settings and admin credentials", arguments: Backend.enabled)
    func configuration(_ backend: Backend) async throws {
        let (store, close) = try await backend.brokerStore()
        defer { Task { await close() } }
        try await store.putPolicy(id: "b", json: Data("{}".utf8))
        try await store.putPolicy(id: "a", json: Data("[1]".utf8))
        try await store.putPolicy(id: "b", json: Data("{\"x\":1}".utf8))
        #expect(try await store.policies().map(\.id) == ["a", "b"])
        #expect(try await store.policies().last?.json == Data("{\"x\":1}".utf8))
        #expect(try await store.deletePolicy(id: "a"))
        #expect(try await !store.deletePolicy(id: "a"))

        #expect(try await store.referenceValues() == nil)
        try await store.putReferenceValues(Data("{\"sets\":[]}".utf8))
        try await store.putSetting("reference_values", Data("not the same".utf8))
        #expect(try await store.referenceValues() == Data("{\"sets\":[]}".utf8))
        #expect(try await store.setting("reference_values") == Data("not the same".utf8))
        try await store.putSetting("workload_ca", Data([1]))
        try await store.putSetting("workload_ca", Data([2]))
        #expect(try await store.setting("workload_ca") == Data([2]))
        #expect(try await store.setting("none") == nil)

        // Compare-and-swap: absent → set once; then only from the value it holds; a stale expectation changes nothing.
        #expect(try await store.replaceSetting("proposals", Data([1]), ifCurrent: nil))
        #expect(try await !store.replaceSetting("proposals", Data([9]), ifCurrent: nil))
        #expect(try await store.replaceSetting("proposals", Data([2]), ifCurrent: Data([1])))
        #expect(try await !store.replaceSetting("proposals", Data([3]), ifCurrent: Data([1])))
        #expect(try await store.setting("proposals") == Data([2]))

        let admin = AdminCredential(name: "root", tokenSHA256: String(repeating: "a", count: 64), roles: [.admin], createdAt: Self.created)
        let reader = AdminCredential(name: "audit", tokenSHA256: String(repeating: "b", count: 64), roles: [.reader, .shredder], createdAt: Self.created)
        try await store.insertCredential(admin)
        try await store.insertCredential(reader)
        await #expect(throws: SealgateError.self) {
            try await store.insertCredential(AdminCredential(name: "other", tokenSHA256: admin.tokenSHA256, roles: [.reader], createdAt: Self.created))
        }
        #expect(try await store.credential(tokenSHA256: reader.tokenSHA256) == reader)
        #expect(try await store.credentials() == [reader, admin])
        #expect(try await store.deleteCredential(name: "audit"))
        #expect(try await !store.deleteCredential(name: "audit"))
        #expect(try await store.credential(tokenSHA256: reader.tokenSHA256) == nil)
    }
}
