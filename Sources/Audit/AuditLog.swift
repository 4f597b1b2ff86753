import Foundation
import SealgateCore
import Synchronization

/// The tamper-evident audit log: an RFC 9162 Merkle tree over canonical leaves, durably appended with group
/// commit, with C2SP checkpoints signed by an Ed25519 key.
///
/// Files in its directory: `entries` (length-prefixed leaves), `checkpoints` (JSON lines `{"note": …}`),
/// `checkpoint.key` (mode 0600), and the hash files in `tree/` (see `docs/audit-format.md`). ``append(_:)``
/// returns only after the leaf is fsynced; concurrent appends share one write and one fsync.
///
/// Memory does not grow with the log: the actor keeps the tree's right edge (one hash per height) and the latest
/// checkpoint; entries, hashes, tiles and proofs are read from the files on demand. Opening reads the latest
/// checkpoint and the entries after it, not the whole log: a torn tail is cut back to the last complete entry,
/// hash files that are missing or behind are rebuilt from the entries, and a log whose entries or hashes
/// disagree with its own latest signed checkpoint refuses to open. Every open ends with a signed checkpoint of
/// the current size (also of size 0), so a log is anchored even if the process dies right after.
public actor AuditLog: AuditSink {
    public nonisolated let origin: String
    public nonisolated let directory: String
    /// Bytes of a torn tail cut when the log was opened (0 when it was clean).
    public nonisolated let recoveredBytes: Int
    /// Leaf hashes the open recomputed from entries and wrote to the hash files: all of them the first time a log
    /// written by an older build (without hash files) is opened, else the entries the files were missing.
    public nonisolated let rebuiltLeafHashes: Int
    public nonisolated let verifier: NoteVerifier
    let signer: NoteSigner
    let entriesFile: LogFile
    let entriesReader: ReadOnlyFile
    let checkpointsFile: LogFile
    let treeFiles: TreeFiles
    let checkpointEvery: Int
    /// The right edge of the tree of all durable entries; its size is the log's size.
    var edge: CompactRange
    /// Bytes of durable entries in the entries file.
    var entriesLength: Int
    var flushing = false
    var latestNote: String?
    /// When a reader last had a checkpoint signed on demand (``checkpointNote(freshness:)``).
    var lastOnDemand: ContinuousClock.Instant?
    var latest: Checkpoint?
    let checkpointLock = AsyncMutex()
    /// Called with every checkpoint note signed after it is set (witness submission).
    var checkpointObserver: (@Sendable (String) -> Void)?
    /// The leaf hashes of the latest durable entries, readable without a turn on the actor (``recentLeafHash(_:)``):
    /// every answer's receipt names its record's leaf hash right after the append returned.
    let recentLeaves = Mutex(RecentLeaves())

    /// Opens or creates the log, and signs a checkpoint of its size unless the latest one already has it.
    /// - Parameters:
    ///   - origin: the checkpoint origin line and signing key name.
    ///   - checkpointEvery: sign a checkpoint after this many new records (time-based checkpoints come from
    ///     ``checkpointIfNeeded()``, called by a service).
    /// - Throws: ``AuditError`` `audit_corrupt` when entries contradict the latest checkpoint, `bad_signature` when
    ///   that checkpoint does not verify with the log's key, `audit_unavailable` when files cannot be opened,
    ///   written or synced.
    public init(directory: String, origin: String, checkpointEvery: Int = 1000) throws {
        self.directory = directory
        self.origin = origin
        self.checkpointEvery = max(1, checkpointEvery)
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        signer = try NoteSigner.loadOrCreate(path: directory + "/checkpoint.key", name: origin)
        verifier = signer.verifier
        entriesFile = try LogFile(path: directory + "/entries")
        entriesReader = try ReadOnlyFile(path: directory + "/entries")
        checkpointsFile = try LogFile(path: directory + "/checkpoints")
        let opened = try Self.recover(
            directory: directory, entriesFile: entriesFile, checkpointsFile: checkpointsFile, verifier: signer.verifier)
        var checkpoint = opened.latest
        var note = opened.latestNote
        if checkpoint?.size != opened.edge.size {
            // Anchor what is there now (the recovery synced the hash files).
            let current = Checkpoint(origin: origin, size: opened.edge.size, root: opened.edge.root)
            let signed = try signer.sign(current.body)
            try checkpointsFile.appendDurablySync(try Self.noteLine(signed))
            checkpoint = current
            note = signed
        }
        latest = checkpoint
        latestNote = note
        treeFiles = opened.tree
        edge = opened.edge
        entriesLength = opened.entriesLength
        recoveredBytes = opened.recoveredBytes
        rebuiltLeafHashes = opened.rebuiltLeafHashes
    }

    static func noteLine(_ note: String) throws -> Data {
        try JSONEncoder().encode(["note": note]) + Data("\n".utf8)
    }

    /// Number of durable entries.
    public var size: Int { edge.size }

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

    /// Writes queued records in batches: their hashes go to the hash files (unsynced), then the entries are
    /// written and fsynced — the commit point. A failure cuts every file back and fails the whole batch.
    private func flush() async {
        while !pendingRecords.isEmpty {
            let batch = pendingRecords
            pendingRecords = []
            var buffer = Data()
            var encoded: [CheckedContinuation<UInt64, any Error>] = []
            var grown = edge
            var nodes = NodeBatch()
            var bundleOffsets: [Int] = []
            var leaves: [Hash32] = []
            for (record, continuation) in batch {
                guard let entry = try? AuditEncoding.canonical(AuditLeaf(index: UInt64(grown.size), record: record)), entry.count <= 65_535 else {
                    continuation.resume(throwing: SealgateError(.auditUnavailable, "audit record could not be encoded"))
                    continue
                }
                if grown.size % TlogTiles.width == 0 { bundleOffsets.append(entriesLength + buffer.count) }
                buffer.append(AuditEncoding.frame(entry))
                let leaf = entry.withUnsafeBytes(MerkleHash.leaf32)
                grown.append(leaf) { nodes.add(height: $0, $1) }
                leaves.append(leaf)
                encoded.append(continuation)
            }
            guard !encoded.isEmpty else { continue }
            do {
                // Bytes a failed batch may have left behind are cut first (nothing is cut when counts match).
                try treeFiles.cut(toLeaves: edge.size, bundles: (edge.size + TlogTiles.width - 1) / TlogTiles.width)
                try nodes.write(to: treeFiles)
                try treeFiles.appendBundleOffsets(bundleOffsets)
                try await entriesFile.appendDurably(buffer)
            } catch {
                try? treeFiles.cut(toLeaves: edge.size, bundles: (edge.size + TlogTiles.width - 1) / TlogTiles.width)
                for continuation in encoded {
                    continuation.resume(throwing: SealgateError(.auditUnavailable, "audit record could not be made durable"))
                }
                continue
            }
            let first = edge.size
            edge = grown
            entriesLength += buffer.count
            recentLeaves.withLock { $0.record(leaves, from: first) }
            for (k, continuation) in encoded.enumerated() { continuation.resume(returning: UInt64(first + k)) }
            if edge.size - (latest?.size ?? 0) >= checkpointEvery { _ = try? await checkpointIfNeeded() }
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
        guard edge.size > (latest?.size ?? 0) || latest == nil else { return latestNote }
        let checkpoint = Checkpoint(origin: origin, size: edge.size, root: edge.root)
        // The hash files are synced before a checkpoint is stored, so they always cover the latest checkpoint and
        // the next open verifies only the entries after it.
        let written = treeFiles.takeDirty()
        do {
            try await entriesFile.onQueue { try TreeFiles.sync(written) }
        } catch {
            treeFiles.markDirty(written)
            throw error
        }
        let note = try signer.sign(checkpoint.body)
        try await checkpointsFile.appendDurably(try Self.noteLine(note))
        latest = checkpoint
        latestNote = note
        latestSignedAt = Date()
        checkpointObserver?(note)
        return note
    }

    /// The latest signed checkpoint note (the open signs one, so there always is one). When the log grew since
    /// the latest checkpoint and that one is at least `freshness` old, a checkpoint of the current size is signed
    /// first, so a reader is never more than `freshness` behind; the rate limit bounds what anonymous readers can
    /// make the log sign (one note and one fsync per `freshness` at most).
    public func checkpointNote(freshness: Duration = .seconds(1)) async throws -> String {
        let now = ContinuousClock.now
        if edge.size > (latest?.size ?? 0), lastOnDemand.map({ now - $0 >= freshness }) ?? true {
            lastOnDemand = now
            if let note = try await checkpointIfNeeded() { return note }
        }
        if let latestNote { return latestNote }
        return try await checkpointIfNeeded() ?? ""
    }

    /// The latest checkpoint.
    public var latestCheckpoint: Checkpoint? { latest }

    /// When this process last signed a checkpoint (nil before its first one: a checkpoint found at start-up has
    /// no signing time in the log).
    public private(set) var latestSignedAt: Date?

    /// The latest signed checkpoint note, without signing one.
    public var latestSignedNote: String? { latestNote }

    /// Sets (or, with `nil`, removes) the function called with each checkpoint note signed from now on, after it is
    /// durable. It must not block: the witness service only hands the note to its queue.
    public func setCheckpointObserver(_ observer: (@Sendable (String) -> Void)?) { checkpointObserver = observer }
}

/// Hashes completed by a batch of appends, by height, for the hash files.
struct NodeBatch {
    private var levels: [Data] = []

    mutating func add(height: Int, _ hash: Hash32) {
        while levels.count <= height { levels.append(Data()) }
        withUnsafeBytes(of: hash) { levels[height].append(contentsOf: $0) }
    }

    /// Bytes held (to flush long runs in pieces).
    var byteCount: Int { levels.reduce(0) { $0 + $1.count } }

    /// Appends every height's hashes to its file and empties the batch.
    mutating func write(to files: TreeFiles) throws {
        for (height, hashes) in levels.enumerated() { try files.append(height: height, hashes) }
        levels.removeAll()
    }
}

/// A ring of the latest durable entries' leaf hashes, by index (the same hashes the tree files store).
struct RecentLeaves: Sendable {
    static let capacity = 4096
    private var slots: [(index: Int, hash: Hash32)?] = Array(repeating: nil, count: capacity)

    /// Records the leaf hashes of the entries from index `first` on, made durable together.
    mutating func record(_ hashes: [Hash32], from first: Int) {
        for (k, hash) in hashes.enumerated() { slots[(first + k) % Self.capacity] = (first + k, hash) }
    }

    /// The leaf hash of entry `index` if it is among the latest ``capacity`` entries.
    func hash(_ index: Int) -> Hash32? {
        guard index >= 0, let slot = slots[index % Self.capacity], slot.index == index else { return nil }
        return slot.hash
    }
}

extension AuditLog {
    /// The leaf hash of entry `index` when it is one of the latest 4,096 durable entries (`nil` otherwise: read it with
    /// ``leafHash(_:)``). It needs no turn on the actor: an answer's receipt reads it right after its append.
    public nonisolated func recentLeafHash(_ index: Int) -> Data? {
        recentLeaves.withLock { $0.hash(index) }?.data
    }
}
