import Crypto
import Dispatch
import Foundation
import Synchronization

#if canImport(CCryptoBoringSSL) && !SEALGATE_PORTABLE_CRYPTO
    import CCryptoBoringSSL
#endif

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
/// memory, becomes its plaintext there, with no `SealedBox` or `Data` in between.
///
/// Why not swift-crypto's `AES.GCM.open(_:using:authenticating:)`: it takes a `SealedBox` (the combined bytes,
/// copied into a `Data` unless they are one) and returns the plaintext in a freshly allocated `Data` — for a 4 MiB
/// chunk a 4 MiB allocation whose pages are faulted in and zeroed, then a copy into the destination — and it sets up
/// the key schedule and GHASH tables on every call. Where swift-crypto is built on BoringSSL (Linux) this holds one
/// `EVP_AEAD_CTX` for `EVP_aead_aes_256_gcm` per load (the AEAD swift-crypto itself calls, from its vendored copy,
/// as `Sealing.DEKCipher` does; not a declared product, so guarded by `canImport`) and calls
/// `EVP_AEAD_CTX_open_gather` with `out == in`, which BoringSSL allows; on a tag that does not verify it fills the
/// bytes with zeroes, so no unauthenticated plaintext is left. Without the module (`SEALGATE_PORTABLE_CRYPTO`) the
/// swift-crypto API is used and the plaintext copied back: the same result with the copies above.
///
/// Used by the loading thread only (not `Sendable`).
final class ChunkCipher {
    #if canImport(CCryptoBoringSSL) && !SEALGATE_PORTABLE_CRYPTO
        private let context: UnsafeMutablePointer<EVP_AEAD_CTX>
    #else
        private let key: SymmetricKey
    #endif

    /// Prepares the 256-bit data key.
    /// - Throws: ``ModelLoadError`` `model_key_mismatch` for a key of another size.
    init(key: SymmetricKey) throws {
        guard key.bitCount == 256 else { throw ModelLoadError(.keyMismatch, "the data key is not 256 bits") }
        #if canImport(CCryptoBoringSSL) && !SEALGATE_PORTABLE_CRYPTO
            let made: UnsafeMutablePointer<EVP_AEAD_CTX>? = key.withUnsafeBytes { raw in
                CCryptoBoringSSL_EVP_AEAD_CTX_new(
                    CCryptoBoringSSL_EVP_aead_aes_256_gcm(), raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count,
                    Int(EVP_AEAD_DEFAULT_TAG_LENGTH))
            }
            guard let made else { throw ModelLoadError(.unreadable, "AES-GCM context setup failed") }
            context = made
        #else
            self.key = key
        #endif
    }

    deinit {
        #if canImport(CCryptoBoringSSL) && !SEALGATE_PORTABLE_CRYPTO
            // BoringSSL's allocator zeroes the context (key schedule included) before freeing it.
            CCryptoBoringSSL_EVP_AEAD_CTX_free(context)
        #endif
    }

    /// Opens the chunk whose ciphertext is `bytes`, in place, with its `nonce` (12 bytes), `tag` (16) and `aad`.
    /// - Returns: whether it authenticated. When it did not, `bytes` hold no plaintext (zeroes, or the ciphertext).
    func open(_ bytes: UnsafeMutableRawBufferPointer, nonce: [UInt8], tag: [UInt8], aad: Data) -> Bool {
        #if canImport(CCryptoBoringSSL) && !SEALGATE_PORTABLE_CRYPTO
            var empty: UInt8 = 0
            let ok = aad.withUnsafeBytes { ad in
                withUnsafeMutablePointer(to: &empty) { emptyChunk in
                    // An empty chunk (an empty file) still has its tag checked; BoringSSL wants a pointer all the same.
                    let text = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyChunk
                    return CCryptoBoringSSL_EVP_AEAD_CTX_open_gather(
                        context, text, nonce, nonce.count, text, bytes.count, tag, tag.count, ad.baseAddress?.assumingMemoryBound(to: UInt8.self),
                        ad.count) == 1
                }
            }
            if !ok { CCryptoBoringSSL_ERR_clear_error() }
            return ok
        #else
            guard let nonce = try? AES.GCM.Nonce(data: nonce),
                let box = try? AES.GCM.SealedBox(nonce: nonce, ciphertext: Data(bytes), tag: tag),
                let plaintext = try? AES.GCM.open(box, using: key, authenticating: aad), plaintext.count == bytes.count
            else { return false }
            plaintext.copyBytes(to: bytes)
            return true
        #endif
    }
}
