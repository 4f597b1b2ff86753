import Crypto
import Foundation
import SealgateCore

/// JSON Web Encryption (RFC 7516) with one recipient, in the flattened JSON or compact serialization.
///
/// Content is encrypted with AES-GCM; the content encryption key is managed with ECDH-ES + AES key wrap,
/// RSA-OAEP, AES key wrap or used directly. Every primitive is swift-crypto's.
public enum JWE {
    /// Encrypts `plaintext` to `recipient`.
    ///
    /// The algorithm defaults to the recipient's `alg` member when it names a supported key management
    /// algorithm, otherwise by key type: `EC` → `ECDH-ES+A256KW`, `RSA` → `RSA-OAEP-256`, `oct` → `A256KW`.
    /// The protected header holds `alg`, `enc`, the recipient's `kid` (unless `extraHeader` sets one), `epk` for
    /// ECDH-ES and `extraHeader`, serialized with sorted keys. `extraHeader` may set `apu`/`apv` (base64url; they
    /// enter the Concat KDF) but not `alg`, `enc`, `epk`, `zip`, `crit`, `iv`, `tag`, `p2s` or `p2c`.
    ///
    /// Throws ``JOSEError/Code/malformedJWK`` for a bad recipient key, ``JOSEError/Code/unsupportedAlgorithm``
    /// when the key cannot be used with the algorithm, ``JOSEError/Code/encryptionFailed`` otherwise.
    public static func encrypt(
        _ plaintext: Data, to recipient: JWK, algorithm: KeyManagementAlgorithm? = nil,
        encryption: ContentEncryption = .a256GCM, extraHeader: [String: String] = [:]
    ) throws -> FlattenedJWE {
        try seal(
            plaintext, to: recipient, algorithm: algorithm, encryption: encryption, extraHeader: extraHeader, fixed: nil
        )
    }

    /// Decrypts `jwe` with `key` and returns the plaintext.
    ///
    /// Rejects `alg` `none` and unsupported `alg`/`enc`/`zip`, any `crit` extension, header parameters repeated
    /// across headers, a key whose type, `use` or `alg` does not fit, IVs other than 96 bits, tags other than
    /// 128 bits, wrong `encrypted_key` lengths and content over ``JWELimits/maximumContentBytes``.
    /// A wrong key or any tampering yields ``JOSEError/Code/decryptionFailed``.
    public static func decrypt(_ jwe: FlattenedJWE, with key: JWK) throws -> Data {
        try open(jwe, with: key).plaintext
    }

    /// Decrypts `jwe` with `key` and returns the plaintext together with the JOSE header (the union of the
    /// protected, shared unprotected and per-recipient headers), as ``protectedHeader(of:)`` renders values.
    public static func decryptWithHeader(_ jwe: FlattenedJWE, with key: JWK) throws -> (
        plaintext: Data, header: [String: String]
    ) {
        let opened = try open(jwe, with: key)
        return (opened.plaintext, JWEHeader.flatten(opened.header))
    }

    /// The decoded protected header. String members are returned as they are; other members (such as `epk`)
    /// as compact JSON text with sorted keys. Nothing is decrypted or authenticated.
    public static func protectedHeader(of jwe: FlattenedJWE) throws -> [String: String] {
        JWEHeader.flatten(try JWEHeader.decodeProtected(jwe.protected))
    }

    // MARK: Deterministic inputs (tests)

    /// Values a test fixes so published examples can be reproduced byte for byte.
    package struct FixedInputs: Sendable {
        /// The content encryption key (ignored for `dir`, where the key is the CEK).
        package var cek: Data
        /// The 96-bit IV.
        package var iv: Data
        /// The ECDH-ES ephemeral private key, as an EC JWK with `d`.
        package var ephemeralKey: JWK?
        /// The exact protected header text to use (BASE64URL), instead of building one.
        package var protected: String?
        /// A shared unprotected header.
        package var unprotected: [String: String]?
        /// Additional authenticated data (the JSON `aad`, before base64url).
        package var aad: Data?

        package init(
            cek: Data, iv: Data, ephemeralKey: JWK? = nil, protected: String? = nil,
            unprotected: [String: String]? = nil, aad: Data? = nil
        ) {
            self.cek = cek
            self.iv = iv
            self.ephemeralKey = ephemeralKey
            self.protected = protected
            self.unprotected = unprotected
            self.aad = aad
        }
    }

