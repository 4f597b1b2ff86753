import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An append-only file whose writes run on one serial queue, off the Swift concurrency pool (fsync blocks).
///
/// `@unchecked Sendable` because every access to the descriptor goes through `queue`.
final class LogFile: @unchecked Sendable {
    let path: String
    private let descriptor: Int32
    private let queue: DispatchQueue

    /// Opens (creating with mode 0600) for appending.
    init(path: String) throws {
        self.path = path
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AuditError(.unavailable, "cannot open \(path)") }
        descriptor = fd
        queue = DispatchQueue(label: "sealgate.audit.\((path as NSString).lastPathComponent)")
    }

    deinit { close(descriptor) }

    /// Cuts the file to `length` bytes and syncs (torn-tail recovery).
    func truncate(to length: Int) throws {
        try queue.sync {
            guard ftruncate(descriptor, off_t(length)) == 0, fsync(descriptor) == 0 else {
                throw AuditError(.unavailable, "cannot truncate \(path)")
            }
        }
    }

    /// Appends `data` and fsyncs before returning; on any failure the file is cut back to its previous length.
    func appendDurably(_ data: Data) async throws {
        try await onQueue { try self.appendNow(data) }
    }

    /// The same, blocking the caller (start-up, before the log serves anyone).
    func appendDurablySync(_ data: Data) throws {
        try queue.sync { try appendNow(data) }
    }

    /// Runs `body` on this file's serial queue, after every write queued before it (for fsyncs that must follow
    /// them, off the Swift concurrency pool).
    func onQueue(_ body: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            queue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    private func appendNow(_ data: Data) throws {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw AuditError(.unavailable, "cannot stat \(path)") }
        let before = off_t(info.st_size)
        let ok = data.withUnsafeBytes { raw -> Bool in
            guard let base = raw.baseAddress else { return true }
            var done = 0
            while done < raw.count {
                let n = write(descriptor, base + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                done += n
            }
            return true
        }
        guard ok, fsync(descriptor) == 0 else {
            _ = ftruncate(descriptor, before)
            throw AuditError(.unavailable, "write or fsync of \(path) failed (errno \(errno))")
        }
    }
}

extension LogFile {
    /// The whole file as bytes, read straight into the array (one copy from the kernel), or empty if it is absent.
    static func readAll(path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > 0 else { return [] }
        let size = Int(info.st_size)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            guard let base = buffer.baseAddress else { return }
            var done = 0
            while done < size {
                let n = read(fd, base + done, size - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                done += n
            }
            // A file that shrank while being read yields what was there; verification then reports the tail.
            initialized = done
        }
    }
}
