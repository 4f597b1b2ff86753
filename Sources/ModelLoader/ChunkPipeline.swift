import Crypto
import Dispatch
import Foundation
import Sealing
import Synchronization

/// Where one chunk of a load is: its place among its file's chunks, its sealed bytes and its plaintext.
struct ChunkJob: Sendable {
    /// The chunk's index in its file, and the file's chunk count (both in the chunk's AAD).
    let index: Int64
    let total: Int64
    /// Where `nonce ‖ ciphertext ‖ tag` starts in the sealed file.
    let sealedOffset: Int64
    /// Where the plaintext goes in the file, and its length.
    let offset: Int
    let count: Int
}

/// One file of a load as the workers see it: its destination, its sealed file's descriptor, its path (for the AAD
/// and errors) and where its chunks start in the load's sequence of chunks.
struct ChunkSource: Sendable {
    let plaintext: PlaintextFile
    let descriptor: Int32
    let path: String
    let firstChunk: Int64
    let chunks: Int64
}

/// The two cores of a load, balanced: the loading thread and a second (hashing) thread both read and open chunks in
/// place, while the SHA-256 of every file runs strictly in order on the second.
///
/// SHA-256 of one file is sequential, so one thread must do it, chunk after chunk; everything else about a chunk —
/// faulting its destination pages in, reading its ciphertext there, opening it with AES-256-GCM — can run on either
/// core and in any order, each chunk's place being known. The earlier pipeline gave the second core the SHA-256 only
/// (~300 ms for 512 MiB with SHA-NI) and the loading thread read, page allocation and AES-GCM (~450 ms): the load
/// took the longer of the two. Now the loading thread claims the next chunk, reads and opens it, and so on; the hashing
/// thread hashes the next chunk in order whenever it is open, and when it is not (it caught up), claims the next
/// unclaimed chunk and reads and opens it itself. Both cores stay busy until the last chunk is claimed; then the
/// hashing thread finishes the chunks opened but not hashed yet. Nothing is buffered: a chunk is a range of its
/// file's destination, and at most one chunk per thread is in flight.
///
/// Synchronisation: `state` (a `Mutex`) holds the next unclaimed chunk, the chunks in flight and the first failure;
/// a chunk is open (its bytes final, written before the lock that records it) when it is claimed and no longer in
/// flight. `wake` lets the hashing thread sleep while the chunk it must hash next is being opened by the loading
/// thread, which signals it (when it said it waits) after every chunk it opens and when it stops. ``run()`` returns only after the hashing
/// thread has finished, so no byte of a file is read once the loader decides what to hand over.
final class ChunkPipeline: Sendable {
    private let sources: [ChunkSource]
    private let totalChunks: Int64
    private let model: String
    private let cipher: ChunkCipher
    private let chunkSize: Int
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let queue = DispatchQueue(label: "sealgate.model-loader.hash")

    private struct State: Sendable {
        /// The next chunk nobody has claimed.
        var next: Int64 = 0
        /// The chunks claimed and being read or opened (at most one per thread).
        var inFlight: [Int64] = []
        /// The refusal of the earliest chunk that failed; once set, nobody claims another chunk.
        var failure: (chunk: Int64, error: ModelLoadError)?
        /// The file digests, in order, once the hashing thread is done.
        var digests: [Data] = []
        /// Chunks the hashing thread opened itself (the balance; reported in ``LoadStatistics``).
        var openedBySecond: Int64 = 0
        /// Whether the hashing thread waits on `wake` (set by it, cleared by whoever signals).
        var hasherWaits = false
    }

    /// What the hashing thread does next.
    private enum Step {
        case hash, open(Int64), wait, stop
    }

    /// - Parameters:
    ///   - sources: the files to load, in order, with their sealed descriptors (open for the pipeline's life).
    ///   - model: the model's key resource, named in every chunk's AAD.
    init(sources: [ChunkSource], model: String, chunkSize: Int, cipher: ChunkCipher) {
        self.sources = sources
        self.totalChunks = sources.last.map { $0.firstChunk + $0.chunks } ?? 0
        self.model = model
        self.chunkSize = chunkSize
        self.cipher = cipher
    }

