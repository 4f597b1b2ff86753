import Foundation
import SealgateCore

/// The outcome of verifying a whole audit log.
public struct AuditVerification: Sendable {
    public var entries = 0
    public var checkpoints = 0
    /// The root of all entries.
    public var root = MerkleHash.emptyRoot
    /// Problems found, first one first; each names its position.
    public var failures: [String] = []
    /// Bytes after the last complete entry (a torn tail the gateway cuts on its next start).
    public var tornTailBytes = 0
    /// Entries after the last verified checkpoint (appended since; anchored by the next one).
    public var uncovered = 0
    /// The checkpoint the witness policy was met on, when one was required and found.
    public var witnessed: Checkpoint?
    /// The witnesses whose cosignatures on ``witnessed`` verified.
    public var witnessedBy: [String] = []

    /// Whether the log verified.
    public var isValid: Bool { failures.isEmpty }
}

/// Offline verification of an audit log: every leaf, every signed checkpoint, consistency between checkpoints.
public enum AuditVerifier {
    /// Verifies leaves and checkpoint notes against a verifier key.
    public static func verify(entries: [Data], notes: [String], verifier: NoteVerifier) -> AuditVerification {
        var raw: [UInt8] = []
        var ranges: [Range<Int>] = []
        for entry in entries {
            ranges.append(raw.count..<(raw.count + entry.count))
            raw.append(contentsOf: entry)
        }
        return raw.withUnsafeBytes { verify(raw: $0, ranges: ranges, notes: notes, verifier: verifier) }
    }

    /// Verifies entries given as ranges of one buffer, hashing them in place.
    static func verify(raw: UnsafeRawBufferPointer, ranges: [Range<Int>], notes: [String], verifier: NoteVerifier) -> AuditVerification {
        var leaves: [Hash32] = []
        leaves.reserveCapacity(ranges.count)
        let suspects = hashLeaves(raw, ranges[...], firstIndex: 0, into: &leaves)
        return finish(
            leaves: leaves, suspects: suspects, entry: { Data(UnsafeRawBufferPointer(rebasing: raw[ranges[$0]])) },
            notes: notes, verifier: verifier)
    }

    /// Hashes the leaves at `ranges` of `raw` on every core and appends them to `leaves`; the first range holds
    /// log index `firstIndex`. Returns the indices of entries that do not start with `{"index":<i>,"record":`
    /// (sorted keys), which are the only ones parsed in full.
    static func hashLeaves(
        _ raw: UnsafeRawBufferPointer, _ ranges: ArraySlice<Range<Int>>, firstIndex: Int, into leaves: inout [Hash32]
    ) -> [Int] {
        let count = ranges.count
        guard count > 0 else { return [] }
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let chunk = max(2048, (count + workers - 1) / workers)
        let chunks = (count + chunk - 1) / chunk
        var suspects = [[Int]](repeating: [], count: chunks)
        let first = ranges.startIndex
        let start = leaves.count
        // Written in place (no temporary array): fresh memory is costly to fault in, and leaves are most of it.
        leaves.append(contentsOf: repeatElement(Hash32.zero, count: count))
        leaves.withUnsafeMutableBufferPointer { all in
            let write = Unchecked(UnsafeMutableBufferPointer(rebasing: all[start...]))
            let buffer = Unchecked(raw)
            let spans = Unchecked(ranges)
            suspects.withUnsafeMutableBufferPointer { flagged in
                let flags = Unchecked(flagged)
                DispatchQueue.concurrentPerform(iterations: chunks) { c in
                    var local: [Int] = []
                    for k in (c * chunk)..<min(count, (c + 1) * chunk) {
                        let bytes = UnsafeRawBufferPointer(rebasing: buffer.value[spans.value[first + k]])
                        if !AuditEncoding.hasLeafPrefix(bytes, index: firstIndex + k) { local.append(firstIndex + k) }
                        write.value[k] = MerkleHash.leaf32(bytes)
                    }
                    flags.value[c] = local
                }
            }
        }
        return Array(suspects.joined())
    }

