import Crypto
import Foundation
import SealgateCore

/// Bearer credentials known by their SHA-256 only, each mapped to the identity it proves.
///
/// A lookup hashes the presented token and compares the digest with every stored digest in constant time
/// (no early exit on the first differing byte, no early exit on the first match), so the time a lookup takes
/// tells nothing about how much of a digest an attacker guessed right or which entry matched.
public struct CredentialTable<Identity: Sendable>: Sendable {
    private let entries: [(digest: [UInt8], identity: Identity)]

    /// Creates a table from hex SHA-256 digests of the tokens. Digests that are not 64 hex digits are skipped.
    public init(_ entries: [(sha256Hex: String, identity: Identity)]) {
        self.entries = entries.compactMap { entry in
            CredentialTable.bytes(ofHex: entry.sha256Hex).map { ($0, entry.identity) }
        }
    }

    /// How many credentials the table holds.
    public var count: Int { entries.count }

    /// The identity a token proves, or `nil` when no stored digest matches.
    public func identity(for token: String) -> Identity? {
        let presented = Array(SHA256.hash(data: Data(token.utf8)))
        var found: Identity?
        for entry in entries where Self.constantTimeEqual(entry.digest, presented) {
            found = found ?? entry.identity
        }
        return found
    }

    /// Whether two byte strings are equal, examining every byte of both whatever they hold.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    static func bytes(ofHex hex: String) -> [UInt8]? {
        guard hex.utf8.count == 64, let data = Hex.decode(hex) else { return nil }
        return Array(data)
    }
}

/// The one form in which bearer credentials are stored: the hex SHA-256 of the token.
public enum CredentialDigest {
    /// Hex SHA-256 of a token.
    public static func hex(_ token: String) -> String { Hex.encode(SHA256.hash(data: Data(token.utf8))) }
}
