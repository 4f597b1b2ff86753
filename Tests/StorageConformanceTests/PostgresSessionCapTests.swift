import Foundation
import KeyBroker
import Logging
import StoragePostgres
import Testing

/// The session cap holds across brokers on one database: opens are serialised by an advisory lock, so brokers racing
/// at the limit cannot each count below it and all insert (review finding).
@Suite("PostgreSQL sessions: the cap holds across brokers", .enabled(if: TestPostgres.present, Comment(rawValue: TestPostgres.absent)))
struct PostgresSessionCapTests {
    @Test("40 concurrent opens through two pools at a limit of 10: exactly 10 are opened")
    func cap() async throws {
        let url = try await TestPostgres.freshDatabase()
        let pools = try (0..<2).map { _ in try PostgresStorage(url: url, logger: Logger(label: "test"), deadline: .seconds(60)) }
        var stores: [PostgresSessionStore] = []
        for pool in pools { stores.append(try await PostgresSessionStore(storage: pool)) }
        let now = Date()
        let opened = try await withThrowingTaskGroup(of: Bool.self) { group in
            for n in 0..<40 {
                let store = stores[n % 2]
                group.addTask {
                    let record = BrokerSessionRecord(
                        idDigest: Data((0..<32).map { _ in UInt8.random(in: 0...255) }), attested: false, expires: now.addingTimeInterval(600),
                        sealedState: Data([UInt8(n)]))
                    return try await store.open(record, now: now, limit: 10)
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(opened == 10)
        for pool in pools { await pool.close() }
    }
}
