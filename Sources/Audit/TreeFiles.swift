import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The log's hash files in `<audit>/tree/`: one append-only file per tree height and one of entry offsets, so
/// the running log can serve proofs, tiles and entries from disk and keeps only the tree's right edge in memory.
///
/// - `tree/<h>` (h = 0, 1, 2, …): the hashes of the complete subtrees of height `h`, left to right, 32 bytes each
///   (`tree/0` holds the leaf hashes; a tlog-tiles hash tile of level L is 256 consecutive hashes of `tree/<8L>`).
/// - `tree/bundles`: the byte offset in `entries` of entry `k·256` (the first entry of entry bundle `k`), as an
///   8-byte big-endian integer, for k = 0, 1, 2, …
///
/// All are derived from `entries` and rebuilt from it when missing or behind. Not thread-safe: the ``AuditLog``
/// actor owns it; only ``sync(_:)`` of descriptors it hands out runs elsewhere.
final class TreeFiles {
    let directory: String
    /// Descriptors by height (`-1`: not opened yet).
    private var descriptors: [Int32] = []
    /// Hashes stored per height.
    private(set) var counts: [Int] = []
    private let bundlesDescriptor: Int32
    /// Offsets stored in `tree/bundles`.
    private(set) var bundleCount: Int
    /// Descriptors written since the last ``takeDirty()``.
    private var dirty = Set<Int32>()
    /// Set when a file may hold bytes beyond its count (opened, or a failed write could not be undone): the next
    /// ``cut(to:)`` then checks every file's length.
    private var damaged = true

    /// Opens the directory's files (creating the directory with mode 0700).
    /// - Throws: ``AuditError`` `audit_unavailable` when a file cannot be opened.
    init(directory: String) throws {
        self.directory = directory
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        bundlesDescriptor = try Self.openFile(directory + "/bundles")
        bundleCount = Self.length(bundlesDescriptor) / 8
        var height = 0
        while height < 64, FileManager.default.fileExists(atPath: "\(directory)/\(height)") {
            _ = try descriptor(height)
            height += 1
        }
    }

    deinit {
        for fd in descriptors where fd >= 0 { close(fd) }
        close(bundlesDescriptor)
    }

