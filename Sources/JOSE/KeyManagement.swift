import Crypto
import Foundation
import SealgateCore
import _CryptoExtras

/// Producing and recovering the content encryption key (CEK) for each `alg`, from swift-crypto primitives only.
enum KeyManagement {
    /// What the sender's key management step yields.
    struct Wrapped {
        var encryptedKey: Data
        /// Header parameters the algorithm adds (`epk`).
        var headerAdditions: JOSEHeader
    }

    /// Checks `key` may be used with `alg`/`enc`: matching `kty`, `use` absent or `enc`, `alg` absent or equal
    /// (for `dir` a key's `alg` may name the `enc`, as RFC 7520 §5.6 does).
    static func checkKey(_ key: JWK, for alg: KeyManagementAlgorithm, _ enc: ContentEncryption) throws {
        guard key.kty == alg.keyType else {
            throw JOSEError.unsupported(
                "alg \(alg.rawValue) needs a \(alg.keyType) key, not \(JOSEError.quote(key.kty))")
        }
        if let use = key.use, use != "enc" {
            throw JOSEError.unsupported("key use is \(JOSEError.quote(use)), not enc")
        }
        if let keyAlg = key.alg, keyAlg != alg.rawValue, !(alg == .direct && keyAlg == enc.rawValue) {
            throw JOSEError.unsupported("key is restricted to alg \(JOSEError.quote(keyAlg)), not \(alg.rawValue)")
        }
    }

    /// The 16- or 32-octet AES key-wrap key of an `oct` JWK.
    private static func wrappingKey(_ key: JWK, _ alg: KeyManagementAlgorithm) throws -> SymmetricKey {
        let bytes = try key.octBytes()
        guard let size = alg.wrapKeyByteCount, bytes.count == size else {
            throw JOSEError.unsupported("alg \(alg.rawValue) needs a \(alg.wrapKeyByteCount ?? 0)-octet key")
        }
        return SymmetricKey(data: bytes)
    }

    /// The direct (`dir`) CEK: the `oct` key itself, sized for `enc`.
    static func directKey(_ key: JWK, _ enc: ContentEncryption) throws -> Data {
        let bytes = try key.octBytes()
        guard bytes.count == enc.keyByteCount else {
            throw JOSEError.unsupported("dir with \(enc.rawValue) needs a \(enc.keyByteCount)-octet key")
        }
        return bytes
    }

    /// The ECDH-ES key-wrap key: Concat KDF over Z with AlgorithmID = `alg` (RFC 7518 §4.6.2).
    static func agreedKey(
        _ alg: KeyManagementAlgorithm, curve: ECCurve, scalar: Data, peer: Data, apu: Data, apv: Data
    ) throws -> SymmetricKey {
        let z = try curve.sharedSecret(scalar: scalar, peer: peer)
        let size = alg.wrapKeyByteCount ?? 0
        return SymmetricKey(
            data: ConcatKDF.derive(
                sharedSecret: z, keyDataLengthBits: size * 8, algorithmID: alg.rawValue, partyUInfo: apu,
                partyVInfo: apv))
    }

    // MARK: Sender

    /// Encrypts or wraps `cek` to `key`. `ephemeral` fixes the ECDH-ES ephemeral key (tests only).
    static func wrap(
        cek: Data, to key: JWK, alg: KeyManagementAlgorithm, apu: Data, apv: Data, ephemeral: JWK?
    ) throws -> Wrapped {
        do {
            switch alg {
            case .direct:
                return Wrapped(encryptedKey: Data(), headerAdditions: [:])
            case .a128KW, .a256KW:
                let wrapped = try AES.KeyWrap.wrap(SymmetricKey(data: cek), using: wrappingKey(key, alg))
                return Wrapped(encryptedKey: wrapped, headerAdditions: [:])
            case .rsaOAEP, .rsaOAEP256:
                let padding: _RSA.Encryption.Padding = alg == .rsaOAEP ? .PKCS1_OAEP : .PKCS1_OAEP_SHA256
                let encrypted = try key.rsaPublicKey().encrypt(cek, padding: padding)
                return Wrapped(encryptedKey: encrypted, headerAdditions: [:])
            case .ecdhESA128KW, .ecdhESA256KW:
                let curve = try key.ecCurve()
                let peer = try key.ecPublicRaw(curve)
                let pair: (scalar: Data, publicRaw: Data)
                if let ephemeral {
                    let checked = try ephemeral.validated()
                    guard try checked.ecCurve() == curve else {
                        throw JOSEError.encryptionFailed("ephemeral key is not on the recipient's curve")
                    }
                    pair = (try checked.ecScalar(curve), try checked.ecPublicRaw(curve))
                } else {
                    pair = curve.generate()
                }
                let kek = try agreedKey(alg, curve: curve, scalar: pair.scalar, peer: peer, apu: apu, apv: apv)
                let wrapped = try AES.KeyWrap.wrap(SymmetricKey(data: cek), using: kek)
                let epk = JWK.ecPublic(curve: curve, raw: pair.publicRaw)
                return Wrapped(encryptedKey: wrapped, headerAdditions: ["epk": epk.jsonObject])
            }
        } catch let error as JOSEError {
            throw error
        } catch {
            throw JOSEError.encryptionFailed("\(alg.rawValue) key management failed in swift-crypto")
        }
    }

