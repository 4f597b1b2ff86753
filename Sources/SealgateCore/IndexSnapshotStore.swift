import Foundation

/// Which sealed index snapshot: one tenant × collection × data class × embedder.
public struct IndexSnapshotKey: Sendable, Hashable {
    public let tenant: TenantID
    public let collection: CollectionName
    public let dataClass: DataClass
    public let embedder: String

    public init(tenant: TenantID, collection: CollectionName, dataClass: DataClass, embedder: String) {
        self.tenant = tenant
        self.collection = collection
        self.dataClass = dataClass
        self.embedder = embedder
    }
}

/// Where sealed index snapshots are kept. Implementations see only ciphertext; a snapshot that fails to open is
/// refused and rebuilt by the gateway, so a store may lose or mangle them without harm to anything but speed.
public protocol IndexSnapshotStore: Sendable {
    /// The sealed snapshot of `key`, if one is kept.
    func snapshot(_ key: IndexSnapshotKey) async throws -> Data?
    /// Keeps `sealed` as the snapshot of `key`, replacing any earlier one.
    func save(_ sealed: Data, for key: IndexSnapshotKey) async throws
    /// Every key with a snapshot of `tenant`.
    func keys(tenant: TenantID) async throws -> [IndexSnapshotKey]
    /// Forgets the snapshot of `key`.
    func delete(_ key: IndexSnapshotKey) async throws
}