    /// Decrypts and hashes every chunk on this thread and the hashing thread.
    /// - Returns: every file's SHA-256, in order, and how the chunks were shared.
    /// - Throws: the ``ModelLoadError`` of the earliest chunk that failed (`model_truncated`, `model_chunk_invalid`,
    ///   `model_unreadable`); the other thread stops at its next chunk and is waited for either way.
    func run() throws -> (digests: [Data], statistics: LoadStatistics) {
        let started = ContinuousClock.now
        let finished = DispatchSemaphore(value: 0)
        queue.async { [self] in
            hashInOrder()
            finished.signal()
        }
        while let chunk = claim() {
            let opened = open(chunk, lane: 0)
            wakeHasher()
            guard opened else { break }
        }
        wakeHasher()
        finished.wait()
        return try state.withLock { state in
            if let failure = state.failure { throw failure.error }
            return (
                state.digests,
                LoadStatistics(chunks: totalChunks, openedBySecondCore: state.openedBySecond, decryptTime: ContinuousClock.now - started)
            )
        }
    }

    /// The hashing thread: SHA-256 of each file over its chunks in order; while the next one is not open, reads and
    /// opens an unclaimed chunk itself, or waits for the loading thread when none is left.
    private func hashInOrder() {
        var hasher = SHA256()
        var digests: [Data] = []
        var file = 0
        var hashed: Int64 = 0
        var openedHere: Int64 = 0
        while hashed < totalChunks {
            let step: Step = state.withLock { state in
                if state.failure != nil { return .stop }
                if hashed < state.next && !state.inFlight.contains(hashed) { return .hash }
                if state.next < totalChunks {
                    state.next += 1
                    state.inFlight.append(state.next - 1)
                    return .open(state.next - 1)
                }
                state.hasherWaits = true
                return .wait
            }
            switch step {
            case .stop: return
            case .wait: wake.wait()
            case .open(let chunk):
                guard open(chunk, lane: 1) else { return }
                openedHere += 1
            case .hash:
                while hashed >= sources[file].firstChunk + sources[file].chunks { file += 1 }
                let job = self.job(hashed, in: file)
                hasher.update(bufferPointer: UnsafeRawBufferPointer(sources[file].plaintext.bytes(at: job.offset, count: job.count)))
                if job.index == job.total - 1 {
                    digests.append(Data(hasher.finalize()))
                    hasher = SHA256()
                }
                hashed += 1
            }
        }
        state.withLock {
            $0.digests = digests
            $0.openedBySecond = openedHere
        }
    }

    /// Wakes the hashing thread if it waits for a chunk (the loading thread opened one, or stops).
    private func wakeHasher() {
        let waits = state.withLock { state in
            defer { state.hasherWaits = false }
            return state.hasherWaits
        }
        if waits { wake.signal() }
    }

    /// Claims the next chunk for the loading thread; nil when none is left or the load failed.
    private func claim() -> Int64? {
        state.withLock { state in
            guard state.failure == nil, state.next < totalChunks else { return nil }
            state.next += 1
            state.inFlight.append(state.next - 1)
            return state.next - 1
        }
    }

