import Crypto
import Foundation
import KeyBroker
import Logging
import SealgateCore
import StoragePostgres
import StorageSQLite

/// The broker's store as `--database` selects it: `<data-dir>/broker.sqlite`, or a PostgreSQL database shared by
/// several brokers — with the RCAR sessions and the token key in it too, so any broker serves any session and
/// verifies any broker's tokens.
struct BrokerStorage: Sendable {
    let store: any BrokerStore
    let sessions: any SessionStore
    let tokenKey: P256.Signing.PrivateKey
    let close: @Sendable () async -> Void
}

extension SealgateBroker {
    static let masterKeyCheck = Data("sealgate-broker master key check v1".utf8)

    /// Opens the broker's store. With PostgreSQL the master key must be the one the database's keys are sealed
    /// under (checked against a sealed probe value, so a broker with another key refuses to start instead of
    /// failing every release), and the token key is the one kept in the database, sealed under the master key.
    static func brokerStorage(_ options: BrokerOptions, protector: MasterKey) async throws -> BrokerStorage {
        guard let url = options.databaseURL else {
            let store = try await SQLiteBrokerStore(path: options.dataDir + "/broker.sqlite", logger: options.logger)
            let tokenKey: P256.Signing.PrivateKey
            do { tokenKey = try Self.tokenKey(path: options.dataDir + "/token-key.pem") } catch {
                await store.close()
                throw error
            }
            return BrokerStorage(store: store, sessions: InMemorySessionStore(), tokenKey: tokenKey, close: { await store.close() })
        }
        let storage = try PostgresStorage(url: url, logger: options.logger)
        do {
            let store = try await PostgresBrokerStore(storage: storage)
            let sessions = try await PostgresSessionStore(storage: storage)
            let aad = Data("sealgate-broker/shared-setting".utf8)
            let check = try await store.sharedSetting("master_key_check") { try protector.seal(masterKeyCheck, aad: aad) }
            guard (try? protector.open(check, aad: aad)) == masterKeyCheck else {
                throw SealgateError(
                    .storageUnavailable,
                    "this broker's master key (\(protector.keyID)) is not the one the database's keys are sealed under: "
                        + "give every broker on one database the same SEALGATE_BROKER_MASTER_KEY")
            }
            let sealedToken = try await store.sharedSetting("token_key") {
                try protector.seal(P256.Signing.PrivateKey().rawRepresentation, aad: aad + Data("token_key".utf8))
            }
            let tokenKey = try P256.Signing.PrivateKey(rawRepresentation: try protector.open(sealedToken, aad: aad + Data("token_key".utf8)))
            options.logger.info("broker store on PostgreSQL", metadata: ["db.endpoint": "\(storage.endpoint)"])
            return BrokerStorage(store: store, sessions: sessions, tokenKey: tokenKey, close: { await storage.close() })
        } catch {
            await storage.close()
            throw error
        }
    }
}
