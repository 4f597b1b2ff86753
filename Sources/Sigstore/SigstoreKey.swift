import Crypto
import Foundation
import _CryptoExtras

/// A signature verification key: ECDSA P-256/P-384/P-521, Ed25519, or RSA (PKCS#1 v1.5 or PSS), read from a DER
/// SubjectPublicKeyInfo or a PEM `PUBLIC KEY`.
public struct SigstoreKey: Sendable {
    enum Backing: Sendable {
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
        case p521(P521.Signing.PublicKey)
        case ed25519(Curve25519.Signing.PublicKey)
        case rsa(_RSA.Signing.PublicKey, pss: Bool?, hash: RSAHash)
    }

    enum RSAHash: Sendable { case sha256, sha384, sha512 }

    let backing: Backing
    /// The DER SubjectPublicKeyInfo.
    public let spki: Data

    /// Reads a DER SubjectPublicKeyInfo.
    /// - Parameters:
    ///   - spki: the DER bytes.
    ///   - details: the protobuf `PublicKeyDetails` name when known (`PKIX_RSA_PSS_2048_SHA256`, …): it fixes the
    ///     RSA padding and hash. Without it an RSA key accepts PKCS#1 v1.5 or PSS signatures over SHA-256.
    /// - Throws: ``SigstoreError`` `unsupported_key`.
    public init(spki: Data, details: String? = nil) throws {
        self.spki = spki
        if let key = try? P256.Signing.PublicKey(derRepresentation: spki) {
            backing = .p256(key)
        } else if let key = try? P384.Signing.PublicKey(derRepresentation: spki) {
            backing = .p384(key)
        } else if let key = try? P521.Signing.PublicKey(derRepresentation: spki) {
            backing = .p521(key)
        } else if spki.count == 44, spki.prefix(12) == Self.ed25519Prefix,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: spki.suffix(32))
        {
            backing = .ed25519(key)
        } else if let key = try? _RSA.Signing.PublicKey(derRepresentation: spki) {
            let d = details ?? ""
            let pss: Bool? = d.contains("PSS") ? true : (d.contains("PKCS1") ? false : nil)
            let hash: RSAHash = d.hasSuffix("SHA384") ? .sha384 : (d.hasSuffix("SHA512") ? .sha512 : .sha256)
            backing = .rsa(key, pss: pss, hash: hash)
        } else {
            throw SigstoreError(.unsupportedKey, "not an ECDSA P-256/P-384/P-521, Ed25519 or RSA public key")
        }
    }

    /// Reads the first `PUBLIC KEY` block of a PEM text.
    /// - Throws: ``SigstoreError`` `unsupported_key` when there is none or it cannot be read.
    public init(pem: String) throws {
        guard let der = PEM.blocks(pem, label: "PUBLIC KEY").first else {
            throw SigstoreError(.unsupportedKey, "no PEM 'PUBLIC KEY' block")
        }
        try self.init(spki: der)
    }

    /// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410) before the 32 key bytes.
    static let ed25519Prefix = Data([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])

    /// The key's id as Sigstore logs use it: SHA-256 of the DER SubjectPublicKeyInfo.
    public var logID: Data { Data(SHA256.hash(data: spki)) }

    /// Whether `signature` is this key's signature over `message` (ECDSA: DER signature over SHA-256 for P-256,
    /// SHA-384 for P-384, SHA-512 for P-521; Ed25519: pure; RSA: the padding and hash of its details).
    public func isValidSignature(_ signature: Data, for message: Data) -> Bool {
        switch backing {
        case .p256(let key):
            guard let sig = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            return key.isValidSignature(sig, for: SHA256.hash(data: message))
        case .p384(let key):
            guard let sig = try? P384.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            return key.isValidSignature(sig, for: SHA384.hash(data: message))
        case .p521(let key):
            guard let sig = try? P521.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            return key.isValidSignature(sig, for: SHA512.hash(data: message))
        case .ed25519(let key):
            return key.isValidSignature(signature, for: message)
        case .rsa(let key, let pss, let hash):
            let sig = _RSA.Signing.RSASignature(rawRepresentation: signature)
            let paddings: [_RSA.Signing.Padding] = pss.map { $0 ? [.PSS] : [.insecurePKCS1v1_5] } ?? [.insecurePKCS1v1_5, .PSS]
            return paddings.contains { padding in
                switch hash {
                case .sha256: key.isValidSignature(sig, for: SHA256.hash(data: message), padding: padding)
                case .sha384: key.isValidSignature(sig, for: SHA384.hash(data: message), padding: padding)
                case .sha512: key.isValidSignature(sig, for: SHA512.hash(data: message), padding: padding)
                }
            }
        }
    }

    /// Whether `signature` is this key's signature over the SHA-256 digest of a message, given as the digest:
    /// ECDSA keys of every curve verify the prehashed digest (Sigstore's hashedrekord signs SHA-256 whatever the
    /// curve). Ed25519 and RSA keys need the message and return false.
    public func isValidSignature(_ signature: Data, sha256 digest: Data) -> Bool {
        guard digest.count == 32 else { return false }
        let prehashed = PrehashedSHA256(bytes: Array(digest))
        switch backing {
        case .p256(let key):
            guard let sig = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            return key.isValidSignature(sig, for: prehashed)
        case .p384(let key):
            guard let sig = try? P384.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            return key.isValidSignature(sig, for: prehashed)
        case .p521(let key):
            guard let sig = try? P521.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            return key.isValidSignature(sig, for: prehashed)
        case .ed25519, .rsa: return false
        }
    }

    /// Whether this key can check a signature over a SHA-256 digest alone (ECDSA keys).
    public var verifiesPrehashed: Bool {
        switch backing {
        case .p256, .p384, .p521: true
        case .ed25519, .rsa: false
        }
    }
}

