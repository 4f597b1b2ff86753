import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Offline verification of an entries file, streamed through one reused buffer.
///
/// The file is read in 1 MiB blocks; each block's complete entries are hashed on every core while they are
/// still in cache, and an incomplete last entry moves to the front of the buffer for the next read. Memory
/// stays at one block (plus 32 bytes of leaf hash per entry) whatever the log size,
/// and no fresh memory has to be faulted in and zeroed per megabyte of log — which, for a whole-file buffer,
/// cost as much as the hashing. Entry bytes are read again only for failure messages.
struct EntriesFileScan {
    let path: String
    /// Entry bytes by index, loaded on first use.
    final class Positions {
        private var loaded: (raw: [UInt8], ranges: [Range<Int>])?

        func entry(_ i: Int, path: String) -> Data? {
            if loaded == nil {
                let raw = LogFile.readAll(path: path)
                loaded = (raw, AuditEncoding.entryRanges(raw).ranges)
            }
            guard let loaded, i >= 0, i < loaded.ranges.count else { return nil }
            return Data(loaded.raw[loaded.ranges[i]])
        }
    }

    /// Bytes read per block; an entry longer than this grows the buffer.
    let blockSize: Int

    init(path: String, blockSize: Int) {
        self.path = path
        self.blockSize = max(16, blockSize)
    }

    func verify(notes: [String], verifier: NoteVerifier) -> AuditVerification {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        defer { if fd >= 0 { close(fd) } }
        var info = stat()
        var leaves: [Hash32] = []
        leaves.reserveCapacity((fd >= 0 && fstat(fd, &info) == 0 ? Int(info.st_size) : 0) / 128 + 1)
        var suspects: [Int] = []
        let end = Self.scan(fd: fd, from: 0, blockSize: blockSize) { view, ranges, _ in
            suspects += AuditVerifier.hashLeaves(view, ranges[...], firstIndex: leaves.count, into: &leaves)
            return true
        }
        let tornTail = end.tornTail
        let readFailure = end.readFailure
        // Entry bytes are needed only for failure messages: then the file is read again, whole. (An append-only
        // log keeps earlier entries' bytes; a file rewritten in between could be described by other bytes than
        // were hashed, but the verdict comes from the hashes.)
        let path = self.path
        let positions = Positions()
        let entry: (Int) -> Data? = { i in positions.entry(i, path: path) }
        var report = AuditVerifier.finish(leaves: leaves, suspects: suspects, entry: entry, notes: notes, verifier: verifier)
        report.tornTailBytes = tornTail
        if let readFailure { report.failures.insert(readFailure, at: 0) }
        return report
    }

    /// Streams the complete entries of the entries file open at `fd`, from byte `offset` (where an entry starts),
    /// through one reused buffer of `blockSize` bytes (grown for an entry longer than that). `body` gets each
    /// block's bytes, the ranges of the complete entries in it (relative to the block; never empty) and the
    /// block's file offset, and returns false to stop there. The complete prefix ends at a zero length, at a length reaching past the end of the
    /// file, or at the end of the file — as `AuditEncoding.entryRanges` defines it.
    /// - Returns: the file offset where the complete prefix ends, the bytes after it (the torn tail), and a message
    ///   if a read failed.
    static func scan(
        fd: Int32, from offset: Int, blockSize: Int, _ body: (UnsafeRawBufferPointer, [Range<Int>], Int) throws -> Bool
    ) rethrows -> (completeEnd: Int, tornTail: Int, readFailure: String?) {
        var info = stat()
        let size = fd >= 0 && fstat(fd, &info) == 0 ? Int(info.st_size) : 0
        var capacity = max(16, blockSize)
        var buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var filled = 0  // valid bytes at the start of the buffer
        var base = offset  // file offset of the buffer's first byte
        var atEnd = fd < 0
        var readFailure: String?
        while true {
            while !atEnd && filled < capacity {
                let n = pread(fd, buffer + filled, capacity - filled, off_t(base + filled))
                if n < 0 && errno == EINTR { continue }
                if n < 0 { readFailure = "entries file: read failed at byte \(base + filled) (errno \(errno)); entries after it were not checked" }
                if n <= 0 {
                    atEnd = true
                    break
                }
                filled += n
            }
            let view = UnsafeRawBufferPointer(start: buffer, count: filled)
            let (ranges, complete) = AuditEncoding.entryRanges(view)
            if !ranges.isEmpty, !(try body(view, ranges, base)) { return (base, 0, readFailure) }
            if atEnd { return (base + complete, filled - complete, readFailure) }
            if complete == 0 {
                // The next entry does not fit in the buffer. A zero length, or one reaching past the end of the file,
                // is where the complete prefix ends (everything after it is the torn tail, as entryRanges defines it):
                // stop without reading on. Otherwise it is one long entry: grow the buffer to hold it.
                let length = Int(UInt32(bigEndian: view.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
                let remaining = max(filled, size - base)
                if length == 0 || 4 + length > remaining { return (base, remaining, readFailure) }
                let needed = max(capacity * 2, 4 + length)
                let grown = UnsafeMutableRawPointer.allocate(byteCount: needed, alignment: 16)
                grown.copyMemory(from: buffer, byteCount: filled)
                buffer.deallocate()
                buffer = grown
                capacity = needed
                continue
            }
            memmove(buffer, buffer + complete, filled - complete)
            base += complete
            filled -= complete
        }
    }
}
