import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file opened for positioned reads (`pread`), safe from any thread: the entries file as the log serves it.
final class ReadOnlyFile: Sendable {
    let path: String
    private let descriptor: Int32

    /// Opens `path` read-only.
    /// - Throws: ``AuditError`` `audit_unavailable` when it cannot be opened.
    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw AuditError(.unavailable, "cannot open \(path) for reading") }
    }

    deinit { close(descriptor) }

    /// `count` bytes at `offset`.
    /// - Throws: ``AuditError`` `audit_corrupt` when the file ends before them.
    func read(at offset: Int, count: Int) throws -> Data {
        try Self.read(descriptor, at: offset, count: count, path)
    }

    /// `count` bytes at `offset` of the open file `fd`; `what` names it in the error.
    static func read(_ fd: Int32, at offset: Int, count: Int, _ what: String) throws -> Data {
        guard count > 0 else { return Data() }
        var out = Data(count: count)
        let done = out.withUnsafeMutableBytes { buffer -> Int in
            guard let base = buffer.baseAddress else { return 0 }
            var done = 0
            while done < count {
                let n = pread(fd, base + done, count - done, off_t(offset + done))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                done += n
            }
            return done
        }
        guard done == count else { throw AuditError(.corrupt, "\(what) ends before byte \(offset + count)") }
        return out
    }
}
