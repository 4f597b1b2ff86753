import Crypto
import Foundation
import SealgateCore

/// A C2SP tlog checkpoint: origin, tree size and root hash.
public struct Checkpoint: Sendable, Equatable {
    public let origin: String
    public let size: Int
    public let root: Data

    public init(origin: String, size: Int, root: Data) {
        self.origin = origin
        self.size = size
        self.root = root
    }

    /// The note text: `<origin>\n<size>\n<base64 root>\n`.
    public var body: String { "\(origin)\n\(size)\n\(root.base64EncodedString())\n" }

    /// Parses a checkpoint body.
    /// - Throws: ``AuditError`` `bad_signature` when it is not a checkpoint.
    public init(body: String) throws {
        let lines = body.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 4, lines.last == "", !lines[0].isEmpty, let size = Int(lines[1]), size >= 0,
            String(size) == lines[1], let root = Data(base64Encoded: String(lines[2])), root.count == 32
        else { throw AuditError(.badSignature, "not a checkpoint body") }
        self.init(origin: String(lines[0]), size: size, root: root)
    }
}

/// An Ed25519 signer of C2SP signed notes.
public struct NoteSigner: Sendable {
    /// The key name; by convention the log's origin.
    public let name: String
    let key: Curve25519.Signing.PrivateKey

    public init(name: String, key: Curve25519.Signing.PrivateKey) {
        self.name = name
        self.key = key
    }

    /// The verifier for this signer.
    public var verifier: NoteVerifier { NoteVerifier(name: name, publicKey: key.publicKey) }

    /// Signs a note text (which must end in a newline) and returns the whole signed note.
    public func sign(_ text: String) throws -> String {
        let signature = try key.signature(for: Data(text.utf8))
        var blob = verifier.keyID
        blob.append(signature)
        return text + "\n\u{2014} \(name) \(blob.base64EncodedString())\n"
    }

    /// Loads the signing key from `path` (hex seed, mode 0600), creating it on first use.
    /// - Throws: ``AuditError`` `audit_unavailable` when the file is unreadable, malformed or too open.
    public static func loadOrCreate(path: String, name: String) throws -> NoteSigner {
        let fm = FileManager.default
        if fm.fileExists(atPath: path) { return try load(path: path, name: name) }
        try? fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key = Curve25519.Signing.PrivateKey()
        guard fm.createFile(atPath: path, contents: Data(Hex.encode(key.rawRepresentation).utf8), attributes: [.posixPermissions: 0o600]) else {
            throw AuditError(.unavailable, "cannot create checkpoint key \(path)")
        }
        return NoteSigner(name: name, key: key)
    }

    /// Loads an existing signing key.
    public static func load(path: String, name: String) throws -> NoteSigner {
        let fm = FileManager.default
        do {
            if let mode = (try? fm.attributesOfItem(atPath: path))?[.posixPermissions] as? NSNumber, mode.intValue & 0o077 != 0 {
                throw AuditError(.unavailable, "checkpoint key \(path) must have mode 0600")
            }
            guard let data = fm.contents(atPath: path),
                let seed = Hex.decode(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
                let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed)
            else { throw AuditError(.unavailable, "checkpoint key \(path) is malformed") }
            return NoteSigner(name: name, key: key)
        }
    }
}

/// Verifies C2SP signed notes from one Ed25519 key.
public struct NoteVerifier: Sendable, Equatable {
    public let name: String
    public let publicKey: Curve25519.Signing.PublicKey

    public static func == (a: NoteVerifier, b: NoteVerifier) -> Bool {
        a.name == b.name && a.publicKey.rawRepresentation == b.publicKey.rawRepresentation
    }

    public init(name: String, publicKey: Curve25519.Signing.PublicKey) {
        self.name = name
        self.publicKey = publicKey
    }

    /// The 4-byte key id: SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)[0..<4].
    public var keyID: Data {
        var input = Data(name.utf8)
        input.append(0x0A)
        input.append(0x01)
        input.append(publicKey.rawRepresentation)
        return Data(SHA256.hash(data: input).prefix(4))
    }

    /// The verifier key string: `<name>+<hex key id>+<base64(0x01 ‖ public key)>`.
    public var encoded: String {
        var key = Data([0x01])
        key.append(publicKey.rawRepresentation)
        return "\(name)+\(Hex.encode(keyID))+\(key.base64EncodedString())"
    }

    /// Parses a verifier key string.
    /// - Throws: ``AuditError`` `bad_signature` when it is malformed or its key id does not match.
    public init(encoded: String) throws {
        let parts = encoded.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let id = Hex.decode(String(parts[1])), id.count == 4,
            let key = Data(base64Encoded: String(parts[2])), key.count == 33, key.first == 0x01,
            let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: key.dropFirst())
        else { throw AuditError(.badSignature, "not an Ed25519 note verifier key") }
        self.init(name: String(parts[0]), publicKey: publicKey)
        guard keyID == id else { throw AuditError(.badSignature, "verifier key id does not match its key") }
    }

    /// Returns the note's text when it carries a valid signature by this key.
    /// - Throws: ``AuditError`` `bad_signature` when it is malformed or not signed by this key.
    public func open(_ note: String) throws -> String {
        guard let split = note.range(of: "\n\n", options: .backwards) else {
            throw AuditError(.badSignature, "signed note has no signature block")
        }
        let text = String(note[note.startIndex..<note.index(after: split.lowerBound)])
        let signatures = note[split.upperBound...].split(separator: "\n")
        let prefix = "\u{2014} \(name) "
        // Bytes, not canonical equivalence: a line naming another spelling of this key's name is not this key's.
        for line in signatures where line.utf8.starts(with: prefix.utf8) {
            guard let blob = Data(base64Encoded: String(line.dropFirst(prefix.count))), blob.count == 68,
                blob.prefix(4) == keyID
            else { continue }
            if publicKey.isValidSignature(blob.dropFirst(4), for: Data(text.utf8)) { return text }
        }
        throw AuditError(.badSignature, "no valid signature by \(name)")
    }
}
