import Crypto
import Foundation
import KeyBroker
import Logging
import PostgresNIO
import SealgateCore
import StoragePostgres
import Testing

/// Crypto-shredding on PostgreSQL: an UPDATE leaves the old row version — the sealed KEK — in the table's file until
/// vacuum reuses the space, so the broker rewrites the key tables after destroying material (review finding: the
/// sealed bytes of a shredded tenant's KEK were still in the heap file after CHECKPOINT). The test reads the table's
/// file from disk, as someone with a copy of the database's files would; it needs a superuser on this machine.
@Suite("PostgreSQL: destroyed keys leave the database's files", .enabled(if: TestPostgres.present, Comment(rawValue: TestPostgres.absent)))
struct PostgresShredTests {
    /// The current file of `table`, read from disk after a checkpoint (nil when this role may not see it).
    static func tableFile(_ storage: PostgresStorage, _ table: String) async throws -> Data? {
        _ = try? await storage.query("CHECKPOINT", "checkpoint")
        guard let directory = try? await storage.query("SHOW data_directory", "data directory").first?.decode(String.self),
            let path = try await storage.query(PostgresQuery(unsafeSQL: "SELECT pg_relation_filepath('\(table)')"), "file").first?.decode(String.self)
        else { return nil }
        return try? Data(contentsOf: URL(fileURLWithPath: directory + "/" + path))
    }

    @Test("After a shred, and after one version is destroyed, the sealed key bytes are in no file of broker_keks")
    func shredLeavesNoMaterial() async throws {
        let storage = try PostgresStorage(url: try await TestPostgres.freshDatabase(), logger: Logger(label: "test"), deadline: .seconds(60))
        let store = try await PostgresBrokerStore(storage: storage)
        let acme = TenantID(unchecked: "acme")
        let (internal_, restricted) = (DataClass(unchecked: "internal"), DataClass(unchecked: "restricted"))
        let markers = (0..<2).map { _ in Data("SEALED-KEK-".utf8) + Data(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }) }
        try await store.insertTenant(BrokerTenant(id: acme.rawValue, createdAt: Date()))
        try await store.insert(StoredKEK(tenant: acme, dataClass: internal_, version: 1, sealedKey: markers[0], createdAt: Date()))
        try await store.insert(StoredKEK(tenant: acme, dataClass: restricted, version: 1, sealedKey: markers[1], createdAt: Date()))
        let before = try #require(try await Self.tableFile(storage, "broker_keks"), "the table file is not readable here: the test cannot check")
        #expect(before.range(of: markers[0]) != nil, "the marker is not in the file: the test tests nothing")

        try await store.setState(.destroyed, tenant: acme, dataClass: restricted, version: 1)
        #expect(try #require(try await Self.tableFile(storage, "broker_keks")).range(of: markers[1]) == nil)
        try await store.shred(tenant: acme)
        let after = try #require(try await Self.tableFile(storage, "broker_keks"))
        #expect(after.range(of: markers[0]) == nil && after.range(of: markers[1]) == nil)
        #expect(try await store.keks(tenant: acme).allSatisfy { $0.state == .destroyed && $0.sealedKey.isEmpty })
        await storage.close()
    }
}
