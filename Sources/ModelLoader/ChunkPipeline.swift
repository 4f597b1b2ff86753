import Crypto
import Dispatch
import Foundation
import Sealing
import Synchronization

/// The second core of a load: the SHA-256 of every file's plaintext, chunk after chunk in order, on a serial
/// Dispatch queue, while the loading thread reads and opens the next chunks in place (``PlaintextFile``,
/// ``ChunkCipher``).
///
/// SHA-256 of one file is sequential, and at ~1.5 GB/s (SHA-NI) the longest single job of a load, so it gets a core
/// to itself: the loading thread's read copy, AES-GCM and page allocation cost about as much. A submitted chunk is
/// only a reference to the file and a range, so nothing is buffered whatever the file size; the hashing thread reads
/// the bytes the cipher has just written, after them in submission order (the queue's `async` orders the threads).
///
/// Synchronisation: `queue` is serial; `state` is a `Mutex` the queue takes for each chunk, the loading thread only
/// to cancel (``cancel()``) or, after ``finish()`` has waited for the queue, to read the digests.
final class ChunkPipeline: Sendable {
    private let queue = DispatchQueue(label: "sealgate.model-loader.hash")
    private let state = Mutex(State())

    private struct State: Sendable {
        var hasher = SHA256()
        /// The digests of the files whose last chunk has been hashed, in order.
        var digests: [Data] = []
        /// Set when the load is refused: chunks still queued are not hashed.
        var cancelled = false
    }

    /// Hashes `count` bytes at `offset` of `file` after every chunk submitted before; the `last` chunk of a file
    /// finalises its digest and starts the next file's.
    func submit(_ file: PlaintextFile, offset: Int, count: Int, last: Bool) {
        queue.async { [self] in
            state.withLock { state in
                guard !state.cancelled else { return }
                state.hasher.update(bufferPointer: UnsafeRawBufferPointer(file.bytes(at: offset, count: count)))
                guard last else { return }
                state.digests.append(Data(state.hasher.finalize()))
                state.hasher = SHA256()
            }
        }
    }

    /// Waits until every submitted chunk is hashed; the digests of the files completed, in submission order.
    func finish() -> [Data] {
        queue.sync {}
        return state.withLock { $0.digests }
    }

    /// Drops the chunks not hashed yet and waits until the queue holds none, so no byte of a refused load is read
    /// once the loader returns (and every reference to its files is gone).
    func cancel() {
        state.withLock { $0.cancelled = true }
        queue.sync {}
    }
}

/// AES-256-GCM opening of a model chunk *in place*: the ciphertext, already read into the file's destination
/// memory, becomes its plaintext there, with no `SealedBox` or `Data` in between (``DEKCipher/openInPlace(_:nonce:tag:aad:)``:
/// one AES-GCM context per load, set up once).
///
/// Why not swift-crypto's `AES.GCM.open(_:using:authenticating:)`: it takes a `SealedBox` (the combined bytes,
/// copied into a `Data` unless they are one) and returns the plaintext in a freshly allocated `Data` — for a 4 MiB
/// chunk a 4 MiB allocation whose pages are faulted in and zeroed, then a copy into the destination — and it sets up
/// the key schedule and GHASH tables on every call.
final class ChunkCipher {
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
