import SealgateCore
import Synchronization

/// The store rows one retrieval has read: the rescoring of its candidates reads their rows (for the sealed
/// embeddings), and its hits, a subset of those candidates, are opened from the same rows (for the sealed text)
/// instead of a second read of the store in the same request.
final class RowsRead: Sendable {
    private let found = Mutex<[ChunkLocation: ChunkWithDocument]>([:])

    /// Remembers rows read from the store.
    func add(_ rows: [ChunkLocation: ChunkWithDocument]) {
        found.withLock { $0.merge(rows) { _, new in new } }
    }

    /// The rows at `locations`, or `nil` when one of them was not read (the caller reads them all from the store).
    func rows(at locations: [ChunkLocation]) -> [ChunkLocation: ChunkWithDocument]? {
        found.withLock { found in
            var out: [ChunkLocation: ChunkWithDocument] = [:]
            for location in locations {
                guard let row = found[location] else { return nil }
                out[location] = row
            }
            return out
        }
    }
}
