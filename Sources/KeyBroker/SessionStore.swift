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
    private let sessions = Mutex<[Data: BrokerSessionRecord]>([:])

    /// Creates an empty store.
    public init() {}

    public func open(_ record: BrokerSessionRecord, now: Date, limit: Int) async throws -> Bool {
        sessions.withLock { sessions in
            if sessions.count > limit / 2 { sessions = sessions.filter { $0.value.expires > now } }
            guard sessions.count < limit else { return false }
            sessions[record.idDigest] = record
            return true
        }
    }

    public func takeChallenged(idDigest: Data) async throws -> BrokerSessionRecord? {
        sessions.withLock { sessions in
            guard let record = sessions[idDigest], !record.attested else { return nil }
            sessions[idDigest] = nil
            return record
        }
    }

    public func session(idDigest: Data) async throws -> BrokerSessionRecord? { sessions.withLock { $0[idDigest] } }

    public func put(_ record: BrokerSessionRecord) async throws { sessions.withLock { $0[record.idDigest] = record } }

    public func remove(idDigest: Data) async throws { _ = sessions.withLock { $0.removeValue(forKey: idDigest) } }
}
