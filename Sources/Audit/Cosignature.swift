import Crypto
import Foundation
import SealgateCore

/// A C2SP `tlog-cosignature` v1 cosigner: a witness's Ed25519 key, which signs timestamped statements that a
/// checkpoint is the largest consistent tree head it has seen for a log.
///
/// The signed message is `cosignature/v1\ntime <t>\n` followed by the checkpoint's note text; the signature line
/// is `— <name> base64(key id ‖ u64 big-endian t ‖ Ed25519 signature)`, with the key id of signature type 0x04.
public struct CosignatureSigner: Sendable {
    /// The cosigner's key name (a schema-less URL by convention).
    public let name: String
    let key: Curve25519.Signing.PrivateKey

    /// - Parameters:
    ///   - name: the key name; non-empty, without spaces or `+`.
    ///   - key: the Ed25519 private key.
    public init(name: String, key: Curve25519.Signing.PrivateKey) {
        self.name = name
        self.key = key
    }

    /// The verifier of this cosigner's signatures.
    public var verifier: CosignatureVerifier { CosignatureVerifier(name: name, publicKey: key.publicKey) }

    /// The cosignature line (ending in a newline) over a checkpoint's note text at POSIX time `time`.
    /// - Throws: when the Ed25519 signature cannot be produced.
    public func cosign(_ text: String, time: UInt64) throws -> String {
        let signature = try key.signature(for: CosignatureVerifier.signedMessage(text, time: time))
        var blob = verifier.keyID
        withUnsafeBytes(of: time.bigEndian) { blob.append(contentsOf: $0) }
        blob.append(signature)
        return "\u{2014} \(name) \(blob.base64EncodedString())\n"
    }

    /// Loads the witness key from `path` (hex seed, mode 0600), creating it on first use — the same file format as
    /// the audit log's `checkpoint.key`.
    /// - Throws: ``AuditError`` `audit_unavailable` when the file is unreadable, malformed or readable by others.
    public static func loadOrCreate(path: String, name: String) throws -> CosignatureSigner {
        CosignatureSigner(name: name, key: try NoteSigner.loadOrCreate(path: path, name: name).key)
    }
}

/// Verifies one cosigner's `cosignature/v1` signatures (C2SP tlog-cosignature, Ed25519).
public struct CosignatureVerifier: Sendable, Equatable, Hashable {
    /// The signature type byte of timestamped Ed25519 cosignatures (C2SP signed-note).
    public static let signatureType: UInt8 = 0x04
    public let name: String
    public let publicKey: Curve25519.Signing.PublicKey

    public init(name: String, publicKey: Curve25519.Signing.PublicKey) {
        self.name = name
        self.publicKey = publicKey
    }

    public static func == (a: CosignatureVerifier, b: CosignatureVerifier) -> Bool {
        a.name == b.name && a.publicKey.rawRepresentation == b.publicKey.rawRepresentation
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(publicKey.rawRepresentation)
    }

    /// The 4-byte key id: SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key)[0..<4].
    public var keyID: Data {
        var input = Data(name.utf8)
        input.append(0x0A)
        input.append(Self.signatureType)
        input.append(publicKey.rawRepresentation)
        return Data(SHA256.hash(data: input).prefix(4))
    }

    /// The verifier key: `<name>+<hex key id>+<base64(0x04 ‖ public key)>`.
    public var encoded: String {
        var key = Data([Self.signatureType])
        key.append(publicKey.rawRepresentation)
        return "\(name)+\(Hex.encode(keyID))+\(key.base64EncodedString())"
    }

    /// Parses a `cosignature/v1` verifier key.
    /// - Throws: ``AuditError`` `bad_signature` when it is malformed, of another signature type, or its key id does
    ///   not match its name and key.
    public init(encoded: String) throws {
        let parts = encoded.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, SignedNote.isValidKeyName(String(parts[0])), let id = Hex.decode(String(parts[1])), id.count == 4,
            let key = Data(base64Encoded: String(parts[2])), key.count == 33, key.first == Self.signatureType,
            let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: key.dropFirst())
        else { throw AuditError(.badSignature, "not a cosignature/v1 (Ed25519, type 0x04) verifier key") }
        self.init(name: String(parts[0]), publicKey: publicKey)
        guard keyID == id else { throw AuditError(.badSignature, "cosigner key id does not match its name and key") }
    }

    /// The message a cosignature signs: `cosignature/v1\ntime <time>\n` ‖ the checkpoint's note text.
    public static func signedMessage(_ text: String, time: UInt64) -> Data {
        Data("cosignature/v1\ntime \(time)\n\(text)".utf8)
    }

    /// What a note says about this cosigner.
    public enum Finding: Sendable, Equatable {
        /// No signature line of this name and key id.
        case absent
        /// A valid cosignature made at this POSIX time.
        case valid(time: UInt64)
        /// A line of this name and key id that does not verify (a forgery or a cosignature of another text).
        case invalid
    }

    /// Checks this cosigner's signature lines on a signed note (lines of other names or key ids are ignored).
    public func check(_ note: SignedNote) -> Finding {
        var found = Finding.absent
        for line in note.signatures where line.name == name {
            guard line.blob.count == 4 + 8 + 64, line.blob.prefix(4) == keyID else { continue }
            let time = line.blob.dropFirst(4).prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard time <= UInt64(Int64.max),
                publicKey.isValidSignature(line.blob.suffix(64), for: Self.signedMessage(note.text, time: time))
            else { return .invalid }
            if case .valid(let earlier) = found, earlier >= time { continue }
            found = .valid(time: time)
        }
        return found
    }
}
