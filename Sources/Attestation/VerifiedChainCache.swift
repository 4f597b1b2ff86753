import Foundation
import Synchronization

/// Remembers certificate chains that verified, keyed by a digest of the chain, until the earliest expiry in the
/// chain, so repeated evidence from the same chip or platform costs only its own signatures. Each entry carries
/// the leaf's public key bytes, which the evidence signature is checked with. Thread-safe.
public final class VerifiedChainCache: Sendable {
    struct Entry {
        let validFrom: Date
        let validUntil: Date
        let leafKey: Data
    }

    let entries = Mutex<[String: Entry]>([:])
    let capacity: Int

    public init(capacity: Int = 1024) { self.capacity = max(1, capacity) }

    /// The leaf key of a chain that verified before and is valid at `date`.
    public func leafKey(_ chain: String, at date: Date) -> Data? {
        entries.withLock { all in
            guard let entry = all[chain], entry.validFrom <= date, date <= entry.validUntil else { return nil }
            return entry.leafKey
        }
    }

    /// Whether the chain verified before and is valid at `date`.
    public func contains(_ chain: String, at date: Date) -> Bool { leafKey(chain, at: date) != nil }

    /// Records a chain that verified, valid from the latest `notBefore` to the earliest `notAfter` of the chain.
    public func insert(_ chain: String, validFrom: Date, validUntil: Date, leafKey: Data = Data()) {
        entries.withLock {
            if $0.count >= capacity { $0.removeAll() }
            $0[chain] = Entry(validFrom: validFrom, validUntil: validUntil, leafKey: leafKey)
        }
    }
}
