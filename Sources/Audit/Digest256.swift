import Crypto
import Foundation

#if canImport(CCryptoBoringSSL) && !SEALGATE_PORTABLE_CRYPTO
import CCryptoBoringSSL
#endif

/// SHA-256 of a contiguous buffer into an inline ``Hash32``, for the hot loops of tree building and verification.
///
/// Where swift-crypto is built on BoringSSL (Linux), this calls BoringSSL's one-shot `SHA256()` — the same
/// implementation swift-crypto's `SHA256` uses, without the per-hash context allocation of that API (about a
/// third of the cost of hashing a 150-byte leaf). The module is swift-crypto's vendored copy, which is not a
/// declared product: if a future swift-crypto hides it, `canImport` fails and the swift-crypto API is used,
/// with identical output (the RFC 6962 known-answer tests run against whichever is compiled).
enum Digest256 {
    static func hash(_ bytes: UnsafeRawBufferPointer) -> Hash32 {
        #if canImport(CCryptoBoringSSL) && !SEALGATE_PORTABLE_CRYPTO
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digest in
            _ = CCryptoBoringSSL_SHA256(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, digest.baseAddress)
            return Hash32(UnsafeRawBufferPointer(digest))
        }
        #else
        return Hash32(SHA256.hash(data: bytes))
        #endif
    }
}