    /// ``encrypt(_:to:algorithm:encryption:extraHeader:)`` with a fixed CEK, IV, ephemeral key and header.
    package static func encrypt(
        _ plaintext: Data, to recipient: JWK, algorithm: KeyManagementAlgorithm, encryption: ContentEncryption,
        extraHeader: [String: String] = [:], fixed: FixedInputs
    ) throws -> FlattenedJWE {
        try seal(
            plaintext, to: recipient, algorithm: algorithm, encryption: encryption, extraHeader: extraHeader,
            fixed: fixed)
    }

    // MARK: Sealing

    static func defaultAlgorithm(for key: JWK) throws -> KeyManagementAlgorithm {
        if let alg = key.alg, let algorithm = KeyManagementAlgorithm(rawValue: alg) { return algorithm }
        switch key.kty {
        case "EC": return .ecdhESA256KW
        case "RSA": return .rsaOAEP256
        case "oct": return .a256KW
        default: throw JOSEError.malformedJWK("unsupported kty \(JOSEError.quote(key.kty))")
        }
    }

    private static func seal(
        _ plaintext: Data, to recipient: JWK, algorithm: KeyManagementAlgorithm?, encryption: ContentEncryption,
        extraHeader: [String: String], fixed: FixedInputs?
    ) throws -> FlattenedJWE {
        guard plaintext.count <= JWELimits.maximumContentBytes else {
            throw JOSEError.encryptionFailed("plaintext exceeds \(JWELimits.maximumContentBytes) bytes")
        }
        let key = try recipient.validated()
        let alg = try algorithm ?? defaultAlgorithm(for: key)
        try KeyManagement.checkKey(key, for: alg, encryption)
        for name in extraHeader.keys where JWEHeader.reservedByAlgorithm.contains(name) {
            throw JOSEError.encryptionFailed("extraHeader must not set \(JOSEError.quote(name))")
        }
        var extra: JOSEHeader = [:]
        for (name, value) in extraHeader { extra[name] = .string(value) }
        let apu: Data
        let apv: Data
        do {
            apu = try JWEHeader.optionalBytes(extra, "apu")
            apv = try JWEHeader.optionalBytes(extra, "apv")
        } catch let error as JOSEError {
            throw JOSEError.encryptionFailed(error.message)
        }

        let cek: Data
        if alg == .direct {
            cek = try KeyManagement.directKey(key, encryption)
        } else if let fixed {
            cek = fixed.cek
        } else {
            cek = SymmetricKey(size: SymmetricKeySize(bitCount: encryption.keyByteCount * 8)).withUnsafeBytes {
                Data($0)
            }
        }
        guard cek.count == encryption.keyByteCount else {
            throw JOSEError.encryptionFailed("\(encryption.rawValue) needs a \(encryption.keyByteCount)-octet CEK")
        }
        let wrapped = try KeyManagement.wrap(
            cek: cek, to: key, alg: alg, apu: apu, apv: apv, ephemeral: fixed?.ephemeralKey)

        let protected: String
        if let given = fixed?.protected {
            protected = given
            try checkFixedHeader(given, unprotected: fixed?.unprotected, alg: alg, enc: encryption, wrapped: wrapped)
        } else {
            var header = extra
            header["alg"] = .string(alg.rawValue)
            header["enc"] = .string(encryption.rawValue)
            if header["kid"] == nil, let kid = key.kid { header["kid"] = .string(kid) }
            for (name, value) in wrapped.headerAdditions { header[name] = value }
            do {
                protected = Base64URL.encode(try JSONValue.object(header).canonicalJSON())
            } catch {
                throw JOSEError.encryptionFailed("protected header could not be encoded")
            }
        }

        let iv = fixed?.iv ?? AES.GCM.Nonce().withUnsafeBytes { Data($0) }
        let aad = fixed?.aad.map(Base64URL.encode)
        let authenticated = Data((aad.map { protected + "." + $0 } ?? protected).utf8)
        let sealed: AES.GCM.SealedBox
        do {
            sealed = try AES.GCM.seal(
                plaintext, using: SymmetricKey(data: cek), nonce: AES.GCM.Nonce(data: iv), authenticating: authenticated
            )
        } catch {
            throw JOSEError.encryptionFailed("AES-GCM sealing failed")
        }
        return FlattenedJWE(
            protected: protected, unprotected: fixed?.unprotected,
            encryptedKey: wrapped.encryptedKey.isEmpty ? nil : Base64URL.encode(wrapped.encryptedKey), aad: aad,
            iv: Base64URL.encode(iv), ciphertext: Base64URL.encode(sealed.ciphertext), tag: Base64URL.encode(sealed.tag)
        )
    }

