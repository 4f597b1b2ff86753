import Foundation

/// The body of a C2SP tlog-witness `add-checkpoint` request: `old <size>`, up to 63 consistency proof lines
/// (base64 hashes), a blank line, then the signed checkpoint note.
public struct AddCheckpointRequest: Sendable, Equatable {
    /// The size of the checkpoint the witness last cosigned for this log, as the client believes it.
    public var oldSize: Int
    /// The RFC 6962 consistency proof from `oldSize` to the checkpoint's size (empty when `oldSize` is 0).
    public var proof: [Data]
    /// The signed checkpoint note.
    public var note: String

    /// The most proof lines a request may carry.
    public static let maxProofLines = 63

    public init(oldSize: Int, proof: [Data], note: String) {
        self.oldSize = oldSize
        self.proof = proof
        self.note = note
    }

    /// The request body.
    public var body: Data {
        Data(("old \(oldSize)\n" + proof.map { $0.base64EncodedString() + "\n" }.joined() + "\n" + note).utf8)
    }

    /// Parses a request body.
    /// - Throws: ``AuditError`` `bad_request` naming what is malformed (the witness answers 400).
    public init(body: Data) throws {
        guard let text = String(data: body, encoding: .utf8) else { throw AuditError(.badRequest, "the body is not UTF-8") }
        guard let blank = text.range(of: "\n\n") else { throw AuditError(.badRequest, "no blank line before the checkpoint") }
        let header = text[text.startIndex..<blank.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = header.first, first.hasPrefix("old "), let size = Int(first.dropFirst(4)), size >= 0,
            String(size) == first.dropFirst(4)
        else { throw AuditError(.badRequest, "the first line must be `old <size>` (decimal, no leading zeroes)") }
        guard header.count - 1 <= Self.maxProofLines else {
            throw AuditError(.badRequest, "more than \(Self.maxProofLines) consistency proof lines")
        }
        var proof: [Data] = []
        for line in header.dropFirst() {
            guard let hash = Data(base64Encoded: String(line)), hash.count == 32 else {
                throw AuditError(.badRequest, "a consistency proof line is not a base64 SHA-256 hash")
            }
            proof.append(hash)
        }
        self.init(oldSize: size, proof: proof, note: String(text[blank.upperBound...]))
    }
}
