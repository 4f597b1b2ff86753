import Foundation
import KeyBroker
import PostgresNIO
import SealgateCore

/// RCAR sessions in PostgreSQL (table `broker_sessions`), shared by every broker on the database: the single-use
/// take is one `DELETE … RETURNING`, so of two brokers racing for a nonce exactly one gets it. Rows hold the id's
/// digest and the state sealed under the master key (``BrokerSessionRecord``).
public struct PostgresSessionStore: SessionStore {
    /// The database.
    public let storage: PostgresStorage

    /// The session table's schema versions (component `broker_sessions`).
    public static let migrations = SchemaMigrations(
        component: "broker_sessions",
        migrations: [
            [
                """
                CREATE TABLE broker_sessions (
                    id_digest BYTEA PRIMARY KEY, attested BOOLEAN NOT NULL, expires_at DOUBLE PRECISION NOT NULL, sealed_state BYTEA NOT NULL)
                """,
                "CREATE INDEX broker_sessions_expiry ON broker_sessions (expires_at)",
            ]
        ])

    /// Opens the store on `storage`, applying pending migrations.
    public init(storage: PostgresStorage) async throws {
        self.storage = storage
        try await Self.migrations.apply(on: storage)
    }

    static func record(_ row: PostgresRow) -> BrokerSessionRecord? {
        guard let (id, attested, expires, sealed) = try? row.decode((Data, Bool, Double, Data).self) else { return nil }
        return BrokerSessionRecord(idDigest: id, attested: attested, expires: Date(timeIntervalSince1970: expires), sealedState: sealed)
    }

    /// The advisory lock key that serialises session opens (an arbitrary constant: "sealgate sessions").
    static let openLockKey: Int64 = 0x5345_414C_5345_5353

    public func open(_ record: BrokerSessionRecord, now: Date, limit: Int) async throws -> Bool {
        let cutoff = now.timeIntervalSince1970
        return try await storage.transaction("open session") { connection, logger in
            // One open at a time across every broker on the database (held to the end of this short transaction):
            // otherwise two brokers could each count below the limit and both insert.
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.openLockKey))", logger: logger)
            try await connection.query("DELETE FROM broker_sessions WHERE expires_at <= \(cutoff)", logger: logger)
            var live = 0
            for try await count in try await connection.query("SELECT count(*) FROM broker_sessions", logger: logger).decode(Int.self) {
                live = count
            }
            guard live < limit else { return false }
            try await connection.query(
                """
                INSERT INTO broker_sessions (id_digest, attested, expires_at, sealed_state)
                VALUES (\(record.idDigest), \(record.attested), \(record.expires.timeIntervalSince1970), \(record.sealedState))
                """, logger: logger)
            return true
        }
    }

    public func takeChallenged(idDigest: Data) async throws -> BrokerSessionRecord? {
        try await storage.query(
            "DELETE FROM broker_sessions WHERE id_digest = \(idDigest) AND NOT attested RETURNING id_digest, attested, expires_at, sealed_state",
            "take session"
        ).first.flatMap(Self.record)
    }

    public func session(idDigest: Data) async throws -> BrokerSessionRecord? {
        try await storage.query(
            "SELECT id_digest, attested, expires_at, sealed_state FROM broker_sessions WHERE id_digest = \(idDigest)", "session"
        ).first.flatMap(Self.record)
    }

    public func put(_ record: BrokerSessionRecord) async throws {
        _ = try await storage.query(
            """
            INSERT INTO broker_sessions (id_digest, attested, expires_at, sealed_state)
            VALUES (\(record.idDigest), \(record.attested), \(record.expires.timeIntervalSince1970), \(record.sealedState))
            ON CONFLICT (id_digest) DO UPDATE SET attested = EXCLUDED.attested, expires_at = EXCLUDED.expires_at,
                sealed_state = EXCLUDED.sealed_state
            """, "put session")
    }

    public func remove(idDigest: Data) async throws {
        _ = try await storage.query("DELETE FROM broker_sessions WHERE id_digest = \(idDigest)", "remove session")
    }
}