    /// A fixed protected header must agree with the algorithms and the ephemeral key actually used.
    private static func checkFixedHeader(
        _ protected: String, unprotected: [String: String]?, alg: KeyManagementAlgorithm, enc: ContentEncryption,
        wrapped: KeyManagement.Wrapped
    ) throws {
        let decoded = try JWEHeader.decodeProtected(protected)
        let merged = try JWEHeader.merge(
            protected: decoded, unprotected: unprotected?.mapValues(JSONValue.string), perRecipient: nil)
        let (headerAlg, headerEnc) = try JWEHeader.algorithms(protected: decoded, merged: merged)
        guard headerAlg == alg, headerEnc == enc else {
            throw JOSEError.encryptionFailed("fixed protected header names other algorithms")
        }
        if let epk = wrapped.headerAdditions["epk"] {
            guard let given = merged["epk"], try JWK(jsonObject: given).publicJWK == JWK(jsonObject: epk) else {
                throw JOSEError.encryptionFailed("fixed protected header has another epk")
            }
        }
    }

    // MARK: Opening

    private static func open(_ jwe: FlattenedJWE, with key: JWK) throws -> (plaintext: Data, header: JOSEHeader) {
        let protected = try JWEHeader.decodeProtected(jwe.protected)
        let merged = try JWEHeader.merge(
            protected: protected, unprotected: jwe.resolvedUnprotected, perRecipient: jwe.resolvedHeader)
        let (alg, enc) = try JWEHeader.algorithms(protected: protected, merged: merged)
        let checkedKey = try key.validated()
        try KeyManagement.checkKey(checkedKey, for: alg, enc)

        let iv = try decode(jwe.iv, "iv", limit: JWELimits.ivBytes)
        guard iv.count == JWELimits.ivBytes else { throw JOSEError.malformedJWE("iv must be 96 bits") }
        let tag = try decode(jwe.tag, "tag", limit: JWELimits.tagBytes)
        guard tag.count == JWELimits.tagBytes else { throw JOSEError.malformedJWE("tag must be 128 bits") }
        let ciphertext = try decode(jwe.ciphertext, "ciphertext", limit: JWELimits.maximumContentBytes)
        let encryptedKey = try decode(
            jwe.encryptedKey ?? "", "encrypted_key", limit: JWELimits.maximumEncryptedKeyBytes)
        if let aad = jwe.aad { _ = try decode(aad, "aad", limit: JWELimits.maximumAADBytes) }

        let cek = try KeyManagement.unwrap(
            encryptedKey: encryptedKey, with: checkedKey, alg: alg, enc: enc, header: merged)
        let authenticated = Data((jwe.aad.map { jwe.protected + "." + $0 } ?? jwe.protected).utf8)
        do {
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: iv), ciphertext: ciphertext, tag: tag)
            let plaintext = try AES.GCM.open(box, using: SymmetricKey(data: cek), authenticating: authenticated)
            return (plaintext, merged)
        } catch {
            throw JOSEError.decryptionFailed("authentication tag did not verify")
        }
    }

    /// Decodes a base64url member after checking its encoded length against `limit` decoded octets.
    private static func decode(_ text: String, _ name: String, limit: Int) throws -> Data {
        guard text.utf8.count <= (limit * 4 + 2) / 3 else {
            throw JOSEError.malformedJWE("\(name) exceeds \(limit) bytes")
        }
        guard let data = Base64URL.decode(text) else {
            throw JOSEError.malformedJWE("\(name) is not canonical base64url")
        }
        return data
    }
}
