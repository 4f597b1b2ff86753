import Foundation
import PostgresNIO
import SealgateCore

/// Change notifications between gateway replicas: every put, delete and re-wrap notifies ``changeChannel`` in
/// its transaction (delivered at commit) with `<store origin> <tenant>`; ``followChanges(onChange:onGap:)`` hands
/// other replicas' tenants to `onChange` so they drop that tenant's index and rebuild it on the next query.
extension PostgresDocumentStore {
    static func notify(_ connection: PostgresConnection, origin: String, tenant: String, logger: Logger) async throws {
        try await connection.query("SELECT pg_notify(\(changeChannel), \(origin + " " + tenant))", logger: logger)
    }

    /// Listens until cancelled. `onChange` gets the tenant of each change made through another store instance;
    /// `onGap` runs whenever the listening connection was (re)established after a failure — notifications may
    /// have been missed, so every tenant's index must be treated as stale. Reconnects every second while the
    /// server is unreachable.
    public func followChanges(
        onChange: @escaping @Sendable (TenantID) async -> Void, onGap: @escaping @Sendable () async -> Void,
        listening: @escaping @Sendable () async -> Void = {}
    ) async {
        let origin = origin
        var failed = false
        while !Task.isCancelled {
            do {
                try await storage.client.withConnection { connection in
                    try await connection.listen(on: Self.changeChannel) { notifications in
                        if failed { await onGap() }
                        failed = false
                        await listening()
                        for try await notification in notifications {
                            let parts = notification.payload.split(separator: " ", maxSplits: 1).map(String.init)
                            guard parts.count == 2, parts[0] != origin, let tenant = TenantID(parts[1]) else { continue }
                            await onChange(tenant)
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                if !failed { storage.logger.warning("PostgreSQL change feed lost; reconnecting", metadata: ["db.endpoint": "\(storage.endpoint)"]) }
                failed = true
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}

/// Leases on jobs that one replica should run for all (the DEK re-wrap after a rotation): a row per job in
/// `job_leases`, taken when free or lapsed, renewed by its holder. Times are the database server's clock, so
/// replicas whose clocks disagree still agree on when a lease lapsed.
extension PostgresDocumentStore {
    /// Takes or renews the lease on `job` for `holder` for `seconds`; returns whether `holder` holds it now.
    /// - Parameter now: the time to decide at (tests); `nil`, the default, is the database server's clock.
    public func acquireJob(_ job: String, holder: String, seconds: Double, now: Date? = nil) async throws -> Bool {
        let current = now?.timeIntervalSince1970
        // EXCLUDED.expires_at - seconds is the decision time, whichever clock gave it.
        let rows = try await storage.query(
            """
            INSERT INTO job_leases (job, holder, expires_at)
            VALUES (\(job), \(holder), COALESCE(\(current)::DOUBLE PRECISION, EXTRACT(EPOCH FROM clock_timestamp())::DOUBLE PRECISION) + \(seconds))
            ON CONFLICT (job) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
            WHERE job_leases.holder = EXCLUDED.holder OR job_leases.expires_at <= EXCLUDED.expires_at - \(seconds)
            RETURNING holder
            """, "job lease")
        return !rows.isEmpty
    }
}
