import Foundation
import SealgateCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An append-only audit file: one JSON line per record, hash-chained, fsynced before ``append(_:)`` returns.
///
/// On open, a torn last line (bytes after the last newline) is cut back to the last complete record and
/// reported. Any write or sync failure throws `audit_unavailable`, so the caller refuses to answer.
public actor FileAuditSink: AuditSink {
    let path: String
    let descriptor: Int32
    var nextIndex: UInt64
    var previous: Data
    /// How many bytes of a torn tail were cut when the file was opened.
    public nonisolated let recoveredBytes: Int

    /// Opens (or creates) the audit file.
    /// - Throws: ``SealgateError`` with `audit_unavailable` when the file cannot be opened or is corrupt before its tail.
    public init(path: String) throws {
        self.path = path
        let fm = FileManager.default
        try? fm.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let existing = fm.contents(atPath: path) ?? Data()
        var index: UInt64 = 0
        var previous = Data(repeating: 0, count: 32)
        var validLength = 0
        var offset = 0
        let bytes = [UInt8](existing)
        let decoder = JSONDecoder()
        while offset < bytes.count {
            guard let newline = bytes[offset...].firstIndex(of: 10) else { break }
            let line = Data(bytes[offset..<newline])
            guard let entry = try? decoder.decode(AuditFileEntry.self, from: line), entry.index == index,
                let canonical = try? AuditEncoding.canonical(entry.record), entry.prev == Hex.encode(previous)
            else {
                // A write is one line ending in its newline, so a torn write never leaves a complete line:
                // a complete line that does not parse or chain is tampering or corruption, never recovered silently.
                throw SealgateError(.auditUnavailable, "audit file \(path) is corrupt at entry \(index)")
            }
            previous = AuditEncoding.chainHash(previous: previous, canonical: canonical)
            index += 1
            offset = newline + 1
            validLength = offset
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SealgateError(.auditUnavailable, "cannot open audit file \(path)") }
        if validLength < bytes.count {
            guard ftruncate(fd, off_t(validLength)) == 0, fsync(fd) == 0 else {
                close(fd)
                throw SealgateError(.auditUnavailable, "cannot cut the torn tail of \(path)")
            }
        }
        self.descriptor = fd
        self.nextIndex = index
        self.previous = previous
        self.recoveredBytes = bytes.count - validLength
    }

    deinit { close(descriptor) }

    /// The number of records in the log.
    public var count: UInt64 { nextIndex }

    public func append(_ record: AuditRecord) throws -> UInt64 {
        let canonical: Data
        let line: Data
        do {
            canonical = try AuditEncoding.canonical(record)
            let entry = AuditFileEntry(index: nextIndex, prev: Hex.encode(previous), record: record)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var encoded = try encoder.encode(entry)
            encoded.append(10)
            line = encoded
        } catch {
            throw SealgateError(.auditUnavailable, "audit record could not be encoded")
        }
        let startLength = currentLength()
        let written = line.withUnsafeBytes { raw -> Int in
            guard let base = raw.baseAddress else { return -1 }
            var done = 0
            while done < raw.count {
                let n = write(descriptor, base + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return -1
                }
                done += n
            }
            return done
        }
        guard written == line.count, fsync(descriptor) == 0 else {
            // Remove a partial line so the file stays parseable and the next start does not see corruption.
            if startLength >= 0 { _ = ftruncate(descriptor, off_t(startLength)) }
            throw SealgateError(.auditUnavailable, "audit record could not be made durable")
        }
        previous = AuditEncoding.chainHash(previous: previous, canonical: canonical)
        let index = nextIndex
        nextIndex += 1
        return index
    }

    private func currentLength() -> Int {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return -1 }
        return Int(info.st_size)
    }
}