    private static func openFile(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AuditError(.unavailable, "cannot open \(path)") }
        return fd
    }

    private static func length(_ fd: Int32) -> Int {
        var info = stat()
        return fstat(fd, &info) == 0 ? Int(info.st_size) : 0
    }

    private func descriptor(_ height: Int) throws -> Int32 {
        while descriptors.count <= height {
            descriptors.append(-1)
            counts.append(0)
        }
        if descriptors[height] < 0 {
            let fd = try Self.openFile("\(directory)/\(height)")
            descriptors[height] = fd
            counts[height] = Self.length(fd) / 32
        }
        return descriptors[height]
    }

    /// Hashes stored at `height`.
    func count(height: Int) -> Int { height < counts.count ? counts[height] : 0 }

    /// The largest tree size whose every complete subtree is stored: each height `h` holds at least `n >> h` hashes.
    var consistentLeafCount: Int {
        var n = count(height: 0)
        for height in 1..<max(1, counts.count) where n >> height > counts[height] {
            n = ((counts[height] + 1) << height) - 1
        }
        return n
    }

    // MARK: Reading

    /// Hashes `start ..< start + count` of `height`, concatenated.
    /// - Throws: ``AuditError`` `audit_corrupt` when they are not stored.
    func nodes(height: Int, start: Int, count: Int) throws -> Data {
        guard count > 0 else { return Data() }
        guard start >= 0, start + count <= self.count(height: height) else {
            throw AuditError(.corrupt, "hash file \(height) holds \(self.count(height: height)) hashes, not \(start + count)")
        }
        return try ReadOnlyFile.read(try descriptor(height), at: start * 32, count: count * 32, "hash file \(height) in \(directory)")
    }

    /// The hash of the complete subtree at `height` and `index`.
    func node(height: Int, index: Int) throws -> Hash32 {
        let bytes = try nodes(height: height, start: index, count: 1)
        return bytes.withUnsafeBytes { Hash32($0) }
    }

    /// The byte offset of entry `k·256` in the entries file.
    func bundleOffset(_ k: Int) throws -> Int {
        guard k >= 0, k < bundleCount else { throw AuditError(.corrupt, "no offset of entry bundle \(k) in \(directory)") }
        let bytes = try ReadOnlyFile.read(bundlesDescriptor, at: k * 8, count: 8, "\(directory)/bundles")
        return Int(truncatingIfNeeded: bytes.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) })
    }

    // MARK: Writing (not synced; see `takeDirty`)

    private func writeAll(_ fd: Int32, _ data: Data, before: Int) throws {
        let ok = data.withUnsafeBytes { raw -> Bool in
            guard let base = raw.baseAddress else { return true }
            var done = 0
            while done < raw.count {
                let n = write(fd, base + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { return false }
                done += n
            }
            return true
        }
        dirty.insert(fd)
        guard ok else {
            let code = errno
            if ftruncate(fd, off_t(before)) != 0 { damaged = true }
            throw AuditError(.unavailable, "write to \(directory) failed (errno \(code))")
        }
    }

    /// Appends hashes (32 bytes each) at `height`.
    func append(height: Int, _ hashes: Data) throws {
        guard !hashes.isEmpty else { return }
        let fd = try descriptor(height)
        try writeAll(fd, hashes, before: counts[height] * 32)
        counts[height] += hashes.count / 32
    }

    /// Appends the offsets of the next entry bundles.
    func appendBundleOffsets(_ offsets: [Int]) throws {
        guard !offsets.isEmpty else { return }
        var data = Data(capacity: offsets.count * 8)
        for offset in offsets { withUnsafeBytes(of: UInt64(offset).bigEndian) { data.append(contentsOf: $0) } }
        try writeAll(bundlesDescriptor, data, before: bundleCount * 8)
        bundleCount += offsets.count
    }

    /// What is stored, to cut back to after a failed batch.
    struct Mark {
        let counts: [Int]
        let bundles: Int
    }

    var mark: Mark { Mark(counts: counts, bundles: bundleCount) }

    /// Cuts every file back to `mark`.
    /// - Throws: ``AuditError`` `audit_unavailable` when a file cannot be cut.
    func cut(to mark: Mark) throws {
        for height in counts.indices {
            let keep = height < mark.counts.count ? mark.counts[height] : 0
            if counts[height] != keep || (damaged && Self.length(descriptors[height]) != keep * 32) {
                try truncate(descriptors[height], keep * 32)
                counts[height] = keep
            }
        }
        if bundleCount != mark.bundles || (damaged && Self.length(bundlesDescriptor) != mark.bundles * 8) {
            try truncate(bundlesDescriptor, mark.bundles * 8)
            bundleCount = mark.bundles
        }
        damaged = false
    }

    /// Cuts the files back to what a tree of `size` leaves and its entry bundles need at most.
    func cut(toLeaves size: Int, bundles: Int) throws {
        let heights = counts.indices.map { min(counts[$0], size >> $0) }
        try cut(to: Mark(counts: heights, bundles: min(bundleCount, bundles)))
    }

    private func truncate(_ fd: Int32, _ length: Int) throws {
        dirty.insert(fd)
        guard fd >= 0, ftruncate(fd, off_t(length)) == 0 else { throw AuditError(.unavailable, "cannot truncate a file in \(directory)") }
    }

    /// The descriptors written since the last call, for ``sync(_:)``.
    func takeDirty() -> [Int32] {
        defer { dirty.removeAll() }
        return Array(dirty)
    }

    /// Marks descriptors written again (their sync failed).
    func markDirty(_ descriptors: [Int32]) { dirty.formUnion(descriptors) }

    /// fsyncs descriptors (on any thread; they stay open as long as the files).
    /// - Throws: ``AuditError`` `audit_unavailable` when an fsync fails.
    static func sync(_ descriptors: [Int32]) throws {
        for fd in descriptors where fsync(fd) != 0 {
            throw AuditError(.unavailable, "fsync of an audit hash file failed (errno \(errno))")
        }
    }
}
