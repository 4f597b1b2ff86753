import Crypto
import Foundation
@testable import Gateway
import SealgateCore
import Sealing
import Testing

@Suite("Prepared-DEK cache: one lease epoch at a time, never past a clear")
struct DEKCacheTests {
    static func key(_ document: String, wrapped: UInt8 = 1) -> DEKCache.Key {
        DEKCache.Key(
            tenant: TenantID(unchecked: "acme"), collection: CollectionName(unchecked: "handbook"),
            document: DocumentID(unchecked: document), dataClass: DataClass(unchecked: "internal"), version: 1,
            wrapped: Data(repeating: wrapped, count: 61))
    }

    static func cipher() throws -> DEKCipher { try DEKCipher(dek: SymmetricKey(size: .bits256)) }

    @Test("Entries serve their own epoch only; a newer epoch empties the cache, an older one changes nothing")
    func epochs() throws {
        let cache = DEKCache()
        let a = try Self.cipher()
        cache.store(Self.key("a"), a, epoch: 3)
        #expect(cache.cipher(Self.key("a"), epoch: 3) === a)
        #expect(cache.cipher(Self.key("a", wrapped: 2), epoch: 3) == nil)  // a re-wrapped DEK is another entry
        #expect(cache.cipher(Self.key("a"), epoch: 2) == nil)  // a stale request
        cache.store(Self.key("b"), try Self.cipher(), epoch: 2)  // a stale store
        #expect(cache.count == 1)
        #expect(cache.cipher(Self.key("a"), epoch: 3) === a)
        #expect(cache.cipher(Self.key("a"), epoch: 4) == nil)  // the key set changed
        #expect(cache.count == 0)
    }

    @Test("After a clear, requests from before it can neither read nor store")
    func clearRaisesTheFloor() throws {
        let cache = DEKCache()
        cache.store(Self.key("a"), try Self.cipher(), epoch: 5)
        cache.clear(below: 6)  // the lease was dropped: epoch 5 → 6
        #expect(cache.count == 0)
        cache.store(Self.key("a"), try Self.cipher(), epoch: 5)  // in flight across the drop
        #expect(cache.count == 0)
        #expect(cache.cipher(Self.key("a"), epoch: 5) == nil)
        let fresh = try Self.cipher()
        cache.store(Self.key("a"), fresh, epoch: 7)  // a new lease
        #expect(cache.cipher(Self.key("a"), epoch: 7) === fresh)
        cache.clear(below: 4)  // an older floor never lowers the current one
        cache.store(Self.key("a"), try Self.cipher(), epoch: 5)
        #expect(cache.count == 0)
    }

    @Test("Deleting a document forgets its DEKs; the cache stays within its capacity")
    func removalAndCapacity() throws {
        let cache = DEKCache(capacity: 3)
        for (i, name) in ["a", "b", "c", "d", "e"].enumerated() { cache.store(Self.key(name, wrapped: UInt8(i)), try Self.cipher(), epoch: 1) }
        #expect(cache.count == 3)
        cache.store(Self.key("x"), try Self.cipher(), epoch: 1)
        cache.store(Self.key("x", wrapped: 9), try Self.cipher(), epoch: 1)
        cache.remove(tenant: TenantID(unchecked: "acme"), collection: CollectionName(unchecked: "handbook"), document: DocumentID(unchecked: "x"))
        #expect(cache.cipher(Self.key("x"), epoch: 1) == nil && cache.cipher(Self.key("x", wrapped: 9), epoch: 1) == nil)
        #expect(cache.count <= 3)
    }
}
