import CMemFD
import Foundation
import KBSProtocol
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A model loaded through ``ModelLoader``: every file decrypted and checked against the signed manifest, held in
/// memory or in sealed memory-backed files (`memfd`), never on persistent storage. Closing happens on `deinit`.
public final class ProtectedModel: Sendable {
    /// The model key resource it was sealed for, `<scope>/model/<name>`.
    public let resource: ModelKeyResource
    /// `sha256:<hex>`: the OMS manifest digest; what audit records and `/v1/models` name.
    public let digest: String
    /// The signed file names, in the signature's order.
    public let fileNames: [String]
    /// How the load shared the chunks between its two cores (for logs and benchmarks).
    public let statistics: LoadStatistics
    private let storage: Storage

    enum Storage: Sendable {
        case memory([String: Data])
        case memfd([String: Int32])
    }

    init(resource: ModelKeyResource, digest: String, fileNames: [String], storage: Storage, statistics: LoadStatistics) {
        self.resource = resource
        self.digest = digest
        self.fileNames = fileNames
        self.storage = storage
        self.statistics = statistics
    }

    deinit {
        if case .memfd(let descriptors) = storage { for fd in descriptors.values { close(fd) } }
    }

    /// Whether the files are in memfds (``path(of:)`` works) rather than in this process's memory.
    public var isMemoryFile: Bool {
        if case .memfd = storage { return true }
        return false
    }

    /// The bytes of a signed file (read from its memfd when the model is in memfds).
    /// - Throws: ``ModelLoadError`` `model_path_invalid` when `name` is not a file of the model.
    public func bytes(of name: String) throws -> Data {
        switch storage {
        case .memory(let files):
            guard let data = files[name] else { throw notAFile(name) }
            return data
        case .memfd(let descriptors):
            guard let fd = descriptors[name] else { throw notAFile(name) }
            var info = stat()
            guard fstat(fd, &info) == 0 else { throw ModelLoadError(.unreadable, "cannot stat the memfd of '\(name)'") }
            var data = Data(count: Int(info.st_size))
            var done = 0
            let ok = data.withUnsafeMutableBytes { buffer -> Bool in
                guard let base = buffer.baseAddress else { return true }
                while done < buffer.count {
                    let n = pread(fd, base + done, buffer.count - done, off_t(done))
                    if n <= 0 { return false }
                    done += n
                }
                return true
            }
            guard ok else { throw ModelLoadError(.unreadable, "cannot read the memfd of '\(name)'") }
            return data
        }
    }

    /// A path another process of the same user can open to read a signed file: `/proc/<pid>/fd/<fd>` of its sealed
    /// memfd (valid while this object lives). For a model server child process that needs a file name.
    /// - Throws: ``ModelLoadError`` `model_path_invalid` when `name` is not a file of the model, `model_unreadable`
    ///   when the model was loaded into memory.
    public func path(of name: String) throws -> String {
        guard case .memfd(let descriptors) = storage else { throw ModelLoadError(.unreadable, "the model was loaded into memory, not into memfds") }
        guard let fd = descriptors[name] else { throw notAFile(name) }
        return "/proc/\(getpid())/fd/\(fd)"
    }

    private func notAFile(_ name: String) -> ModelLoadError {
        ModelLoadError(.pathInvalid, "'\(name)' is not a file of \(resource)")
    }
}

/// Where decrypted files go.
public enum ModelDestination: Sendable {
    /// `Data` in this process.
    case memory
    /// One sealed memfd per file (Linux): memory-backed, never on persistent storage, readable by a child process.
    case memoryFile
}

/// One file's memory while it is decrypted: a writable shared mapping of a fresh memfd sized once to the file (and
/// sealed against shrinking and growing at once), or anonymous memory. Either thread of the load (``ChunkPipeline``)
/// reads a sealed chunk's ciphertext straight into its place (``readChunk(from:at:offset:count:)``) and opens it
/// there (``ChunkCipher``); the hashing thread then reads the opened bytes. So every byte is copied once from the page cache and
/// written once by the cipher: no ring of buffers, no `write` into the memfd.
///
/// Nothing is handed over until the loader has checked the file's digest: then ``sealedMemoryFile()`` unmaps and
/// seals the memfd, or ``data()`` gives the memory to a `Data` that unmaps it. Otherwise the last reference unmaps
/// it and closes the memfd.
///
/// `@unchecked Sendable` because both threads of the load hold a reference: each chunk's bytes are written by the one
/// thread that claimed it, before the pipeline's lock records it open, and never again; the hashing thread reads
/// them after that lock; and the state that changes (handed over or not) is a `Mutex`.
final class PlaintextFile: @unchecked Sendable {
    /// The file's size in bytes.
    let size: Int
    /// The memfd, or -1 for memory.
    private let memfd: Int32
    /// A second open file description of the memfd (its own file position) for the load's second thread, or -1
    /// (memory, or none could be opened: that thread then reads through the mapping).
    private let secondWriter: Int32
    /// The mapping; nil for an empty file (nothing to map).
    private let base: UnsafeMutableRawPointer?
    /// Whether the mapping and the memfd are still this object's to release.
    private let owned = Mutex(true)

