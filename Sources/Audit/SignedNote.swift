import Foundation

/// A C2SP signed note split into its text and signature lines, for adding and reading cosignatures.
public struct SignedNote: Sendable, Equatable {
    /// One signature line: `— <name> base64(blob)`.
    public struct Signature: Sendable, Equatable {
        public let name: String
        /// The decoded signature: key id, then the algorithm's bytes.
        public let blob: Data

        /// The line, ending in a newline.
        public var line: String { "\u{2014} \(name) \(blob.base64EncodedString())\n" }
    }

    /// The note text, ending in a newline (without the blank separator line).
    public let text: String
    public private(set) var signatures: [Signature]

    /// Notes larger than this are refused (checkpoints with a few dozen signatures are a few kilobytes).
    public static let maxBytes = 64 << 10
    /// Notes with more signatures than this are refused (the format asks verifiers to accept at least 16).
    public static let maxSignatures = 64

    /// Parses a signed note: a text ending in a newline, a blank line, then one or more signature lines.
    /// - Throws: ``AuditError`` `bad_signature` when it is not of that form, has control characters, or is too large.
    public init(_ note: String) throws {
        guard note.utf8.count <= Self.maxBytes, !note.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" }),
            note.hasSuffix("\n"), let split = note.range(of: "\n\n", options: .backwards)
        else { throw AuditError(.badSignature, "not a signed note") }
        text = String(note[note.startIndex..<note.index(after: split.lowerBound)])
        let lines = note[split.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        guard !lines.isEmpty, lines.count <= Self.maxSignatures else { throw AuditError(.badSignature, "a signed note needs 1 to \(Self.maxSignatures) signatures") }
        signatures = try lines.map { line in
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "\u{2014}", Self.isValidKeyName(String(parts[1])),
                let blob = Data(base64Encoded: String(parts[2])), blob.count > 4
            else { throw AuditError(.badSignature, "not a note signature line") }
            return Signature(name: String(parts[1]), blob: blob)
        }
    }

    /// Whether `name` may name a key: non-empty, without Unicode spaces or `+`.
    public static func isValidKeyName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("+") && !name.unicodeScalars.contains { $0.properties.isWhitespace || $0.value < 0x20 }
    }

    /// The whole note: text, blank line, signature lines.
    public var encoded: String { text + "\n" + signatures.map(\.line).joined() }

    /// Adds signature lines (`— name base64` each, newline-terminated), skipping exact duplicates.
    /// - Throws: ``AuditError`` `bad_signature` when `lines` are not signature lines.
    public mutating func append(lines: String) throws {
        guard !lines.isEmpty else { return }
        let parsed = try SignedNote(text + "\n" + lines)
        for signature in parsed.signatures where !signatures.contains(signature) { signatures.append(signature) }
    }
}