    /// Builds the tree over `leaves` and checks the suspects and every checkpoint; `entry(i)` reads entry `i`
    /// when a failure needs its bytes.
    static func finish(
        leaves: [Hash32], suspects: [Int], entry: (Int) -> Data?, notes: [String], verifier: NoteVerifier
    ) -> AuditVerification {
        var report = AuditVerification()
        report.entries = leaves.count
        report.checkpoints = notes.count
        func fail(_ message: String) { if report.failures.count < 20 { report.failures.append(message) } }
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        for i in suspects {
            if let bytes = entry(i), let leaf = try? JSONDecoder().decode(AuditLeaf.self, from: bytes), leaf.index != UInt64(i) {
                fail("entry \(i): carries index \(leaf.index) — a record was dropped, inserted or reordered at position \(i)")
            } else {
                fail("entry \(i): not a valid audit leaf (bytes were modified)")
            }
        }
        let tree = MerkleTree(leaves: leaves, workers: workers)
        report.root = tree.root
        var previous: Checkpoint?
        for (k, note) in notes.enumerated() {
            guard let text = try? verifier.open(note) else {
                fail("checkpoint \(k): signature does not verify with \(verifier.name) (forged, or signed by another key)")
                continue
            }
            guard let checkpoint = try? Checkpoint(body: text) else {
                fail("checkpoint \(k): not a checkpoint")
                continue
            }
            guard checkpoint.origin.utf8.elementsEqual(verifier.name.utf8) else {
                fail("checkpoint \(k): origin '\(checkpoint.origin)' is not this log's ('\(verifier.name)')")
                continue
            }
            if let previous, checkpoint.size < previous.size {
                fail("checkpoint \(k): tree size went back from \(previous.size) to \(checkpoint.size) (replayed or out of order)")
                continue
            }
            guard checkpoint.size <= tree.size else {
                fail("checkpoint \(k) covers \(checkpoint.size) entries but the log has \(tree.size): entries from index \(tree.size) on were dropped")
                continue
            }
            guard let root = try? tree.root(size: checkpoint.size), root == checkpoint.root else {
                let from = previous?.size ?? 0
                fail("checkpoint \(k) (size \(checkpoint.size)): root differs — an entry in \(from)..<\(min(checkpoint.size, tree.size)) was modified, dropped or reordered")
                if let j = firstNonCanonical(entry, from..<min(checkpoint.size, leaves.count)) {
                    fail("entry \(j): not in canonical form (bytes were modified)")
                }
                continue
            }
            if let previous, let proof = try? tree.consistencyProof(from: previous.size, to: checkpoint.size),
                !MerkleProof.verifyConsistency(oldSize: previous.size, newSize: checkpoint.size, oldRoot: previous.root, newRoot: checkpoint.root, proof: proof)
            {
                fail("checkpoints \(k - 1) and \(k) are inconsistent: the log signed two histories")
            }
            previous = checkpoint
        }
        if notes.isEmpty && !leaves.isEmpty {
            fail("no signed checkpoint covers the \(leaves.count) entries: nothing anchors this log (checkpoints deleted?)")
        }
        report.uncovered = leaves.count - (previous?.size ?? 0)
        return report
    }

    /// The first entry in `range` whose bytes are not the canonical encoding of the leaf they decode to.
    static func firstNonCanonical(_ entry: (Int) -> Data?, _ range: Range<Int>) -> Int? {
        let decoder = JSONDecoder()
        return range.first { i in
            guard let bytes = entry(i), let leaf = try? decoder.decode(AuditLeaf.self, from: bytes) else { return true }
            return (try? AuditEncoding.canonical(leaf)) != bytes
        }
    }

    /// Reads a log directory and verifies it. Without `verifier`, the directory's own key is used (which proves
    /// integrity against later edits, not against whoever holds that key). The entries file is streamed in
    /// blocks of `readBlockSize` bytes (the default suits any log; the result does not depend on it).
    public static func verify(directory: String, verifier: NoteVerifier?, readBlockSize: Int = 1 << 20) throws -> AuditVerification {
        let key = try logKey(directory: directory, verifier: verifier)
        let notes = AuditLog.readNotes(directory + "/checkpoints")
        return EntriesFileScan(path: directory + "/entries", blockSize: readBlockSize).verify(notes: notes, verifier: key)
    }

    /// `verifier`, or the directory's own key named by the origin its checkpoints carry.
    static func logKey(directory: String, verifier: NoteVerifier?) throws -> NoteVerifier {
        if let verifier { return verifier }
        guard let origin = originFromNotes(directory) ?? nil else {
            throw AuditError(.badRequest, "no checkpoint in \(directory): pass the verifier key")
        }
        return try NoteSigner.load(path: directory + "/checkpoint.key", name: origin).verifier
    }

    static func originFromNotes(_ directory: String) -> String?? {
        guard let note = AuditLog.readNotes(directory + "/checkpoints").first,
            let firstLine = note.split(separator: "\n").first
        else { return nil }
        return String(firstLine)
    }
}
