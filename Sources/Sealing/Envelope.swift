import Crypto
import Foundation
import SealgateCore

/// AES-256-GCM envelope encryption: random per-document DEKs wrapped by a tenant × class KEK.
///
/// Every ciphertext is `0x01 ‖ nonce(12) ‖ ciphertext ‖ tag(16)`, sealed with the canonical AAD of its
/// ``SealingContext``.
public enum Envelope {
    static let formatVersion: UInt8 = 1
    /// Bytes a sealed value adds to its plaintext: format byte, nonce, tag.
    static let overhead = 1 + 12 + 16

    /// A new random 256-bit data-encryption key.
    public static func makeDEK() -> SymmetricKey { SymmetricKey(size: .bits256) }

    /// Seals plaintext under `key`, bound to `context`.
    /// - Throws: ``SealgateError`` (`internal_error`) if the cipher fails, which it does not for valid keys.
    public static func seal(_ plaintext: Data, key: SymmetricKey, context: SealingContext) throws -> Data {
        try seal(plaintext, key: key, aad: context.canonicalAAD)
    }

    /// Seals plaintext under `key`, bound to `aad` (the same format; for values that are not document fields).
    /// - Throws: ``SealgateError`` (`internal_error`) if the cipher fails, which it does not for valid keys.
    public static func seal(_ plaintext: Data, key: SymmetricKey, aad: Data) throws -> Data {
        do {
            let box = try AES.GCM.seal(plaintext, using: key, authenticating: aad)
            guard let combined = box.combined else {
                throw SealgateError(.internalError, "AES-GCM produced no combined form")
            }
            var out = Data([formatVersion])
            out.append(combined)
            return out
        } catch let error as SealgateError {
            throw error
        } catch {
            throw SealgateError(.internalError, "sealing failed")
        }
    }

    /// Opens a ciphertext made by ``seal(_:key:context:)`` with the same key and context.
    /// - Throws: ``SealgateError`` with ``ReasonCode/integrityFailure`` when the key, context or bytes differ.
    public static func open(_ sealed: Data, key: SymmetricKey, context: SealingContext) throws -> Data {
        try open(sealed, key: key, aad: context.canonicalAAD)
    }

    /// Opens a ciphertext made by ``seal(_:key:aad:)`` with the same key and `aad`.
    /// - Throws: ``SealgateError`` with ``ReasonCode/integrityFailure`` when the key, AAD or bytes differ.
    public static func open(_ sealed: Data, key: SymmetricKey, aad: Data) throws -> Data {
        guard sealed.count >= overhead, sealed.first == formatVersion else {
            throw SealgateError(.integrityFailure, "sealed value has an unknown format")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.dropFirst())
            return try AES.GCM.open(box, using: key, authenticating: aad)
        } catch {
            throw SealgateError(.integrityFailure, "sealed value failed authentication for its context")
        }
    }

    /// Wraps a DEK under a KEK; `context` is the document's context (its field is forced to `.dek`).
    public static func wrap(dek: SymmetricKey, kek: SymmetricKey, context: SealingContext) throws -> Data {
        let raw = dek.withUnsafeBytes { Data($0) }
        return try seal(raw, key: kek, context: context.with(field: .dek))
    }

    /// Unwraps a DEK made by ``wrap(dek:kek:context:)``.
    /// - Throws: ``SealgateError`` with ``ReasonCode/integrityFailure`` on any mismatch.
    public static func unwrap(_ wrapped: Data, kek: SymmetricKey, context: SealingContext) throws -> SymmetricKey {
        let raw = try open(wrapped, key: kek, context: context.with(field: .dek))
        guard raw.count == 32 else { throw SealgateError(.integrityFailure, "unwrapped DEK has the wrong size") }
        return SymmetricKey(data: raw)
    }

    /// Encodes a vector as little-endian Float32 bytes for sealing.
    public static func encode(vector: [Float]) -> Data {
        var out = Data(capacity: vector.count * 4)
        for value in vector {
            var bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: &bits) { out.append(contentsOf: $0) }
        }
        return out
    }

    /// Decodes bytes made by ``encode(vector:)``.
    /// - Throws: ``SealgateError`` with ``ReasonCode/integrityFailure`` when the length is not a multiple of 4.
    public static func decodeVector(_ data: Data) throws -> [Float] {
        guard data.count % 4 == 0 else { throw SealgateError(.integrityFailure, "embedding has a bad length") }
        var out = [Float]()
        out.reserveCapacity(data.count / 4)
        data.withUnsafeBytes { raw in
            for offset in stride(from: 0, to: raw.count, by: 4) {
                let bits = raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
                out.append(Float(bitPattern: UInt32(littleEndian: bits)))
            }
        }
        return out
    }
}
