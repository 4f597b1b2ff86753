import Crypto
import Foundation
import SealgateCore
import Synchronization

/// One RCAR session as a ``SessionStore`` keeps it: the SHA-256 of the session id (a bearer cookie), whether it
/// is attested and when it lapses (for the single-use take and for pruning), and everything else — nonce, TEE
/// type, token — sealed under the broker's master key with the id digest as associated data. A store (a shared
/// database) can lose or refuse sessions but cannot read, forge or move one.
public struct BrokerSessionRecord: Sendable, Equatable {
    /// SHA-256 of the session id.
    public let idDigest: Data
    /// Whether the session has attested (its nonce is consumed).
    public let attested: Bool
    /// When the session lapses (also inside ``sealedState``, which is what the broker trusts).
    public let expires: Date
    /// The session's state, sealed under the master key.
    public let sealedState: Data

    /// Creates a record.
    public init(idDigest: Data, attested: Bool, expires: Date, sealedState: Data) {
        self.idDigest = idDigest
        self.attested = attested
        self.expires = expires
        self.sealedState = sealedState
    }

    /// The SHA-256 digest a session id is kept under.
    public static func digest(_ sessionID: String) -> Data { Data(SHA256.hash(data: Data(sessionID.utf8))) }
}

/// Where RCAR sessions live: in memory for one broker, or in a database shared by several, so that a nonce
/// issued by one broker is consumed once across all of them and an attested session works at any of them.
public protocol SessionStore: Sendable {
    /// Stores a new challenged session; returns `false` when `limit` live sessions are kept already.
    func open(_ record: BrokerSessionRecord, now: Date, limit: Int) async throws -> Bool
    /// Removes and returns the session if it is still challenged. Single use: a second call, here or at another
    /// broker on the same store, finds nothing.
    func takeChallenged(idDigest: Data) async throws -> BrokerSessionRecord?
    /// The session, challenged or attested, if it is kept.
    func session(idDigest: Data) async throws -> BrokerSessionRecord?
    /// Stores (or replaces) a session.
    func put(_ record: BrokerSessionRecord) async throws
    /// Forgets a session.
    func remove(idDigest: Data) async throws
}

/// Sessions in this process's memory: the single-broker default (forgotten at restart).
public final class InMemorySessionStore: SessionStore {
    private let sessions = Mutex<(table: [Data: BrokerSessionRecord], nextSweep: Date)>(([:], .distantPast))

    /// Creates an empty store.
    public init() {}

    public func open(_ record: BrokerSessionRecord, now: Date, limit: Int) async throws -> Bool {
        sessions.withLock { state in
            // Lapsed sessions are swept when the table is half full, at most once a second: a sweep copies the table,
            // and one per open made every auth cost the whole table under this lock once it was half full.
            if state.table.count > limit / 2, now >= state.nextSweep {
                state.table = state.table.filter { $0.value.expires > now }
                state.nextSweep = now.addingTimeInterval(1)
            }
            guard state.table.count < limit else { return false }
            state.table[record.idDigest] = record
            return true
        }
    }

    public func takeChallenged(idDigest: Data) async throws -> BrokerSessionRecord? {
        sessions.withLock { state in
            guard let record = state.table[idDigest], !record.attested else { return nil }
            state.table[idDigest] = nil
            return record
        }
    }

    public func session(idDigest: Data) async throws -> BrokerSessionRecord? { sessions.withLock { $0.table[idDigest] } }

    public func put(_ record: BrokerSessionRecord) async throws { sessions.withLock { $0.table[record.idDigest] = record } }

    public func remove(idDigest: Data) async throws { _ = sessions.withLock { $0.table.removeValue(forKey: idDigest) } }
}
