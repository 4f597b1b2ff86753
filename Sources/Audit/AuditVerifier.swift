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
        return verify(raw: raw, ranges: ranges, notes: notes, verifier: verifier)
    }

    /// Verifies entries given as ranges of one buffer (the entries file), hashing them in place.
    static func verify(raw: [UInt8], ranges: [Range<Int>], notes: [String], verifier: NoteVerifier) -> AuditVerification {
        var report = AuditVerification()
        report.entries = ranges.count
        report.checkpoints = notes.count
        func fail(_ message: String) { if report.failures.count < 20 { report.failures.append(message) } }
        // Fast pass, on every core: hash every leaf in place and check it starts with `{"index":<i>,"record":`
        // (sorted keys). Only entries that do not, or that lie in a range a checkpoint disowns, are parsed in full.
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let chunk = max(4096, (ranges.count + workers - 1) / workers)
        let chunks = (ranges.count + chunk - 1) / chunk
        var suspects = [[Int]](repeating: [], count: chunks)
        let leaves = [Hash32](unsafeUninitializedCapacity: ranges.count) { out, initialized in
            let write = Unchecked(out)
            raw.withUnsafeBytes { bytesBuffer in
                suspects.withUnsafeMutableBufferPointer { flagged in
                    let flags = Unchecked(flagged)
                    let buffer = Unchecked(bytesBuffer)
                    DispatchQueue.concurrentPerform(iterations: chunks) { c in
                        var local: [Int] = []
                        for i in (c * chunk)..<min(ranges.count, (c + 1) * chunk) {
                            let bytes = UnsafeRawBufferPointer(rebasing: buffer.value[ranges[i]])
                            if !AuditEncoding.hasLeafPrefix(bytes, index: i) { local.append(i) }
                            write.value.baseAddress?.advanced(by: i).initialize(to: MerkleHash.leaf32(bytes))
                        }
                        flags.value[c] = local
                    }
                }
            }
            initialized = ranges.count
        }
        for i in suspects.joined() {
            let bytes = Data(raw[ranges[i]])
            if let leaf = try? JSONDecoder().decode(AuditLeaf.self, from: bytes), leaf.index != UInt64(i) {
                fail("entry \(i): carries index \(leaf.index) — a record was dropped, inserted or reordered at position \(i)")
            } else {
                fail("entry \(i): not a valid audit leaf (bytes were modified)")
            }
        }
        let entries = LazyEntries(raw: raw, ranges: ranges)
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
            guard checkpoint.origin == verifier.name else {
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
                if let j = firstNonCanonical(entries, from..<min(checkpoint.size, ranges.count)) {
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
        if notes.isEmpty && !ranges.isEmpty {
            fail("no signed checkpoint covers the \(ranges.count) entries: nothing anchors this log (checkpoints deleted?)")
        }
        report.uncovered = ranges.count - (previous?.size ?? 0)
        return report
    }

    /// The first entry in `range` whose bytes are not the canonical encoding of the leaf they decode to.
    static func firstNonCanonical(_ entries: LazyEntries, _ range: Range<Int>) -> Int? {
        let decoder = JSONDecoder()
        return range.first { i in
            let entry = entries[i]
            guard let leaf = try? decoder.decode(AuditLeaf.self, from: entry) else { return true }
            return (try? AuditEncoding.canonical(leaf)) != entry
        }
    }

    /// Entries materialised only when a failure needs them.
    struct LazyEntries {
        let raw: [UInt8]
        let ranges: [Range<Int>]
        subscript(i: Int) -> Data { Data(raw[ranges[i]]) }
    }

    /// Reads a log directory and verifies it. Without `verifier`, the directory's own key is used (which proves
    /// integrity against later edits, not against whoever holds that key).
    public static func verify(directory: String, verifier: NoteVerifier?) throws -> AuditVerification {
        let raw = [UInt8](FileManager.default.contents(atPath: directory + "/entries") ?? Data())
        let (ranges, complete) = AuditEncoding.entryRanges(raw)
        let key: NoteVerifier
        if let verifier {
            key = verifier
        } else {
            guard let origin = originFromNotes(directory) ?? nil else {
                throw AuditError(.badRequest, "no checkpoint in \(directory): pass the verifier key")
            }
            key = try NoteSigner.load(path: directory + "/checkpoint.key", name: origin).verifier
        }
        var report = verify(raw: raw, ranges: ranges, notes: AuditLog.readNotes(directory + "/checkpoints"), verifier: key)
        report.tornTailBytes = raw.count - complete
        return report
    }

    static func originFromNotes(_ directory: String) -> String?? {
        guard let note = AuditLog.readNotes(directory + "/checkpoints").first,
            let firstLine = note.split(separator: "\n").first
        else { return nil }
        return String(firstLine)
    }
}
