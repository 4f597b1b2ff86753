import Foundation
import KeyBroker
import PostgresNIO
import SealgateCore

/// The broker's ``BrokerStore`` on PostgreSQL, shared by every broker replica. Key material and secrets arrive
/// sealed under the master key (which every replica must hold); tables are prefixed `broker_` so the broker may
/// share a database with the gateway's documents.
public struct PostgresBrokerStore: BrokerStore {
    /// The database.
    public let storage: PostgresStorage

    /// The broker store's schema versions.
    public static let migrations = SchemaMigrations(
        component: "broker",
        migrations: [
            [
                "CREATE TABLE broker_tenants (id TEXT PRIMARY KEY, state TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)",
                """
                CREATE TABLE broker_keks (
                    tenant TEXT NOT NULL, data_class TEXT NOT NULL, version INTEGER NOT NULL, sealed_key BYTEA NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL, state TEXT NOT NULL, PRIMARY KEY (tenant, data_class, version))
                """,
                """
                CREATE TABLE broker_secrets (
                    tenant TEXT NOT NULL, name TEXT NOT NULL, sealed_value BYTEA NOT NULL, created_at DOUBLE PRECISION NOT NULL,
                    PRIMARY KEY (tenant, name))
                """,
                "CREATE TABLE broker_policies (id TEXT PRIMARY KEY, json BYTEA NOT NULL)",
                "CREATE TABLE broker_settings (name TEXT PRIMARY KEY, value BYTEA NOT NULL)",
                """
                CREATE TABLE broker_credentials (
                    name TEXT PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE, roles TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)
                """,
            ]
        ])

    /// Opens the store on `storage`, applying pending migrations.
    /// - Throws: ``SealgateError`` `storage_unavailable` when unreachable or when the schema is newer than this build.
    public init(storage: PostgresStorage) async throws {
        self.storage = storage
        try await Self.migrations.apply(on: storage)
    }

    /// Closes the database; call once at shutdown.
    public func close() async { await storage.close() }

    public func tenants() async throws -> [BrokerTenant] {
        try await storage.query("SELECT id, state, created_at FROM broker_tenants ORDER BY id", "tenants").compactMap { row in
            guard let (id, state, created) = try? row.decode((String, String, Double).self) else { return nil }
            return BrokerTenant(id: id, state: state, createdAt: Date(timeIntervalSince1970: created))
        }
    }

    public func insertTenant(_ tenant: BrokerTenant) async throws {
        _ = try await storage.query(
            "INSERT INTO broker_tenants (id, state, created_at) VALUES (\(tenant.id), \(tenant.state), \(tenant.createdAt.timeIntervalSince1970))",
            "insert tenant")
    }

    static let kekColumns = "tenant, data_class, version, sealed_key, created_at, state"

    static func kek(_ row: PostgresRow) -> StoredKEK? {
        guard let (tenant, dataClass, version, sealed, created, state) = try? row.decode((String, String, Int, Data, Double, String).self),
            let tenantID = TenantID(tenant), let className = DataClass(dataClass), let kekState = KEKState(rawValue: state)
        else { return nil }
        return StoredKEK(
            tenant: tenantID, dataClass: className, version: version, sealedKey: sealed, createdAt: Date(timeIntervalSince1970: created),
            state: kekState)
    }

    public func keks(tenant: TenantID, dataClass: DataClass) async throws -> [StoredKEK] {
        try await storage.query(
            """
            SELECT \(unescaped: Self.kekColumns) FROM broker_keks WHERE tenant = \(tenant.rawValue) AND data_class = \(dataClass.rawValue)
            ORDER BY version
            """, "keks"
        ).compactMap(Self.kek)
    }

    public func keks(tenant: TenantID) async throws -> [StoredKEK] {
        try await storage.query(
            "SELECT \(unescaped: Self.kekColumns) FROM broker_keks WHERE tenant = \(tenant.rawValue) ORDER BY data_class, version", "keks"
        ).compactMap(Self.kek)
    }

