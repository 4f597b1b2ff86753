import Attestation
import Foundation
import KBSProtocol
import Synchronization

/// What a ``LeaseManager`` holds, as of its last change: published under a lock after every change, so the request
/// path reads keys, secrets and the epoch without waiting its turn on the actor (one hop per read, several per
/// request, each a thread hand-off).
final class LeaseBoard: Sendable {
    struct State: Sendable {
        var keys: [ResourcePath: [LeasedKey]] = [:]
        var secrets: [String: Data] = [:]
        var expiresAt: Date?
        var epoch = 0
        var result: AttestationResult?
        /// `result.digest`, computed once per change: it encodes the result as JSON, and every answer's record carries it.
        var resultDigest: String?
    }

    let state = Mutex(State())
}

extension LeaseManager {
    /// Publishes the actor's current state to the board; called after every change of keys, secrets, expiry, epoch or
    /// result, before anything awaits.
    func publish() {
        let current = LeaseBoard.State(
            keys: keys, secrets: secrets, expiresAt: expiresAt, epoch: epoch, result: result, resultDigest: result?.digest)
        board.state.withLock { $0 = current }
    }

    /// The published state if the lease is valid at this instant (keys held and not expired), else `nil`.
    private nonisolated func validState() -> LeaseBoard.State? {
        let state = board.state.withLock { $0 }
        guard let expiresAt = state.expiresAt, !state.keys.isEmpty, now() < expiresAt else { return nil }
        return state
    }

    /// ``keysWithEpoch(for:)`` without an actor hop, while the lease is valid: `nil` when it is not (the caller then
    /// asks the actor, which also drops an expired lease) or holds no key of the resource.
    public nonisolated func validKeys(for resource: ResourcePath) -> (keys: [LeasedKey], epoch: Int)? {
        guard let state = validState(), let keys = state.keys[resource] else { return nil }
        return (keys, state.epoch)
    }

    /// ``secret(_:)`` and the epoch it belongs to, without an actor hop, while the lease is valid (`nil` otherwise, or
    /// when the secret is not held).
    public nonisolated func validSecret(_ path: String) -> (secret: Data, epoch: Int)? {
        guard let state = validState(), let secret = state.secrets[path] else { return nil }
        return (secret, state.epoch)
    }

    /// Whether the lease is valid now, without an actor hop (the same test as ``isValid``).
    public nonisolated var isValidNow: Bool { validState() != nil }

    /// ``epoch`` as last published, without an actor hop.
    public nonisolated var publishedEpoch: Int { board.state.withLock { $0.epoch } }

    /// ``result`` as last published and its digest (``AttestationResult/digest``, computed when it was published),
    /// without an actor hop.
    public nonisolated var publishedResult: (result: AttestationResult, digest: String)? {
        board.state.withLock { state in state.result.map { ($0, state.resultDigest ?? $0.digest) } }
    }
}
