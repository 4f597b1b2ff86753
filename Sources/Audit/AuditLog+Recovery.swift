import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension AuditLog {
    /// The log's state after start-up recovery.
    struct Opened {
        let tree: TreeFiles
        let edge: CompactRange
        let entriesLength: Int
        let recoveredBytes: Int
        let rebuiltLeafHashes: Int
        let latest: Checkpoint?
        let latestNote: String?
    }

    /// Start-up: reads the latest checkpoint, re-hashes the entries from the entry bundle holding it onwards and
    /// compares them with the stored leaf hashes, rebuilds hashes that are missing or behind, cuts a torn tail,
    /// and checks the root of the checkpoint's size from the stored hashes. Reads O(entries after the latest
    /// checkpoint + 256) entries and O(log n) hashes — except the first time (no hash files: every entry is
    /// hashed once) or when stored hashes before the checkpoint disagree with the entries (all are rebuilt from
    /// the entries, and the checkpoint then decides).
    static func recover(
        directory: String, entriesFile: LogFile, checkpointsFile: LogFile, verifier: NoteVerifier
    ) throws -> Opened {
        let (note, keep) = latestStoredNote(directory + "/checkpoints")
        // A torn last line (no newline) would glue itself to the next checkpoint: cut it back.
        if let keep { try checkpointsFile.truncate(to: keep) }
        let checkpoint = try note.map { try Checkpoint(body: try verifier.open($0)) }
        let tree = try TreeFiles(directory: directory + "/tree")
        let fd = open(directory + "/entries", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AuditError(.unavailable, "cannot read \(directory)/entries") }
        defer { close(fd) }
        func missing(_ scan: TailScan) -> AuditError? {
            guard let checkpoint, !scan.contradicted, checkpoint.size > scan.edge.size else { return nil }
            return AuditError(
                .corrupt, "the log has \(scan.edge.size) entries but its signed checkpoint covers \(checkpoint.size): acknowledged records are missing")
        }
        var scan = try TailScan(tree: tree, fd: fd, checkpointSize: checkpoint?.size ?? 0, rebuildAll: false)
        if let error = missing(scan) { throw error }
        if scan.contradicted || !scan.matches(checkpoint) {
            // Stored hashes disagree with the entries before the checkpoint, or with the checkpoint: rebuild them
            // all from the entries and let the checkpoint decide.
            scan = try TailScan(tree: tree, fd: fd, checkpointSize: checkpoint?.size ?? 0, rebuildAll: true)
            if let error = missing(scan) { throw error }
            guard scan.matches(checkpoint) else {
                throw AuditError(.corrupt, "entries before \(checkpoint?.size ?? 0) differ from the signed checkpoint")
            }
        }
        if scan.tornTail > 0 { try entriesFile.truncate(to: scan.completeEnd) }
        try TreeFiles.sync(tree.takeDirty())
        return Opened(
            tree: tree, edge: scan.edge, entriesLength: scan.completeEnd, recoveredBytes: scan.tornTail,
            rebuiltLeafHashes: scan.rebuilt, latest: checkpoint, latestNote: note)
    }

    /// The checkpoint notes stored in a `checkpoints` file, oldest first (torn or malformed lines skipped).
    public static func readNotes(_ path: String) -> [String] {
        guard let text = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: text, as: UTF8.self).split(separator: "\n").compactMap { line in
            (try? JSONDecoder().decode([String: String].self, from: Data(line.utf8)))?["note"]
        }
    }

    /// The last note in a `checkpoints` file, read from its end; and the length to cut the file to when its last
    /// line is torn (no newline). Lines that are not JSON notes are skipped, as ``readNotes(_:)`` does.
    static func latestStoredNote(_ path: String) -> (note: String?, keep: Int?) {
        guard let file = try? ReadOnlyFile(path: path) else { return (nil, nil) }
        var info = stat()
        guard stat(path, &info) == 0, info.st_size > 0 else { return (nil, nil) }
        let size = Int(info.st_size)
        var window = 1 << 16
        var keep: Int?
        while true {
            let start = max(0, size - window)
            guard let bytes = try? [UInt8](file.read(at: start, count: size - start)) else { return (nil, keep) }
            var end = bytes.count
            if keep == nil, bytes.last != 0x0A {
                if let newline = bytes.lastIndex(of: 0x0A) {
                    keep = start + newline + 1
                    end = newline + 1
                } else if start == 0 {
                    return (nil, 0)
                } else {
                    window *= 2
                    continue
                }
            } else if let keep {
                end = keep - start
            }
            let split = bytes[..<end].split(separator: 0x0A)
            let lines = start > 0 ? Array(split.dropFirst()) : split  // a window may begin mid-line
            for line in lines.reversed() {
                if let note = (try? JSONDecoder().decode([String: String].self, from: Data(line)))?["note"] { return (note, keep) }
            }
            if start == 0 { return (nil, keep) }
            window *= 2
        }
    }
}