    public func holdsKeyMaterial() async throws -> Bool {
        try await !storage.query("SELECT 1 FROM broker_keks UNION ALL SELECT 1 FROM broker_secrets LIMIT 1", "key_material").isEmpty
    }

    public func insert(_ kek: StoredKEK) async throws {
        _ = try await storage.query(
            """
            INSERT INTO broker_keks (tenant, data_class, version, sealed_key, created_at, state)
            VALUES (\(kek.tenant.rawValue), \(kek.dataClass.rawValue), \(kek.version), \(kek.sealedKey),
                \(kek.createdAt.timeIntervalSince1970), \(kek.state.rawValue))
            """, "insert kek")
    }

    public func setState(_ state: KEKState, tenant: TenantID, dataClass: DataClass, version: Int) async throws {
        let material = state == .active ? "" : ", sealed_key = ''::bytea"
        _ = try await storage.query(
            """
            UPDATE broker_keks SET state = \(state.rawValue)\(unescaped: material)
            WHERE tenant = \(tenant.rawValue) AND data_class = \(dataClass.rawValue) AND version = \(version)
            """, "kek state")
        if state != .active { await compactDestroyed() }
    }

    /// An UPDATE or DELETE leaves the old row version, sealed key and all, in the table's file until it is vacuumed
    /// and the space reused. `VACUUM FULL` writes the tables anew and unlinks the old files, so the destroyed material
    /// is gone from the database's files at once (the SQLite store's `secure_delete` does this for its pages). Not
    /// from the write-ahead log or backups taken before: `docs/storage.md`. Best effort: the shred itself has happened
    /// when this runs, and a failure here (a lock held too long, say) leaves the old versions to the next vacuum.
    func compactDestroyed() async {
        _ = try? await storage.query("VACUUM FULL broker_keks, broker_secrets", "vacuum destroyed keys")
    }

    public func secret(tenant: TenantID, name: String) async throws -> StoredSecret? {
        try await storage.query(
            "SELECT sealed_value, created_at FROM broker_secrets WHERE tenant = \(tenant.rawValue) AND name = \(name)", "secret"
        ).first.flatMap { row in
            guard let (sealed, created) = try? row.decode((Data, Double).self) else { return nil }
            return StoredSecret(tenant: tenant, name: name, sealedValue: sealed, createdAt: Date(timeIntervalSince1970: created))
        }
    }

    public func secretNames(tenant: TenantID) async throws -> [String] {
        try await storage.query("SELECT name FROM broker_secrets WHERE tenant = \(tenant.rawValue) ORDER BY name", "secret names")
            .compactMap { try? $0.decode(String.self) }
    }

    public func putSecret(_ secret: StoredSecret) async throws {
        _ = try await storage.query(
            """
            INSERT INTO broker_secrets (tenant, name, sealed_value, created_at)
            VALUES (\(secret.tenant.rawValue), \(secret.name), \(secret.sealedValue), \(secret.createdAt.timeIntervalSince1970))
            ON CONFLICT (tenant, name) DO UPDATE SET sealed_value = EXCLUDED.sealed_value, created_at = EXCLUDED.created_at
            """, "put secret")
    }

    public func shred(tenant: TenantID) async throws {
        let id = tenant.rawValue
        try await storage.transaction("shred") { connection, logger in
            try await connection.query("UPDATE broker_keks SET state = 'destroyed', sealed_key = ''::bytea WHERE tenant = \(id)", logger: logger)
            try await connection.query("DELETE FROM broker_secrets WHERE tenant = \(id)", logger: logger)
            try await connection.query("UPDATE broker_tenants SET state = 'shredded' WHERE id = \(id)", logger: logger)
        }
        await compactDestroyed()
    }

    public func policies() async throws -> [(id: String, json: Data)] {
        try await storage.query("SELECT id, json FROM broker_policies ORDER BY id", "policies").compactMap { row in
            guard let (id, json) = try? row.decode((String, Data).self) else { return nil }
            return (id, json)
        }
    }

