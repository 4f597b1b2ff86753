import Foundation
import KeyBroker
import Logging
import SQLiteNIO
import SealgateCore

/// The broker's ``BrokerStore`` on its own SQLite file. Key material arrives already sealed under the master key;
/// `secure_delete` overwrites destroyed material on disk instead of leaving it in free pages.
public struct SQLiteBrokerStore: BrokerStore {
    let db: SQLiteDatabaseFile

    static let schema = [
        "PRAGMA secure_delete=ON",
        "CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, state TEXT NOT NULL, created_at REAL NOT NULL)",
        """
        CREATE TABLE IF NOT EXISTS keks (
            tenant TEXT NOT NULL, data_class TEXT NOT NULL, version INTEGER NOT NULL, sealed_key BLOB NOT NULL,
            created_at REAL NOT NULL, state TEXT NOT NULL DEFAULT 'active', PRIMARY KEY (tenant, data_class, version))
        """,
        """
        CREATE TABLE IF NOT EXISTS secrets (
            tenant TEXT NOT NULL, name TEXT NOT NULL, sealed_value BLOB NOT NULL, created_at REAL NOT NULL,
            PRIMARY KEY (tenant, name))
        """,
        "CREATE TABLE IF NOT EXISTS policies (id TEXT PRIMARY KEY, json BLOB NOT NULL)",
        "CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
        """
        CREATE TABLE IF NOT EXISTS credentials (
            name TEXT PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE, roles TEXT NOT NULL, created_at REAL NOT NULL)
        """,
    ]

    /// Opens the store at `path`.
    public init(path: String, logger: Logger) async throws {
        db = try await SQLiteDatabaseFile(path: path, schema: Self.schema, logger: logger)
    }

    /// Closes the database; call once at shutdown.
    public func close() async { await db.close() }

    public func tenants() async throws -> [BrokerTenant] {
        try await db.query("SELECT * FROM tenants ORDER BY id").compactMap { row in
            guard let id = row.column("id")?.string, let state = row.column("state")?.string, let created = row.column("created_at")?.double
            else { return nil }
            return BrokerTenant(id: id, state: state, createdAt: Date(timeIntervalSince1970: created))
        }
    }

    public func insertTenant(_ tenant: BrokerTenant) async throws {
        try await db.transaction([
            ("INSERT INTO tenants (id, state, created_at) VALUES (?, ?, ?)", [.text(tenant.id), .text(tenant.state), .float(tenant.createdAt.timeIntervalSince1970)])
        ])
    }

    static func kek(_ row: SQLiteRow) -> StoredKEK? {
        guard let tenant = row.column("tenant")?.string.flatMap(TenantID.init), let dataClass = row.column("data_class")?.string.flatMap(DataClass.init),
            let version = row.column("version")?.integer, let sealed = row.column("sealed_key")?.data,
            let created = row.column("created_at")?.double, let state = row.column("state")?.string.flatMap(KEKState.init(rawValue:))
        else { return nil }
        return StoredKEK(
            tenant: tenant, dataClass: dataClass, version: Int(version), sealedKey: sealed, createdAt: Date(timeIntervalSince1970: created), state: state)
    }

    public func keks(tenant: TenantID, dataClass: DataClass) async throws -> [StoredKEK] {
        try await db.query(
            "SELECT * FROM keks WHERE tenant = ? AND data_class = ? ORDER BY version", [.text(tenant.rawValue), .text(dataClass.rawValue)]
        ).compactMap(Self.kek)
    }

    public func holdsKeyMaterial() async throws -> Bool {
        try await !db.query("SELECT 1 FROM keks UNION ALL SELECT 1 FROM secrets LIMIT 1").isEmpty
    }

    public func keks(tenant: TenantID) async throws -> [StoredKEK] {
        try await db.query("SELECT * FROM keks WHERE tenant = ? ORDER BY data_class, version", [.text(tenant.rawValue)]).compactMap(Self.kek)
    }

