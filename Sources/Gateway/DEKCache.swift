import Foundation
import SealgateCore
import Sealing
import Synchronization

/// Unwrapped document DEKs, prepared as ``DEKCipher``s, kept across requests for one lease epoch.
///
/// Retrieval opens the chunks of a few documents per query; without the cache every query unwraps each
/// document's DEK and sets AES-GCM up again (≈1.6 µs per document), which costs more than decrypting an
/// 800-byte chunk. The cache holds nothing the gateway could not recompute at once from the leased KEKs it
/// holds anyway, and it is emptied whenever the key set changes (a new lease epoch, a lost lease) — so a
/// rotated, withheld or shredded KEK takes its DEKs with it. A lookup happens only after the caller has
/// confirmed that the document's KEK is leased right now.
final class DEKCache: Sendable {
    /// A document's identity and its wrapped DEK (a re-wrapped or replaced DEK is a different entry).
    struct Key: Hashable, Sendable {
        let tenant: TenantID
        let collection: CollectionName
        let document: DocumentID
        let dataClass: DataClass
        let version: Int
        let wrapped: Data
    }

    private struct State {
        var epoch: Int?
        /// Epochs below this were cleared away: nothing of theirs is served or stored again.
        var floor = Int.min
        var ciphers: [Key: DEKCipher] = [:]
    }

    private let state = Mutex(State())
    /// Entries kept at most; past it, an arbitrary entry is evicted per insertion.
    let capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = max(1, capacity)
    }

    /// The cached cipher for `key` in `epoch`. A newer epoch drops the older one's entries first; a request still
    /// holding an older epoch gets nothing and changes nothing.
    func cipher(_ key: Key, epoch: Int) -> DEKCipher? {
        state.withLock { state in
            guard epoch >= state.floor else { return nil }
            guard state.epoch == epoch else {
                if state.epoch.map({ $0 < epoch }) ?? true {
                    state.ciphers.removeAll()
                    state.epoch = epoch
                }
                return nil
            }
            return state.ciphers[key]
        }
    }

    /// Remembers `cipher` for `key` in `epoch` (ignored if the epoch has moved on or was cleared meanwhile).
    func store(_ key: Key, _ cipher: DEKCipher, epoch: Int) {
        state.withLock { state in
            guard epoch >= state.floor else { return }
            if state.epoch != epoch {
                guard state.epoch.map({ $0 < epoch }) ?? true else { return }
                state.ciphers.removeAll()
                state.epoch = epoch
            }
            if state.ciphers[key] == nil, state.ciphers.count >= capacity {
                state.ciphers.remove(at: state.ciphers.startIndex)
            }
            state.ciphers[key] = cipher
        }
    }

    /// Drops every entry and refuses epochs below `current` from now on (the lease was lost or the key set
    /// changed; `current` is the lease manager's epoch after the change).
    func clear(below current: Int) {
        state.withLock { state in
            state.ciphers.removeAll()
            state.epoch = nil
            state.floor = max(state.floor, current)
        }
    }

    /// Forgets one document's DEKs (it was deleted).
    func remove(tenant: TenantID, collection: CollectionName, document: DocumentID) {
        state.withLock { state in
            state.ciphers = state.ciphers.filter { key, _ in
                !(key.tenant == tenant && key.collection == collection && key.document == document)
            }
        }
    }

    /// How many DEKs are held.
    var count: Int { state.withLock { $0.ciphers.count } }
}