    public func putPolicy(id: String, json: Data) async throws {
        _ = try await storage.query(
            "INSERT INTO broker_policies (id, json) VALUES (\(id), \(json)) ON CONFLICT (id) DO UPDATE SET json = EXCLUDED.json", "put policy")
    }

    public func deletePolicy(id: String) async throws -> Bool {
        try await !storage.query("DELETE FROM broker_policies WHERE id = \(id) RETURNING id", "delete policy").isEmpty
    }

    public func referenceValues() async throws -> Data? {
        try await rawSetting("reference_values")
    }

    public func putReferenceValues(_ json: Data) async throws {
        try await putRawSetting("reference_values", json)
    }

    public func setting(_ name: String) async throws -> Data? {
        try await rawSetting("x." + name)
    }

    public func putSetting(_ name: String, _ value: Data) async throws {
        try await putRawSetting("x." + name, value)
    }

    public func replaceSetting(_ name: String, _ value: Data, ifCurrent expected: Data?) async throws -> Bool {
        let key = "x." + name
        if let expected {
            return try await !storage.query(
                "UPDATE broker_settings SET value = \(value) WHERE name = \(key) AND value = \(expected) RETURNING name", "replace setting"
            ).isEmpty
        }
        return try await !storage.query(
            "INSERT INTO broker_settings (name, value) VALUES (\(key), \(value)) ON CONFLICT (name) DO NOTHING RETURNING name", "replace setting"
        ).isEmpty
    }

    func rawSetting(_ name: String) async throws -> Data? {
        try await storage.query("SELECT value FROM broker_settings WHERE name = \(name)", "setting").first.flatMap { try? $0.decode(Data.self) }
    }

    func putRawSetting(_ name: String, _ value: Data) async throws {
        _ = try await storage.query(
            "INSERT INTO broker_settings (name, value) VALUES (\(name), \(value)) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            "put setting")
    }

    static func credential(_ row: PostgresRow) -> AdminCredential? {
        guard let (name, hash, roles, created) = try? row.decode((String, String, String, Double).self) else { return nil }
        return AdminCredential(
            name: name, tokenSHA256: hash, roles: roles.split(separator: ",").compactMap { AdminRole(rawValue: String($0)) },
            createdAt: Date(timeIntervalSince1970: created))
    }

    public func credential(tokenSHA256: String) async throws -> AdminCredential? {
        try await storage.query(
            "SELECT name, token_sha256, roles, created_at FROM broker_credentials WHERE token_sha256 = \(tokenSHA256)", "credential"
        ).first.flatMap(Self.credential)
    }

    public func credentials() async throws -> [AdminCredential] {
        try await storage.query("SELECT name, token_sha256, roles, created_at FROM broker_credentials ORDER BY name", "credentials")
            .compactMap(Self.credential)
    }

    public func insertCredential(_ credential: AdminCredential) async throws {
        let roles = credential.roles.map(\.rawValue).joined(separator: ",")
        _ = try await storage.query(
            """
            INSERT INTO broker_credentials (name, token_sha256, roles, created_at)
            VALUES (\(credential.name), \(credential.tokenSHA256), \(roles), \(credential.createdAt.timeIntervalSince1970))
            """, "insert credential")
    }

    public func deleteCredential(name: String) async throws -> Bool {
        try await !storage.query("DELETE FROM broker_credentials WHERE name = \(name) RETURNING name", "delete credential").isEmpty
    }
}

extension PostgresBrokerStore {
    /// The setting `name`, storing `make()` first if no broker has: of brokers racing at start, one value wins and
    /// every one of them gets it.
    public func sharedSetting(_ name: String, make: () throws -> Data) async throws -> Data {
        let candidate = try make()
        let key = "shared." + name
        _ = try await storage.query(
            "INSERT INTO broker_settings (name, value) VALUES (\(key), \(candidate)) ON CONFLICT (name) DO NOTHING", "shared setting")
        guard let stored = try await rawSetting(key) else { throw SealgateError(.storageUnavailable, "shared setting \(name) vanished") }
        return stored
    }
}
