import Foundation
import Gateway
import Logging
import SealgateConfig
import SealgateCore
import ServiceLifecycle
import StoragePostgres
import StorageSQLite

/// The gateway's document store as `storage:` selects it, with what a shared database adds: a readiness probe,
/// a feed of other replicas' changes, and leases on jobs one replica runs for all.
struct DocumentStorage: Sendable {
    let store: any DocumentStore & IndexSnapshotStore
    let close: @Sendable () async -> Void
    /// Why the store cannot serve now (`nil`: it can); absent for the embedded file.
    let unavailable: (@Sendable () async -> String?)?
    /// The PostgreSQL store, when that is the backend.
    let postgres: PostgresDocumentStore?
    /// This replica's name in `job_leases` (`--replica`, or a random one per process).
    var replica = "gateway-" + UUID().uuidString

    /// Whether this replica should run `job` now: always with a store of its own; with a shared database, only
    /// while it holds the job's lease (`job_leases`), which this call takes when free or lapsed and renews.
    func shouldRun(_ job: String, seconds: Double) async -> Bool {
        guard let postgres else { return true }
        return (try? await postgres.acquireJob(job, holder: replica, seconds: seconds)) ?? false
    }

    /// The DEK re-wrap after a rotation, run by one replica for all: only while this one holds job `dek-rewrap`
    /// (taken for `seconds`), renewed between batches; losing it (a pause longer than the lease, the database
    /// gone) stops the run, which the next holder finishes. The compare-and-set on each row's DEK version and
    /// wrapped bytes keeps a DEK from being re-wrapped twice even by two holders.
    func rewrapOnce(_ gateway: Gateway, seconds: Double) async {
        let job = "dek-rewrap"
        guard await shouldRun(job, seconds: seconds) else { return }
        await gateway.rewrapDEKs(proceed: { await shouldRun(job, seconds: seconds) })
    }
}

extension Sealgate {
    /// Opens the configured document store: `<data-dir>/sealgate.sqlite`, or the PostgreSQL database (migrated at
    /// start; a newer schema is refused).
    static func documentStorage(_ config: Configuration, dataDir: String, replica: String?, logger: Logger) async throws -> DocumentStorage {
        var storage = try await openDocumentStorage(config, dataDir: dataDir, logger: logger)
        if let replica { storage.replica = replica }
        return storage
    }

    private static func openDocumentStorage(_ config: Configuration, dataDir: String, logger: Logger) async throws -> DocumentStorage {
        switch config.storage.type {
        case .sqlite:
            let store = try await SQLiteDocumentStore(path: dataDir + "/sealgate.sqlite", logger: logger)
            return DocumentStorage(store: store, close: { await store.close() }, unavailable: nil, postgres: nil)
        case .postgres:
            guard let url = config.storage.resolvedURL() else {
                throw SealgateError(.malformedRequest, "storage.url (or the variable storage.url_env names) is required for type postgres")
            }
            let storage = try PostgresStorage(url: url, logger: logger)
            do {
                let store = try await PostgresDocumentStore(storage: storage)
                logger.info("document store on PostgreSQL", metadata: ["db.endpoint": "\(storage.endpoint)"])
                return DocumentStorage(
                    store: store, close: { await storage.close() },
                    unavailable: { await storage.ping() ? nil : "PostgreSQL does not answer" }, postgres: store)
            } catch {
                await storage.close()
                throw error
            }
        }
    }
}

/// Other replicas' document changes, from PostgreSQL LISTEN/NOTIFY, dropping the changed tenant's index here.
struct ChangeFeedService: Service {
    let store: PostgresDocumentStore
    let index: TenantIndex
    let logger: Logger

    func run() async throws {
        let (index, logger) = (index, logger)
        await cancelWhenGracefulShutdown {
            await store.followChanges(
                onChange: { tenant in await index.invalidate(tenant: tenant) },
                onGap: {
                    logger.notice("change feed re-established: every tenant index rebuilds on its next query")
                    await index.invalidateAll()
                })
        }
    }
}