/// A SHA-256 digest computed elsewhere, for ECDSA verification of a prehashed message.
struct PrehashedSHA256: Digest {
    static var byteCount: Int { 32 }
    let bytes: [UInt8]
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try bytes.withUnsafeBytes(body) }
    func makeIterator() -> IndexingIterator<[UInt8]> { bytes.makeIterator() }
    var description: String { "SHA256 prehashed" }
}

/// PEM blocks (RFC 7468).
public enum PEM {
    /// The DER contents of every block with this label, in order; blocks that are not base64 are skipped.
    ///
    /// Works on the UTF-8 bytes (no per-character grapheme work): ASCII whitespace inside a block is dropped; a block
    /// with non-ASCII bytes takes the `Character.isWhitespace` path, so Unicode whitespace is dropped as before.
    public static func blocks(_ text: String, label: String) -> [Data] {
        let bytes = Array(text.utf8)
        let begin = Array("-----BEGIN \(label)-----".utf8)
        let end = Array("-----END \(label)-----".utf8)
        var out: [Data] = []
        var from = 0
        while let b = find(begin, in: bytes, from: from), let e = find(end, in: bytes, from: b + begin.count) {
            let inner = bytes[(b + begin.count)..<e]
            var body: [UInt8]
            if inner.allSatisfy({ $0 < 0x80 }) {
                body = []
                body.reserveCapacity(inner.count)
                for byte in inner where !(byte == 0x20 || (0x09...0x0d).contains(byte)) { body.append(byte) }
            } else {
                body = Array(String(decoding: inner, as: UTF8.self).filter { !$0.isWhitespace }.utf8)
            }
            if let der = Data(base64Encoded: Data(body)) { out.append(der) }
            from = e + end.count
        }
        return out
    }

    /// The first index at or after `from` where `needle` starts in `haystack`.
    private static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard let first = needle.first, haystack.count - needle.count >= from else { return nil }
        var i = from
        while i <= haystack.count - needle.count {
            if haystack[i] == first && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