/// One pass over the entries from a bundle at or before the latest checkpoint to the end of the file, against
/// the stored hashes (see ``AuditLog/recover(directory:entriesFile:checkpointsFile:verifier:)``).
struct TailScan {
    let tree: TreeFiles
    private(set) var edge = CompactRange()
    /// Where the complete entries end, and the bytes after that.
    private(set) var completeEnd = 0
    private(set) var tornTail = 0
    /// Leaf hashes appended to the hash files.
    private(set) var rebuilt = 0
    /// A stored hash of entries before the checkpoint differs from the one recomputed from them, or the entry
    /// where the scan started is not the one the offsets file names.
    private(set) var contradicted = false

    init(tree: TreeFiles, fd: Int32, checkpointSize: Int, rebuildAll: Bool) throws {
        self.tree = tree
        if rebuildAll { try tree.cut(to: TreeFiles.Mark(counts: [], bundles: 0)) }
        var stored = tree.consistentLeafCount
        try tree.cut(toLeaves: stored, bundles: tree.bundleCount)
        // Start at the bundle holding the checkpoint (or the last bundle whose offset is stored, if earlier).
        let width = TlogTiles.width
        let startBundle = tree.bundleCount == 0 ? 0 : min(min(checkpointSize, stored) / width, tree.bundleCount - 1)
        let first = startBundle * width
        let offset = first == 0 ? 0 : try tree.bundleOffset(startBundle)
        var count = 0
        var pending = NodeBatch()
        var bundles: [Int] = []
        // The right edge before the scan's first entry comes from the files; the root check below covers it.
        var growing = try CompactRange(size: first) { try tree.node(height: $0, index: $1) }
        var completed: [(height: Int, hash: Hash32)] = []
        var failed = false
        let end = try EntriesFileScan.scan(fd: fd, from: offset, blockSize: 1 << 20) { view, ranges, base in
            let firstInBlock = first + count
            let storedLeaves = try tree.nodes(height: 0, start: firstInBlock, count: max(0, min(stored, firstInBlock + ranges.count) - firstInBlock))
            for (k, range) in ranges.enumerated() {
                let index = firstInBlock + k
                let bytes = UnsafeRawBufferPointer(rebasing: view[range])
                if index == first && first > 0 && !AuditEncoding.hasLeafPrefix(bytes, index: first) {
                    failed = true
                    return false
                }
                if index % width == 0 {
                    let offset = base + range.lowerBound - 4
                    let bundle = index / width
                    if bundle < tree.bundleCount, try tree.bundleOffset(bundle) != offset {
                        try tree.cut(to: TreeFiles.Mark(counts: tree.counts, bundles: bundle))
                    }
                    if bundle == tree.bundleCount + bundles.count { bundles.append(offset) }
                }
                // Every hash this entry completes (its leaf, and the subtrees it closes) is compared with the
                // stored one, or written when the files do not have it yet.
                completed.removeAll(keepingCapacity: true)
                growing.append(MerkleHash.leaf32(bytes)) { completed.append(($0, $1)) }
                if index < stored {
                    let same = try completed.allSatisfy { node in
                        let kept = node.height == 0
                            ? storedLeaves.withUnsafeBytes { Hash32(UnsafeRawBufferPointer(rebasing: $0[(k * 32)..<(k * 32 + 32)])) }
                            : try tree.node(height: node.height, index: index >> node.height)
                        return kept == node.hash
                    }
                    if same { continue }
                    if index < checkpointSize {
                        failed = true
                        return false
                    }
                    // After the checkpoint the entries are the record: replace the stored hashes from here on.
                    try tree.cut(toLeaves: index, bundles: tree.bundleCount)
                    stored = index
                }
                for node in completed { pending.add(height: node.height, node.hash) }
            }
            count += ranges.count
            if pending.byteCount > 1 << 20 {
                try pending.write(to: tree)
                try tree.appendBundleOffsets(bundles)
                bundles.removeAll()
            }
            return true
        }
        // The entry the offsets file names as the scan's start must be there.
        contradicted = failed || (first > 0 && count == 0)
        guard !contradicted else { return }
        try pending.write(to: tree)
        try tree.appendBundleOffsets(bundles)
        completeEnd = end.completeEnd
        tornTail = end.tornTail
        let size = first + count
        rebuilt = max(0, size - stored)
        // Hash files ahead of the entries (an entry write that never completed) are cut back.
        try tree.cut(toLeaves: size, bundles: (size + width - 1) / width)
        edge = growing
    }

    /// Whether the stored hashes give the checkpoint's root (true without a checkpoint); false when the log has
    /// fewer entries than the checkpoint covers.
    func matches(_ checkpoint: Checkpoint?) -> Bool {
        guard let checkpoint else { return true }
        guard checkpoint.size <= edge.size else { return false }
        let root = try? MerklePaths.root(size: checkpoint.size, treeSize: edge.size) { try tree.node(height: $0, index: $1) }
        return root == checkpoint.root
    }
}
