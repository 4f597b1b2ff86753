import Crypto
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The second core of a load: opens (AES-256-GCM) and hashes (SHA-256) the chunks of one file that the loading
/// thread reads, in order, while the loading thread reads the next chunks and writes the plaintext of the ones it
/// has taken back. At most ``depth`` chunks are submitted and not yet taken, so memory stays bounded to that many
/// sealed and plaintext chunks whatever the file size.
///
/// Only the loading thread uses this value (it is not `Sendable`); what the other thread touches is in ``Shared``.
struct ChunkPipeline {
    /// Chunks submitted and not yet taken back, at most.
    static let depth = 3

    /// A chunk opened and hashed: its plaintext and, for a file's last chunk, the file's SHA-256.
    struct Opened: Sendable {
        let plaintext: Data
        let digest: Data?
    }

    /// The state the opening thread works on, and how finished chunks come back.
    ///
    /// Synchronisation is explicit: `queue` is serial, so chunks are opened and hashed one at a time in submission
    /// order; `hashing` is a `Mutex` that only blocks on `queue` take (never contended, it makes the ownership
    /// checkable); each finished chunk is appended to `finished` (a `Mutex`) before `ready` (a counting semaphore)
    /// is signalled once for it, so a `ready.wait()` is always matched by an element to remove, in order.
    private final class Shared: Sendable {
        let key: SymmetricKey
        let queue = DispatchQueue(label: "sealgate.model-loader.open")
        let hashing = Mutex(Hashing())
        let finished = Mutex<[Result<Opened, ModelLoadError>]>([])
        let ready = DispatchSemaphore(value: 0)

        init(key: SymmetricKey) { self.key = key }
    }

    /// The running hash of the current file, and whether a chunk failed (later chunks are then not opened).
    private struct Hashing: Sendable {
        var hasher = SHA256()
        var failed = false
    }

    private let shared: Shared
    /// Submitted and not yet taken.
    private(set) var inFlight = 0

    init(key: SymmetricKey) { shared = Shared(key: key) }

    /// Hands one sealed chunk to the opening thread. The chunk's plaintext is hashed after the previous one's; the
    /// `last` chunk of a file also finalises the file's digest and starts the next file's hash.
    mutating func submit(_ box: AES.GCM.SealedBox, aad: Data, chunk: Int64, path: String, last: Bool) {
        inFlight += 1
        let shared = self.shared
        shared.queue.async {
            let result: Result<Opened, ModelLoadError> = shared.hashing.withLock { state in
                if state.failed { return .failure(ModelLoadError(.chunkInvalid, "chunk \(chunk) of '\(path)' not opened: an earlier chunk failed")) }
                guard let plaintext = try? AES.GCM.open(box, using: shared.key, authenticating: aad) else {
                    state.failed = true
                    return .failure(
                        ModelLoadError(.chunkInvalid, "chunk \(chunk) of '\(path)' does not open (changed, reordered or from another file or model)"))
                }
                state.hasher.update(data: plaintext)
                guard last else { return .success(Opened(plaintext: plaintext, digest: nil)) }
                let digest = Data(state.hasher.finalize())
                state.hasher = SHA256()
                return .success(Opened(plaintext: plaintext, digest: digest))
            }
            shared.finished.withLock { $0.append(result) }
            shared.ready.signal()
        }
    }

    /// The oldest submitted chunk, opened and hashed, waiting until it is.
    /// - Throws: ``ModelLoadError`` `model_chunk_invalid` when it did not open.
    mutating func take() throws -> Opened {
        precondition(inFlight > 0, "take() without a submitted chunk")
        // Blocks this thread, never the opening one: `queue` runs on Dispatch's own threads, not the caller's.
        shared.ready.wait()
        inFlight -= 1
        return try shared.finished.withLock { $0.removeFirst() }.get()
    }

    /// Waits until the opening thread has finished every submitted chunk, so nothing of this load is still being
    /// decrypted once the loader returns, refused or not. Chunks not taken are dropped with this value.
    func drain() { shared.queue.sync {} }
}

/// Reads sealed chunks with `pread` into a ring of reusable buffers: one more than ``ChunkPipeline/depth``, so a
/// buffer is refilled only after the chunk read into it has been taken back from the pipeline (if a reference to it
/// were still alive, `Data`'s copy-on-write would copy it rather than overwrite it).
struct SealedChunkReader {
    private var buffers = [Data](repeating: Data(), count: ChunkPipeline.depth + 1)
    private var next = 0

    /// `count` bytes at `offset` of `fd`, or nil when the file ends first.
    /// - Throws: ``ModelLoadError`` `model_unreadable` when the read fails.
    mutating func read(_ fd: Int32, at offset: Int64, count: Int) throws -> Data? {
        let slot = next
        next = (next + 1) % buffers.count
        buffers[slot].count = count
        let done = try buffers[slot].withUnsafeMutableBytes { buffer -> Int in
            guard let base = buffer.baseAddress else { return 0 }
            var done = 0
            while done < buffer.count {
                let n = pread(fd, base + done, buffer.count - done, off_t(offset) + off_t(done))
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { throw ModelLoadError(.unreadable, "read failed (errno \(errno))") }
                if n == 0 { break }
                done += n
            }
            return done
        }
        return done == count ? buffers[slot] : nil
    }
}
