import Audit
import Foundation

/// A C2SP tlog-witness: checks each submitted checkpoint against the latest one it cosigned for that log — the
/// log's signature, the old size, the consistency proof — persists the new state, and returns a timestamped
/// `cosignature/v1`.
///
/// Every request runs on one serial dispatch queue (off the Swift concurrency pool, since saving the state fsyncs),
/// so the check of the old size and the write of the new state are one atomic step and state never rolls back:
/// a stored size only grows, and a tree that contradicts the stored one is refused.
///
/// `@unchecked Sendable` because the cache is touched only on `queue`.
public final class Witness: @unchecked Sendable {
    /// The cosigning key.
    public let signer: CosignatureSigner
    /// The logs this witness serves: origin → the keys it trusts for that origin.
    public let logs: [String: [NoteVerifier]]
    let store: WitnessStateStore
    let now: @Sendable () -> Date
    private let queue = DispatchQueue(label: "sealgate.witness")
    private var cache: [String: WitnessedTree] = [:]

    /// - Parameters:
    ///   - signer: the witness key.
    ///   - logs: the log verifier keys it accepts; each key's name is the origin it is trusted for.
    ///   - store: where per-log state lives.
    ///   - now: the clock of the cosignatures' timestamps.
    public init(signer: CosignatureSigner, logs: [NoteVerifier], store: WitnessStateStore, now: @escaping @Sendable () -> Date = Date.init) {
        self.signer = signer
        self.logs = Dictionary(grouping: logs, by: \.name)
        self.store = store
        self.now = now
    }

    /// Handles one `add-checkpoint` request body.
    public func addCheckpoint(_ body: Data) async -> WitnessDecision {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.process(body)) }
        }
    }

    /// The stored state of a log (`nil` when it never cosigned one).
    /// - Throws: ``WitnessError`` `state_unavailable` when the state file is unreadable.
    public func state(origin: String) async throws -> WitnessedTree? {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try self.stored(origin) }) }
        }
    }

    private func stored(_ origin: String) throws -> WitnessedTree? {
        if let cached = cache[origin] { return cached }
        let loaded = try store.load(origin)
        if let loaded { cache[origin] = loaded }
        return loaded
    }

    private func process(_ body: Data) -> WitnessDecision {
        func refuse(_ reason: WitnessRefusal.Reason, _ detail: String, origin: String? = nil, witnessed: Int? = nil, size: Int? = nil) -> WitnessDecision {
            .refused(WitnessRefusal(reason: reason, origin: origin, witnessedSize: witnessed, checkpointSize: size, detail: detail))
        }
        let request: AddCheckpointRequest
        let note: SignedNote
        let checkpoint: Checkpoint
        do {
            request = try AddCheckpointRequest(body: body)
            note = try SignedNote(request.note)
            checkpoint = try Checkpoint(body: note.text)
        } catch let error as AuditError {
            return refuse(.malformedRequest, error.message)
        } catch {
            return refuse(.malformedRequest, "malformed add-checkpoint body")
        }
        let origin = checkpoint.origin
        // Byte for byte: Swift's String equality (the dictionary lookup) is canonical equivalence, but the state file
        // is named by the origin's bytes, so an NFD spelling of a witnessed NFC origin was a new log after a restart.
        guard let keys = logs[origin], keys.allSatisfy({ $0.name.utf8.elementsEqual(origin.utf8) }) else {
            return refuse(.unknownLog, "this witness does not witness \(origin)", origin: origin)
        }
        guard keys.contains(where: { (try? $0.open(request.note)) != nil }) else {
            return refuse(.badSignature, "no signature verifies with a key trusted for \(origin)", origin: origin, size: checkpoint.size)
        }
        guard request.oldSize <= checkpoint.size else {
            return refuse(.oldSizeTooLarge, "old size \(request.oldSize) exceeds the checkpoint size \(checkpoint.size)", origin: origin, size: checkpoint.size)
        }
        let previous: WitnessedTree?
        do { previous = try stored(origin) } catch {
            return refuse(.stateUnavailable, "the witness cannot read its state for \(origin)", origin: origin, size: checkpoint.size)
        }
        let witnessed = previous?.size ?? 0
        guard request.oldSize == witnessed else {
            return refuse(
                .oldSizeMismatch, "the latest cosigned checkpoint of \(origin) has size \(witnessed)", origin: origin, witnessed: witnessed,
                size: checkpoint.size)
        }
        if let previous, previous.size == checkpoint.size, previous.root != checkpoint.root {
            return refuse(
                .rootMismatch, "size \(checkpoint.size) was cosigned with another root hash", origin: origin, witnessed: witnessed, size: checkpoint.size)
        }
        let oldRoot = previous?.root ?? MerkleHash.emptyRoot
        guard
            MerkleProof.verifyConsistency(
                oldSize: request.oldSize, newSize: checkpoint.size, oldRoot: oldRoot, newRoot: checkpoint.root, proof: request.proof)
        else {
            return refuse(
                .inconsistent, "the consistency proof from size \(request.oldSize) to \(checkpoint.size) does not verify", origin: origin,
                witnessed: witnessed, size: checkpoint.size)
        }
        if previous == nil || checkpoint.size > witnessed {
            let next = WitnessedTree(origin: origin, size: checkpoint.size, root: checkpoint.root)
            do { try store.save(next) } catch {
                return refuse(.stateUnavailable, "the witness cannot persist its state for \(origin)", origin: origin, size: checkpoint.size)
            }
            cache[origin] = next
        }
        let time = UInt64(max(0, now().timeIntervalSince1970.rounded(.down)))
        guard let line = try? signer.cosign(note.text, time: time) else {
            return refuse(.stateUnavailable, "the witness key could not sign", origin: origin, size: checkpoint.size)
        }
        return .cosigned(lines: line, checkpoint: checkpoint)
    }
}