    // MARK: Recipient

    /// Recovers the CEK. Failures that depend on secret data all become ``JOSEError/Code/decryptionFailed``;
    /// an RSA-OAEP failure yields a random CEK so it surfaces only as a tag failure (RFC 7516 §11.5).
    static func unwrap(
        encryptedKey: Data, with key: JWK, alg: KeyManagementAlgorithm, enc: ContentEncryption, header: JOSEHeader
    ) throws -> Data {
        switch alg {
        case .direct:
            guard encryptedKey.isEmpty else { throw JOSEError.malformedJWE("dir requires an empty encrypted_key") }
            return try directKey(key, enc)
        case .a128KW, .a256KW:
            let kek = try wrappingKey(key, alg)
            return try unwrapAES(encryptedKey, kek: kek, enc: enc)
        case .rsaOAEP, .rsaOAEP256:
            guard key.d != nil else { throw JOSEError.unsupported("decryption needs the private RSA key") }
            let privateKey = try key.rsaPrivateKey()
            guard encryptedKey.count == (privateKey.keySizeInBits + 7) / 8 else {
                throw JOSEError.malformedJWE("encrypted_key length does not match the RSA modulus")
            }
            let padding: _RSA.Encryption.Padding = alg == .rsaOAEP ? .PKCS1_OAEP : .PKCS1_OAEP_SHA256
            let fallback = SymmetricKey(size: SymmetricKeySize(bitCount: enc.keyByteCount * 8)).withUnsafeBytes {
                Data($0)
            }
            guard let cek = try? privateKey.decrypt(encryptedKey, padding: padding), cek.count == enc.keyByteCount
            else {
                return fallback
            }
            return cek
        case .ecdhESA128KW, .ecdhESA256KW:
            let curve = try key.ecCurve()
            guard key.d != nil else { throw JOSEError.unsupported("decryption needs the private EC key") }
            let scalar = try key.ecScalar(curve)
            let epk = try ephemeralKey(header, curve: curve)
            let apu = try JWEHeader.optionalBytes(header, "apu")
            let apv = try JWEHeader.optionalBytes(header, "apv")
            let kek: SymmetricKey
            do {
                kek = try agreedKey(alg, curve: curve, scalar: scalar, peer: epk, apu: apu, apv: apv)
            } catch {
                throw JOSEError.decryptionFailed("ECDH key agreement failed")
            }
            return try unwrapAES(encryptedKey, kek: kek, enc: enc)
        }
    }

    private static func unwrapAES(_ encryptedKey: Data, kek: SymmetricKey, enc: ContentEncryption) throws -> Data {
        guard encryptedKey.count == enc.keyByteCount + 8 else {
            throw JOSEError.malformedJWE("encrypted_key must be \(enc.keyByteCount + 8) octets for \(enc.rawValue)")
        }
        do {
            return try AES.KeyWrap.unwrap(encryptedKey, using: kek).withUnsafeBytes { Data($0) }
        } catch {
            throw JOSEError.decryptionFailed("key unwrap failed")
        }
    }

    /// x ‖ y of the `epk` header parameter: an EC public key on the recipient's curve.
    private static func ephemeralKey(_ header: JOSEHeader, curve: ECCurve) throws -> Data {
        guard let value = header["epk"] else { throw JOSEError.malformedJWE("ECDH-ES header has no epk") }
        let epk = try JWK(jsonObject: value)
        guard epk.kty == "EC", epk.d == nil else { throw JOSEError.malformedJWE("epk must be an EC public key") }
        do {
            let checked = try epk.validated()
            guard try checked.ecCurve() == curve else {
                throw JOSEError.malformedJWE("epk curve does not match the key's curve")
            }
            return try checked.ecPublicRaw(curve)
        } catch let error as JOSEError where error.code == .malformedJWK {
            throw JOSEError.malformedJWE("epk is not a valid EC public key: \(error.message)")
        }
    }
}
