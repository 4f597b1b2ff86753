import Crypto
import Foundation
import SealgateCore

#if canImport(CCryptoBoringSSL) && !SEALGATE_PORTABLE_CRYPTO
import CCryptoBoringSSL
#endif

/// A data-encryption key prepared once for sealing and opening many values of one document.
///
/// ``Envelope/open(_:key:context:)`` sets up AES-256-GCM from scratch on every call (key schedule, GHASH
/// tables, context allocation): about 0.8 µs, more than the cipher itself for an 800-byte chunk. A `DEKCipher`
/// does that once per DEK and reuses it for every chunk text and embedding of the document — what
/// `openssl speed -evp` does too. Ciphertexts are byte-for-byte the format of ``Envelope``, and either side
/// opens the other's.
///
/// Where swift-crypto is built on BoringSSL (Linux), this holds a BoringSSL `EVP_AEAD_CTX` for
/// `EVP_aead_aes_256_gcm` — the same AEAD swift-crypto's `AES.GCM` calls, from swift-crypto's vendored copy
/// (not a declared product, so its use is guarded by `canImport`; without it the swift-crypto API is used,
/// with identical output). BoringSSL documents seal/open on one context as safe to call concurrently, so the
/// type is `Sendable`; the context is zeroed and freed with the object.
public final class DEKCipher: @unchecked Sendable {
    #if canImport(CCryptoBoringSSL) && !SEALGATE_PORTABLE_CRYPTO
    private let context: UnsafeMutablePointer<EVP_AEAD_CTX>
    #else
    private let key: SymmetricKey
    #endif

    /// Whether the reusable BoringSSL context is compiled in (otherwise every call sets up AES-GCM anew).
    public static let reusesContext: Bool = {
        #if canImport(CCryptoBoringSSL) && !SEALGATE_PORTABLE_CRYPTO
        return true
        #else
        return false
        #endif
    }()

    /// Prepares `dek` (256 bits).
    /// - Throws: ``SealgateError`` with ``ReasonCode/integrityFailure`` for a key of another size.
    public init(dek: SymmetricKey) throws {
        guard dek.bitCount == 256 else { throw SealgateError(.integrityFailure, "a DEK must be 256 bits") }
        #if canImport(CCryptoBoringSSL) && !SEALGATE_PORTABLE_CRYPTO
        let made: UnsafeMutablePointer<EVP_AEAD_CTX>? = dek.withUnsafeBytes { raw in
            CCryptoBoringSSL_EVP_AEAD_CTX_new(
                CCryptoBoringSSL_EVP_aead_aes_256_gcm(), raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count,
                Int(EVP_AEAD_DEFAULT_TAG_LENGTH))
        }
        guard let made else { throw SealgateError(.internalError, "AES-GCM context setup failed") }
        context = made
        #else
        key = dek
        #endif
    }

    deinit {
        #if canImport(CCryptoBoringSSL) && !SEALGATE_PORTABLE_CRYPTO
        // Cleans up and frees; BoringSSL's allocator zeroes the memory (key schedule included) before freeing it.
        CCryptoBoringSSL_EVP_AEAD_CTX_free(context)
        #endif
    }

    /// Opens a value sealed by ``Envelope`` or ``seal(_:context:)`` under this DEK and `context`.
    /// - Throws: ``SealgateError`` with ``ReasonCode/integrityFailure`` when the key, context or bytes differ.
    public func open(_ sealed: Data, context sealingContext: SealingContext) throws -> Data {
        guard sealed.count >= Envelope.overhead, sealed.first == Envelope.formatVersion else {
            throw SealgateError(.integrityFailure, "sealed value has an unknown format")
        }
        #if canImport(CCryptoBoringSSL) && !SEALGATE_PORTABLE_CRYPTO
        let opened: Data? = sealingContext.withCanonicalAAD { aad in
            sealed.withUnsafeBytes { raw -> Data? in
                guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
                let body = raw.count - 13
                let capacity = body - 16
                guard let output = malloc(max(1, capacity))?.assumingMemoryBound(to: UInt8.self) else { return nil }
                var written = 0
                let ok = CCryptoBoringSSL_EVP_AEAD_CTX_open(
                    context, output, &written, capacity, base + 1, 12, base + 13, body,
                    aad.baseAddress?.assumingMemoryBound(to: UInt8.self), aad.count)
                guard ok == 1, written == capacity else {
                    free(output)
                    return nil
                }
                return Data(bytesNoCopy: output, count: capacity, deallocator: .free)
            }
        }
        guard let opened else {
            throw SealgateError(.integrityFailure, "sealed value failed authentication for its context")
        }
        return opened
        #else
        return try Envelope.open(sealed, key: key, context: sealingContext)
        #endif
    }

    /// Opens raw AES-256-GCM ciphertext *in place*: `bytes` (already where the plaintext must end up) become the
    /// plaintext there, with no intermediate copy — for callers with their own framing (sealed model chunks) whose
    /// buffers are large. With BoringSSL this is `EVP_AEAD_CTX_open_gather` with `out == in`, which BoringSSL
    /// allows and which zeroes the bytes when the tag does not verify; without it, swift-crypto's `AES.GCM.open` and
    /// a copy back.
    /// - Returns: whether it authenticated. When it did not, `bytes` hold no plaintext (zeroes, or the ciphertext).
    public func openInPlace(_ bytes: UnsafeMutableRawBufferPointer, nonce: [UInt8], tag: [UInt8], aad: Data) -> Bool {
        #if canImport(CCryptoBoringSSL) && !SEALGATE_PORTABLE_CRYPTO
        var empty: UInt8 = 0
        let ok = aad.withUnsafeBytes { ad in
            withUnsafeMutablePointer(to: &empty) { emptyChunk in
                // Empty ciphertext still has its tag checked; BoringSSL wants a pointer all the same.
                let text = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyChunk
                return CCryptoBoringSSL_EVP_AEAD_CTX_open_gather(
                    context, text, nonce, nonce.count, text, bytes.count, tag, tag.count,
                    ad.baseAddress?.assumingMemoryBound(to: UInt8.self), ad.count) == 1
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

    /// Seals `plaintext` under this DEK, bound to `context`, with a fresh random nonce (the ``Envelope`` format).
    /// - Throws: ``SealgateError`` (`internal_error`) if the cipher fails, which it does not for valid input.
    public func seal(_ plaintext: Data, context sealingContext: SealingContext) throws -> Data {
        #if canImport(CCryptoBoringSSL) && !SEALGATE_PORTABLE_CRYPTO
        let nonce = AES.GCM.Nonce()
        var out = Data(count: plaintext.count + Envelope.overhead)
        let ok: Bool = out.withUnsafeMutableBytes { target in
            guard let base = target.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
            base[0] = Envelope.formatVersion
            nonce.withUnsafeBytes { UnsafeMutableRawBufferPointer(start: base + 1, count: 12).copyMemory(from: $0) }
            return sealingContext.withCanonicalAAD { aad in
                plaintext.withUnsafeBytes { input in
                    var written = 0
                    let rc = CCryptoBoringSSL_EVP_AEAD_CTX_seal(
                        context, base + 13, &written, target.count - 13, base + 1, 12,
                        input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count,
                        aad.baseAddress?.assumingMemoryBound(to: UInt8.self), aad.count)
                    return rc == 1 && written == target.count - 13
                }
            }
        }
        guard ok else { throw SealgateError(.internalError, "sealing failed") }
        return out
        #else
        return try Envelope.seal(plaintext, key: key, context: sealingContext)
        #endif
    }
}