    /// Maps `size` bytes: of a new memfd named after `memoryFileNamed`, or of anonymous memory when it is nil.
    /// - Throws: ``ModelLoadError`` `model_unreadable` when the memfd or the mapping cannot be made.
    init(size: Int64, memoryFileNamed name: String?) throws {
        guard size >= 0, size <= Int64(Int.max) else { throw ModelLoadError(.manifestInvalid, "a file size is out of range") }
        self.size = Int(size)
        var fd: Int32 = -1
        if let name {
            fd = sealgate_memfd_create("sealgate-model:" + name.suffix(200))
            guard fd >= 0 else { throw ModelLoadError(.unreadable, "memfd_create failed (errno \(errno))") }
            guard ftruncate(fd, off_t(size)) == 0, fcntl(fd, MemoryFileSeals.add, MemoryFileSeals.shrink | MemoryFileSeals.grow) == 0 else {
                let code = errno
                close(fd)
                throw ModelLoadError(.unreadable, "cannot size the memfd (errno \(code))")
            }
        }
        guard size > 0 else {
            memfd = fd
            secondWriter = -1
            base = nil
            return
        }
        let mapped =
            fd >= 0
            ? mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapped, mapped != MAP_FAILED else {
            let code = errno
            if fd >= 0 { close(fd) }
            throw ModelLoadError(.unreadable, "cannot map \(size) bytes (errno \(code))")
        }
        // Anonymous memory may use 2 MiB pages (a memfd's shmem pages follow the system's shmem setting).
        if fd < 0 { _ = madvise(mapped, Int(size), MADV_HUGEPAGE) }
        memfd = fd
        secondWriter = fd >= 0 ? sealgate_memfd_reopen(fd) : -1
        base = mapped
    }

    deinit {
        if secondWriter >= 0 { close(secondWriter) }
        guard owned.withLock({ $0 }) else { return }
        if let base { munmap(base, size) }
        if memfd >= 0 { close(memfd) }
    }

