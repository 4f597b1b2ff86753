import Foundation
import Synchronization

/// Remembers certificate chains that verified, keyed by the leaf's fingerprint, until the earliest expiry in the
/// chain, so repeated evidence from the same chip or platform costs only its own signature. Thread-safe.
public final class VerifiedChainCache: Sendable {
    let entries = Mutex<[String: (validFrom: Date, validUntil: Date)]>([:])
    let capacity: Int

    public init(capacity: Int = 1024) { self.capacity = max(1, capacity) }

    /// Whether the chain of `leaf` verified before and is valid at `date`.
    public func contains(_ leaf: String, at date: Date) -> Bool {
        entries.withLock { $0[leaf].map { $0.validFrom <= date && date <= $0.validUntil } ?? false }
    }

    /// Records a chain that verified, valid from the latest `notBefore` to the earliest `notAfter` of the chain.
    public func insert(_ leaf: String, validFrom: Date, validUntil: Date) {
        entries.withLock {
            if $0.count >= capacity { $0.removeAll() }
            $0[leaf] = (validFrom, validUntil)
        }
    }
}