    /// Reads chunk `chunk`'s ciphertext into its place and opens it there; marks it open, or records the refusal.
    /// `lane` names the thread (0 loading, 1 hashing) for ``PlaintextFile/readChunk(from:at:offset:count:lane:)``.
    /// - Returns: whether it opened.
    private func open(_ chunk: Int64, lane: Int) -> Bool {
        var failure: ModelLoadError?
        do {
            let file = fileIndex(of: chunk)
            let job = self.job(chunk, in: file)
            let source = sources[file]
            guard let (nonce, tag) = try source.plaintext.readChunk(
                from: source.descriptor, at: job.sealedOffset, offset: job.offset, count: job.count, lane: lane)
            else { throw ModelLoadError(.truncated, "'\(source.path)' ends inside chunk \(job.index)") }
            let aad = SealedModelFormat.chunkAAD(model: model, path: source.path, index: job.index, total: job.total)
            guard cipher.open(source.plaintext.bytes(at: job.offset, count: job.count), nonce: nonce, tag: tag, aad: aad) else {
                throw ModelLoadError(
                    .chunkInvalid, "chunk \(job.index) of '\(source.path)' does not open (changed, reordered or from another file or model)")
            }
        } catch let error as ModelLoadError {
            failure = error
        } catch {
            failure = ModelLoadError(.unreadable, "\(error)")
        }
        return state.withLock { state in
            state.inFlight.removeAll { $0 == chunk }
            guard let failure else { return true }
            if state.failure.map({ chunk < $0.chunk }) ?? true { state.failure = (chunk, failure) }
            return false
        }
    }

    /// The file that chunk `chunk` of the load belongs to (binary search over the files' first chunks).
    private func fileIndex(of chunk: Int64) -> Int {
        var low = 0
        var high = sources.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if sources[middle].firstChunk <= chunk { low = middle } else { high = middle - 1 }
        }
        return low
    }

    /// Chunk `chunk` of the load, which is in file `file`.
    private func job(_ chunk: Int64, in file: Int) -> ChunkJob {
        let source = sources[file]
        let index = chunk - source.firstChunk
        let offset = Int(index) * chunkSize
        let overhead = Int64(SealedModelFormat.nonceSize + SealedModelFormat.tagSize)
        return ChunkJob(
            index: index, total: source.chunks, sealedOffset: index * (Int64(chunkSize) + overhead), offset: offset,
            count: min(chunkSize, source.plaintext.size - offset))
    }
}

/// How a load shared its chunks between the two cores.
public struct LoadStatistics: Sendable, Equatable {
    /// Chunks in the model (an empty file counts one).
    public let chunks: Int64
    /// Chunks the hashing thread read and opened itself while waiting for the next one to hash; the loading thread
    /// opened the rest.
    public let openedBySecondCore: Int64
    /// How long reading, opening and hashing every chunk took (the per-byte part of the load: without the
    /// signature check, the key release and making the destinations).
    public let decryptTime: Duration
}

/// AES-256-GCM opening of a model chunk *in place*: the ciphertext, already read into the file's destination
/// memory, becomes its plaintext there, with no `SealedBox` or `Data` in between (``DEKCipher/openInPlace(_:nonce:tag:aad:)``:
/// one AES-GCM context per load, set up once, used by both threads: BoringSSL documents opening on one context as
/// safe concurrently).
///
/// Why not swift-crypto's `AES.GCM.open(_:using:authenticating:)`: it takes a `SealedBox` (the combined bytes,
/// copied into a `Data` unless they are one) and returns the plaintext in a freshly allocated `Data` — for a 4 MiB
/// chunk a 4 MiB allocation whose pages are faulted in and zeroed, then a copy into the destination — and it sets up
/// the key schedule and GHASH tables on every call.
final class ChunkCipher: Sendable {
    private let cipher: DEKCipher

    /// Prepares the 256-bit data key.
    /// - Throws: ``ModelLoadError`` `model_key_mismatch` for a key of another size.
    init(key: SymmetricKey) throws {
        guard key.bitCount == 256 else { throw ModelLoadError(.keyMismatch, "the data key is not 256 bits") }
        do { cipher = try DEKCipher(dek: key) } catch { throw ModelLoadError(.unreadable, "AES-GCM context setup failed") }
    }

    /// Opens the chunk whose ciphertext is `bytes`, in place, with its `nonce` (12 bytes), `tag` (16) and `aad`.
    /// - Returns: whether it authenticated. When it did not, `bytes` hold no plaintext (zeroes, or the ciphertext).
    func open(_ bytes: UnsafeMutableRawBufferPointer, nonce: [UInt8], tag: [UInt8], aad: Data) -> Bool {
        cipher.openInPlace(bytes, nonce: nonce, tag: tag, aad: aad)
    }
}
