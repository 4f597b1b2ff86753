import Foundation
import SealgateCore

/// One KEK version as the broker stores it: sealed under the master key.
public struct StoredKEK: Sendable, Equatable {
    public let tenant: TenantID
    public let dataClass: DataClass
    public let version: Int
    public let sealedKey: Data
    public let createdAt: Date

    public init(tenant: TenantID, dataClass: DataClass, version: Int, sealedKey: Data, createdAt: Date) {
        self.tenant = tenant
        self.dataClass = dataClass
        self.version = version
        self.sealedKey = sealedKey
        self.createdAt = createdAt
    }
}

/// Persistent storage of sealed KEKs.
public protocol KEKStore: Sendable {
    /// All versions of one tenant × class, ascending.
    func keks(tenant: TenantID, dataClass: DataClass) async throws -> [StoredKEK]
    /// Inserts a new version; fails if that version exists.
    func insert(_ kek: StoredKEK) async throws
}

/// An in-memory store for tests and tools.
public actor InMemoryKEKStore: KEKStore {
    var rows: [StoredKEK] = []
    public init() {}
    public func keks(tenant: TenantID, dataClass: DataClass) -> [StoredKEK] {
        rows.filter { $0.tenant == tenant && $0.dataClass == dataClass }.sorted { $0.version < $1.version }
    }
    public func insert(_ kek: StoredKEK) throws {
        guard !rows.contains(where: { $0.tenant == kek.tenant && $0.dataClass == kek.dataClass && $0.version == kek.version })
        else { throw KeyBrokerError(.storeUnavailable, "KEK version exists") }
        rows.append(kek)
    }
}
