import Foundation
import SealgateCore

/// The tamper-evident audit log: an RFC 9162 Merkle tree over canonical leaves, durably appended with group
/// commit, with C2SP checkpoints signed by an Ed25519 key.
///
/// Files in its directory: `entries` (length-prefixed leaves), `checkpoints` (JSON lines `{"note": …}`),
/// `checkpoint.key` (mode 0600). ``append(_:)`` returns only after the leaf is fsynced; concurrent appends share
/// one write and one fsync. On open, a torn tail is cut back to the last complete entry; a log whose entries
/// disagree with its own latest signed checkpoint refuses to open. Every open ends with a signed checkpoint of the
/// current size (also of size 0), so a log is anchored even if the process dies right after.
public actor AuditLog: AuditSink {
    public nonisolated let origin: String
    public nonisolated let directory: String
    /// Bytes of a torn tail cut when the log was opened (0 when it was clean).
    public nonisolated let recoveredBytes: Int
    public nonisolated let verifier: NoteVerifier
    let signer: NoteSigner
    let entriesFile: LogFile
    let checkpointsFile: LogFile
    let checkpointEvery: Int
    var tree: MerkleTree
    var entries: [Data]
    var flushing = false
    var latestNote: String?
    var latest: Checkpoint?
    let checkpointLock = AsyncMutex()

    /// Opens or creates the log, and signs a checkpoint of its size unless the latest one already has it.
    /// - Parameters:
    ///   - origin: the checkpoint origin line and signing key name.
    ///   - checkpointEvery: sign a checkpoint after this many new records (time-based checkpoints come from
    ///     ``checkpointIfNeeded()``, called by a service).
    /// - Throws: ``AuditError`` `audit_corrupt` when entries contradict the latest checkpoint, `audit_unavailable`
    ///   when files cannot be opened or the checkpoint cannot be written.
    public init(directory: String, origin: String, checkpointEvery: Int = 1000) throws {
        self.directory = directory
        self.origin = origin
        self.checkpointEvery = max(1, checkpointEvery)
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        signer = try NoteSigner.loadOrCreate(path: directory + "/checkpoint.key", name: origin)
        verifier = signer.verifier
        let entriesPath = directory + "/entries"
        let raw = LogFile.readAll(path: entriesPath)
        let (entries, complete) = AuditEncoding.splitEntries(raw)
        entriesFile = try LogFile(path: entriesPath)
        if complete < raw.count { try entriesFile.truncate(to: complete) }
        recoveredBytes = raw.count - complete
        self.entries = entries
        tree = MerkleTree(leaves: entries.map { $0.withUnsafeBytes(MerkleHash.leaf32) })
        checkpointsFile = try LogFile(path: directory + "/checkpoints")
        // A torn last line (no newline) would glue itself to the next checkpoint: cut it back.
        let notesRaw = [UInt8](FileManager.default.contents(atPath: directory + "/checkpoints") ?? Data())
        if let lastNewline = notesRaw.lastIndex(of: 0x0A), lastNewline + 1 < notesRaw.count {
            try checkpointsFile.truncate(to: lastNewline + 1)
        } else if !notesRaw.isEmpty && !notesRaw.contains(0x0A) {
            try checkpointsFile.truncate(to: 0)
        }
        let notes = AuditLog.readNotes(directory + "/checkpoints")
        if let last = notes.last {
            let checkpoint = try Checkpoint(body: try verifier.open(last))
            guard checkpoint.size <= tree.size else {
                throw AuditError(.corrupt, "the log has \(tree.size) entries but its signed checkpoint covers \(checkpoint.size): acknowledged records are missing")
            }
            guard try tree.root(size: checkpoint.size) == checkpoint.root else {
                throw AuditError(.corrupt, "entries before \(checkpoint.size) differ from the signed checkpoint")
            }
            latest = checkpoint
            latestNote = last
        }
        if latest?.size != tree.size {
            // Anchor what is there now, so a log is covered by a signature from its first second (an empty one too).
            let checkpoint = Checkpoint(origin: origin, size: tree.size, root: tree.root)
            let note = try signer.sign(checkpoint.body)
            try checkpointsFile.appendDurablySync(try JSONEncoder().encode(["note": note]) + Data("\n".utf8))
            latest = checkpoint
            latestNote = note
        }
    }

    /// The checkpoint notes stored in a `checkpoints` file, oldest first (torn or malformed lines skipped).
    public static func readNotes(_ path: String) -> [String] {
        guard let text = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: text, as: UTF8.self).split(separator: "\n").compactMap { line in
            (try? JSONDecoder().decode([String: String].self, from: Data(line.utf8)))?["note"]
        }
    }

    /// Number of durable entries.
    public var size: Int { tree.size }

    /// Appends a record durably; returns its index once it is fsynced.
    /// - Throws: ``SealgateError`` `audit_unavailable` when the record could not be made durable (nothing is kept).
    public func append(_ record: AuditRecord) async throws -> UInt64 {
        try await withCheckedThrowingContinuation { continuation in
            // The index is fixed when the batch is written; encode then.
            enqueue(record, continuation)
        }
    }

    var pendingRecords: [(AuditRecord, CheckedContinuation<UInt64, any Error>)] = []

    private func enqueue(_ record: AuditRecord, _ continuation: CheckedContinuation<UInt64, any Error>) {
        pendingRecords.append((record, continuation))
        if !flushing {
            flushing = true
            Task { await self.flush() }
        }
    }

    private func flush() async {
        while !pendingRecords.isEmpty {
            let batch = pendingRecords
            pendingRecords = []
            var buffer = Data()
            var encoded: [(Data, CheckedContinuation<UInt64, any Error>)] = []
            var next = UInt64(tree.size)
            for (record, continuation) in batch {
                guard let entry = try? AuditEncoding.canonical(AuditLeaf(index: next, record: record)), entry.count <= 65_535 else {
                    continuation.resume(throwing: SealgateError(.auditUnavailable, "audit record could not be encoded"))
                    continue
                }
                buffer.append(AuditEncoding.frame(entry))
                encoded.append((entry, continuation))
                next += 1
            }
            guard !encoded.isEmpty else { continue }
            do {
                try await entriesFile.appendDurably(buffer)
                for (entry, continuation) in encoded {
                    tree.append(entry.withUnsafeBytes(MerkleHash.leaf32))
                    entries.append(entry)
                    continuation.resume(returning: UInt64(tree.size - 1))
                }
                if tree.size - (latest?.size ?? 0) >= checkpointEvery { _ = try? await checkpointIfNeeded() }
            } catch {
                for (_, continuation) in encoded {
                    continuation.resume(throwing: SealgateError(.auditUnavailable, "audit record could not be made durable"))
                }
            }
        }
        flushing = false
    }

    /// Signs and stores a checkpoint of the current size if it grew since the last one; returns the latest note.
    @discardableResult
    public func checkpointIfNeeded() async throws -> String? {
        // One checkpoint at a time, so a caller never returns while another caller's write of the same size is
        // still in flight (it would believe a checkpoint durable that is not yet).
        await checkpointLock.lock()
        do {
            let note = try await signCheckpoint()
            await checkpointLock.unlock()
            return note
        } catch {
            await checkpointLock.unlock()
            throw error
        }
    }

    private func signCheckpoint() async throws -> String? {
        guard tree.size > (latest?.size ?? 0) || latest == nil else { return latestNote }
        let checkpoint = Checkpoint(origin: origin, size: tree.size, root: tree.root)
        let note = try signer.sign(checkpoint.body)
        let line = try JSONEncoder().encode(["note": note]) + Data("\n".utf8)
        try await checkpointsFile.appendDurably(line)
        latest = checkpoint
        latestNote = note
        return note
    }

    /// The latest signed checkpoint note (the open signs one, so there always is one).
    public func checkpointNote() async throws -> String {
        if let latestNote { return latestNote }
        return try await checkpointIfNeeded() ?? ""
    }

    /// The latest checkpoint.
    public var latestCheckpoint: Checkpoint? { latest }

    /// The canonical leaf bytes at `index`.
    public func entry(_ index: Int) -> Data? { index >= 0 && index < entries.count ? entries[index] : nil }

    /// Leaves `start ..< end`.
    public func entries(_ range: Range<Int>) -> [Data] {
        Array(entries[max(0, range.lowerBound)..<min(entries.count, range.upperBound)])
    }

    /// Inclusion proof of `index` in the tree of `size`.
    public func inclusionProof(index: Int, size: Int) throws -> (leafHash: Data, proof: [Data], root: Data) {
        let proof = try tree.inclusionProof(index: index, size: size)
        return (tree.leafHash(index) ?? Data(), proof, try tree.root(size: size))
    }

    /// Consistency proof between two sizes.
    public func consistencyProof(from old: Int, to new: Int) throws -> (proof: [Data], oldRoot: Data, newRoot: Data) {
        (try tree.consistencyProof(from: old, to: new), try tree.root(size: old), try tree.root(size: new))
    }

    /// A tlog-tiles hash tile (see ``TlogTiles``).
    public func tile(level: Int, index: Int, width: Int) throws -> Data {
        try TlogTiles.hashTile(tree: tree, level: level, index: index, width: width)
    }

    /// A tlog-tiles entry bundle.
    public func entryBundle(index: Int, width: Int) throws -> Data {
        try TlogTiles.entryBundle(entries: entries, index: index, width: width)
    }
}