    public func insert(_ kek: StoredKEK) async throws {
        try await db.transaction([
            (
                "INSERT INTO keks (tenant, data_class, version, sealed_key, created_at, state) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    .text(kek.tenant.rawValue), .text(kek.dataClass.rawValue), .integer(kek.version),
                    .bytes(kek.sealedKey), .float(kek.createdAt.timeIntervalSince1970), .text(kek.state.rawValue),
                ]
            )
        ])
    }

    public func setState(_ state: KEKState, tenant: TenantID, dataClass: DataClass, version: Int) async throws {
        let material = state == .active ? "" : ", sealed_key = x''"
        try await db.transaction([
            (
                "UPDATE keks SET state = ?\(material) WHERE tenant = ? AND data_class = ? AND version = ?",
                [.text(state.rawValue), .text(tenant.rawValue), .text(dataClass.rawValue), .integer(version)]
            )
        ])
    }

    public func secret(tenant: TenantID, name: String) async throws -> StoredSecret? {
        try await db.query("SELECT * FROM secrets WHERE tenant = ? AND name = ?", [.text(tenant.rawValue), .text(name)]).first.flatMap { row in
            guard let sealed = row.column("sealed_value")?.data, let created = row.column("created_at")?.double else { return nil }
            return StoredSecret(tenant: tenant, name: name, sealedValue: sealed, createdAt: Date(timeIntervalSince1970: created))
        }
    }

    public func secretNames(tenant: TenantID) async throws -> [String] {
        try await db.query("SELECT name FROM secrets WHERE tenant = ? ORDER BY name", [.text(tenant.rawValue)]).compactMap { $0.column("name")?.string }
    }

    public func putSecret(_ secret: StoredSecret) async throws {
        try await db.transaction([
            (
                "INSERT OR REPLACE INTO secrets (tenant, name, sealed_value, created_at) VALUES (?, ?, ?, ?)",
                [.text(secret.tenant.rawValue), .text(secret.name), .bytes(secret.sealedValue), .float(secret.createdAt.timeIntervalSince1970)]
            )
        ])
    }

    public func shred(tenant: TenantID) async throws {
        try await db.transaction([
            ("UPDATE keks SET state = 'destroyed', sealed_key = x'' WHERE tenant = ?", [.text(tenant.rawValue)]),
            ("DELETE FROM secrets WHERE tenant = ?", [.text(tenant.rawValue)]),
            ("UPDATE tenants SET state = 'shredded' WHERE id = ?", [.text(tenant.rawValue)]),
        ])
        // Truncate the WAL so overwritten pages do not linger in it either.
        _ = try await db.query("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    public func policies() async throws -> [(id: String, json: Data)] {
        try await db.query("SELECT id, json FROM policies ORDER BY id").compactMap { row in
            guard let id = row.column("id")?.string, let json = row.column("json")?.data else { return nil }
            return (id, json)
        }
    }

    public func putPolicy(id: String, json: Data) async throws {
        try await db.transaction([("INSERT OR REPLACE INTO policies (id, json) VALUES (?, ?)", [.text(id), .bytes(json)])])
    }

    public func deletePolicy(id: String) async throws -> Bool {
        let existed = try await !db.query("SELECT id FROM policies WHERE id = ?", [.text(id)]).isEmpty
        try await db.transaction([("DELETE FROM policies WHERE id = ?", [.text(id)])])
        return existed
    }

    public func referenceValues() async throws -> Data? {
        try await db.query("SELECT value FROM settings WHERE name = 'reference_values'").first?.column("value")?.data
    }

    public func putReferenceValues(_ json: Data) async throws {
        try await db.transaction([("INSERT OR REPLACE INTO settings (name, value) VALUES ('reference_values', ?)", [.bytes(json)])])
    }

    public func setting(_ name: String) async throws -> Data? {
        try await db.query("SELECT value FROM settings WHERE name = ?", [.text("x." + name)]).first?.column("value")?.data
    }

    public func putSetting(_ name: String, _ value: Data) async throws {
        try await db.transaction([("INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)", [.text("x." + name), .bytes(value)])])
    }

    public func replaceSetting(_ name: String, _ value: Data, ifCurrent expected: Data?) async throws -> Bool {
        let rows: [SQLiteRow]
        if let expected {
            rows = try await db.query(
                "UPDATE settings SET value = ? WHERE name = ? AND value = ? RETURNING name", [.bytes(value), .text("x." + name), .bytes(expected)])
        } else {
            rows = try await db.query(
                "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING RETURNING name", [.text("x." + name), .bytes(value)])
        }
        return !rows.isEmpty
    }

    static func credential(_ row: SQLiteRow) -> AdminCredential? {
        guard let name = row.column("name")?.string, let hash = row.column("token_sha256")?.string,
            let roles = row.column("roles")?.string, let created = row.column("created_at")?.double
        else { return nil }
        return AdminCredential(
            name: name, tokenSHA256: hash, roles: roles.split(separator: ",").compactMap { AdminRole(rawValue: String($0)) },
            createdAt: Date(timeIntervalSince1970: created))
    }

    public func credential(tokenSHA256: String) async throws -> AdminCredential? {
        try await db.query("SELECT * FROM credentials WHERE token_sha256 = ?", [.text(tokenSHA256)]).first.flatMap(Self.credential)
    }

    public func credentials() async throws -> [AdminCredential] {
        try await db.query("SELECT * FROM credentials ORDER BY name").compactMap(Self.credential)
    }

    public func deleteCredential(name: String) async throws -> Bool {
        let existed = try await !db.query("SELECT name FROM credentials WHERE name = ?", [.text(name)]).isEmpty
        try await db.transaction([("DELETE FROM credentials WHERE name = ?", [.text(name)])])
        return existed
    }

    public func insertCredential(_ credential: AdminCredential) async throws {
        try await db.transaction([
            (
                "INSERT INTO credentials (name, token_sha256, roles, created_at) VALUES (?, ?, ?, ?)",
                [
                    .text(credential.name), .text(credential.tokenSHA256), .text(credential.roles.map(\.rawValue).joined(separator: ",")),
                    .float(credential.createdAt.timeIntervalSince1970),
                ]
            )
        ])
    }
}
