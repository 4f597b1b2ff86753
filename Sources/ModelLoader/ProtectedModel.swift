import CMemFD
import Foundation
import KBSProtocol

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
    private let storage: Storage

    enum Storage: Sendable {
        case memory([String: Data])
        case memfd([String: Int32])
    }

    init(resource: ModelKeyResource, digest: String, fileNames: [String], storage: Storage) {
        self.resource = resource
        self.digest = digest
        self.fileNames = fileNames
        self.storage = storage
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

/// A file being written into a memfd.
struct MemoryFile {
    let fd: Int32

    init(name: String) throws {
        let fd = sealgate_memfd_create("sealgate-model:" + name.suffix(200))
        guard fd >= 0 else { throw ModelLoadError(.unreadable, "memfd_create failed (errno \(errno))") }
        self.fd = fd
    }

    func write(_ data: Data) throws {
        try data.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var done = 0
            while done < buffer.count {
                let n = Glibc.write(fd, base + done, buffer.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw ModelLoadError(.unreadable, "memfd write failed (errno \(errno))") }
                done += n
            }
        }
    }

    /// Seals it read-only: nobody, the child included, can change it afterwards.
    func seal() throws {
        guard sealgate_memfd_seal(fd) == 0 else { throw ModelLoadError(.unreadable, "memfd seal failed (errno \(errno))") }
    }
}