    /// The bytes `offset..<offset + count` (which the loader keeps inside the file).
    func bytes(at offset: Int, count: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base.map { $0 + offset }, count: count)
    }

    /// Reads one sealed chunk, `nonce ‖ ciphertext ‖ tag`, at `sealedOffset` of `fd`: the ciphertext straight into
    /// `offset..<offset + count` of this file, nonce and tag into small arrays. `lane` is the load's thread (0 the
    /// loading thread, 1 the second), so that each writes a memfd through its own file position.
    ///
    /// Into a memfd the ciphertext goes inside the kernel (``sealgate_memfd_fill``: `sendfile` from the sealed
    /// file's page cache into the memfd's pages, which a write covering them whole allocates without zeroing them
    /// first), then the chunk's pages are mapped in with one `madvise(MADV_POPULATE_WRITE)` for the cipher; into
    /// memory, the pages are faulted in with one `madvise(MADV_POPULATE_WRITE)` and the chunk read with one `preadv`.
    /// - Returns: nonce and tag, or nil when the sealed file ends first.
    /// - Throws: ``ModelLoadError`` `model_unreadable` when the read fails.
    func readChunk(from fd: Int32, at sealedOffset: Int64, offset: Int, count: Int, lane: Int) throws -> (nonce: [UInt8], tag: [UInt8])? {
        let writer = lane == 0 ? memfd : secondWriter
        guard writer >= 0, count > 0 else { return try readChunkIntoMapping(from: fd, at: sealedOffset, offset: offset, count: count) }
        var nonce = [UInt8](repeating: 0, count: SealedModelFormat.nonceSize)
        var tag = [UInt8](repeating: 0, count: SealedModelFormat.tagSize)
        let textOffset = sealedOffset + Int64(nonce.count)
        guard try Self.readFully(fd, into: &nonce, at: sealedOffset) else { return nil }
        let copied = sealgate_memfd_fill(writer, Int64(offset), fd, textOffset, Int64(count))
        guard copied >= 0 else { throw ModelLoadError(.unreadable, "copy into the memfd failed (errno \(errno))") }
        guard copied == count, try Self.readFully(fd, into: &tag, at: textOffset + Int64(count)) else { return nil }
        // Maps the chunk's pages (already in the memfd) with one call instead of one fault per 4 KiB page inside the
        // cipher; advice only, the cipher's writes fault them in themselves where the kernel does not know it.
        if let start = bytes(at: offset, count: count).baseAddress { _ = madvise(start, count, MADV_POPULATE_WRITE) }
        return (nonce, tag)
    }

    /// `pread`s `buffer.count` bytes at `offset`; false when the file ends first.
    private static func readFully(_ fd: Int32, into buffer: inout [UInt8], at offset: Int64) throws -> Bool {
        var done = 0
        try buffer.withUnsafeMutableBytes { raw in
            while done < raw.count {
                let n = pread(fd, raw.baseAddress.map { $0 + done }, raw.count - done, off_t(offset) + off_t(done))
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { throw ModelLoadError(.unreadable, "read failed (errno \(errno))") }
                if n == 0 { return }
                done += n
            }
        }
        return done == buffer.count
    }

    /// ``readChunk(from:at:offset:count:lane:)`` through the mapping: the destination pages faulted in with one
    /// `madvise(MADV_POPULATE_WRITE)` (Linux 5.14) instead of one fault per 4 KiB page inside the read's copy, then
    /// `nonce ‖ ciphertext ‖ tag` read with one `preadv`, the ciphertext straight into its place.
    private func readChunkIntoMapping(from fd: Int32, at sealedOffset: Int64, offset: Int, count: Int) throws -> (nonce: [UInt8], tag: [UInt8])? {
        var nonce = [UInt8](repeating: 0, count: SealedModelFormat.nonceSize)
        var tag = [UInt8](repeating: 0, count: SealedModelFormat.tagSize)
        let text = bytes(at: offset, count: count)
        // Advice only: the read faults the pages in itself where the kernel does not know it.
        if let start = text.baseAddress, count > 0 { _ = madvise(start, count, MADV_POPULATE_WRITE) }
        let expected = nonce.count + count + tag.count
        var done = 0
        try nonce.withUnsafeMutableBytes { nonceBytes in
            try tag.withUnsafeMutableBytes { tagBytes in
                let parts = [nonceBytes, text, tagBytes]
                while done < expected {
                    // The parts still to fill, from `done` on.
                    var skip = done
                    var vectors: [iovec] = []
                    for part in parts {
                        if skip >= part.count {
                            skip -= part.count
                            continue
                        }
                        vectors.append(iovec(iov_base: part.baseAddress.map { $0 + skip }, iov_len: part.count - skip))
                        skip = 0
                    }
                    let n = preadv(fd, vectors, Int32(vectors.count), off_t(sealedOffset) + off_t(done))
                    if n < 0 && errno == EINTR { continue }
                    guard n >= 0 else { throw ModelLoadError(.unreadable, "read failed (errno \(errno))") }
                    if n == 0 { return }
                    done += n
                }
            }
        }
        return done == expected ? (nonce, tag) : nil
    }

    /// Hands the memfd over, unmapped and sealed against any change (`F_SEAL_WRITE` needs no writable mapping left).
    /// The caller owns the descriptor from then on. Call only once nothing reads the mapping any more.
    /// - Throws: ``ModelLoadError`` `model_unreadable` when sealing fails (the memfd is then closed).
    func sealedMemoryFile() throws -> Int32 {
        try owned.withLock { owned in
            precondition(owned && memfd >= 0, "sealedMemoryFile() of a file already handed over or in memory")
            if let base { munmap(base, size) }
            guard sealgate_memfd_seal(memfd) == 0 else {
                let code = errno
                close(memfd)
                owned = false
                throw ModelLoadError(.unreadable, "memfd seal failed (errno \(code))")
            }
            owned = false
            return memfd
        }
    }

    /// Hands the memory over as a `Data` that unmaps it when released. Call only once nothing reads it any more.
    func data() -> Data {
        owned.withLock { owned in
            precondition(owned && memfd < 0, "data() of a file already handed over or in a memfd")
            owned = false
            guard let base else { return Data() }
            return Data(bytesNoCopy: base, count: size, deallocator: .unmap)
        }
    }
}

/// `fcntl` file-seal commands and flags (linux/fcntl.h, a stable kernel ABI; Glibc's Swift module does not export
/// them). The final seal is `sealgate_memfd_seal` (CMemFD).
enum MemoryFileSeals {
    static let add: Int32 = 1024 + 9
    static let shrink: Int32 = 0x0002
    static let grow: Int32 = 0x0004
}
