import Audit
import Foundation
import SealgateCore
import Testing

/// `Sealgate-Receipt`: the RFC 8941 dictionary every answer carries, written and read with
/// swift-http-structured-headers. The wire format is fixed; anything else is refused with a message naming why.
@Suite("Receipts: Sealgate-Receipt written and parsed as an RFC 8941 dictionary; proofs from the entry read")
struct ReceiptHeaderTests {
    static let leaf = Data((0..<32).map { UInt8($0 * 7 & 0xFF) })
    static let leafB64 = leaf.base64EncodedString()
    static let wire = #"log="test.sealgate/audit", index=42, leaf=:\#(leafB64):, request="0123abcd""#

    /// The `AuditError` message `header` is refused with (`nil` if it parses).
    static func refusal(_ header: String) -> String? {
        do {
            _ = try Receipt(header: header)
            return nil
        } catch let error as AuditError {
            #expect(error.code == .badRequest)
            return error.message
        } catch {
            Issue.record("not an AuditError: \(error)")
            return "\(error)"
        }
    }

    @Test("The gateway's value is byte for byte the documented wire format, and parses back to the same receipt")
    func wireFormat() throws {
        let receipt = try Receipt(origin: "test.sealgate/audit", index: 42, leafHash: Self.leaf, requestID: "0123abcd")
        #expect(receipt.headerValue == Self.wire)
        #expect(try Receipt(header: Self.wire) == receipt)
        // Members in another order, unknown members and parameters, surrounding spaces: read, same receipt.
        let reordered = #"request="0123abcd", leaf=:\#(Self.leafB64):, future, index=42;note=x, log="test.sealgate/audit""#
        #expect(try Receipt(header: "  " + reordered + " ") == receipt)
        // Escapes survive the round trip.
        let escaped = try Receipt(origin: #"a"b\c"#, index: 0, leafHash: Self.leaf, requestID: "r")
        #expect(escaped.headerValue.hasPrefix(#"log="a\"b\\c", index=0, "#))
        #expect(try Receipt(header: escaped.headerValue) == escaped)
    }

    @Test("Members of the wrong type are refused, naming the member and the type it must be")
    func wrongTypes() {
        let cases: [(String, String)] = [
            (Self.wire.replacingOccurrences(of: "index=42", with: #"index="42""#), "index must be an integer"),
            (Self.wire.replacingOccurrences(of: "index=42", with: "index=42.5"), "index must be an integer"),
            (Self.wire.replacingOccurrences(of: #"log="test.sealgate/audit""#, with: "log=test"), "log must be a string"),
            (Self.wire.replacingOccurrences(of: ":\(Self.leafB64):", with: "\"\(Self.leafB64)\""), "leaf must be a byte sequence"),
            (Self.wire.replacingOccurrences(of: #"request="0123abcd""#, with: "request=(\"a\" \"b\")"), "request must be a string"),
            (Self.wire.replacingOccurrences(of: #"request="0123abcd""#, with: "request"), "request must be a string"),
            (#"log="x", index=1"#, "no leaf member"),
        ]
        for (header, expected) in cases {
            let message = Self.refusal(header)
            #expect(message?.contains(expected) == true, "\(header): \(message ?? "accepted")")
        }
    }

    @Test("A key given twice is refused, whichever value RFC 8941's last-one-wins would keep")
    func duplicateKeys() {
        for header in [
            Self.wire + ", index=7",
            Self.wire + #", log="other.log/audit""#,
            Self.wire + ", leaf=:\(Self.leafB64):",
            #"index=7, "# + Self.wire,
        ] {
            #expect(Self.refusal(header)?.contains("a member appears twice") == true, "\(header)")
        }
    }

    @Test("Byte sequences that are not base64 of exactly 32 bytes are refused")
    func badByteSequences() {
        let cases: [(String, String)] = [
            (":\(Self.leafB64.dropLast(4))*AB=:", "not base64"),  // a character outside the base64 alphabet
            (":\(Self.leafB64.dropLast()):", "not canonical base64"),  // padding missing
            (":\(Self.leafB64.dropLast(2))B=:", "not canonical base64"),  // non-zero padding bits
            (":\(Self.leafB64)", "not base64, or is not closed"),  // unterminated
            (":AAAA:", "32-byte SHA-256 hash"),  // valid base64 of 3 bytes
            ("::", "32-byte SHA-256 hash"),
        ]
        for (leaf, expected) in cases {
            let header = Self.wire.replacingOccurrences(of: ":\(Self.leafB64):", with: leaf)
            let message = Self.refusal(header)
            #expect(message?.contains(expected) == true, "\(header): \(message ?? "accepted")")
        }
    }

    @Test("Integers out of range are refused: negative, more than 15 digits; and an index the format cannot carry is not written")
    func outOfRangeIntegers() {
        let cases: [(String, String)] = [
            ("index=-1", "index -1 is negative"),
            ("index=1000000000000000", "more than 15 digits"),
            ("index=99999999999999999999", "more than 15 digits"),
        ]
        for (index, expected) in cases {
            let header = Self.wire.replacingOccurrences(of: "index=42", with: index)
            let message = Self.refusal(header)
            #expect(message?.contains(expected) == true, "\(header): \(message ?? "accepted")")
        }
        #expect(throws: AuditError.self) { try Receipt(origin: "o", index: Receipt.maxIndex + 1, leafHash: Self.leaf, requestID: "r") }
        #expect(throws: AuditError.self) { try Receipt(origin: "o", index: UInt64.max, leafHash: Self.leaf, requestID: "r") }
        #expect((try? Receipt(origin: "o", index: Receipt.maxIndex, leafHash: Self.leaf, requestID: "r"))?.headerValue.contains("index=999999999999999,") == true)
    }

    @Test("Malformed dictionaries and values the gateway would not send are refused with the rule they break")
    func malformed() {
        let cases: [(String, String)] = [
            ("", "no log member"),
            ("log", "log must be a string"),
            (Self.wire + ",", "separated by commas"),
            (Self.wire.replacingOccurrences(of: ", index", with: "; index"), "no index member"),  // index became a parameter of log
            (Self.wire.replacingOccurrences(of: "log=", with: "Log="), "a key is not lowercase"),
            (Self.wire.replacingOccurrences(of: #""0123abcd""#, with: #""0123\abcd""#), "bad escape"),
            (Self.wire.replacingOccurrences(of: #""0123abcd""#, with: "\"0123\u{7}abcd\""), "outside printable ASCII"),
            (Self.wire.replacingOccurrences(of: #""0123abcd""#, with: #""0123abcd"#), "not closed"),
            (Self.wire.replacingOccurrences(of: ", ", with: ",   "), "re-spaced or re-encoded"),
            (Self.wire.replacingOccurrences(of: "index=42", with: "index=042"), "re-spaced or re-encoded"),
        ]
        for (header, expected) in cases {
            let message = Self.refusal(header)
            #expect(message?.contains(expected) == true, "\(header): \(message ?? "accepted")")
        }
        // The gateway cannot write what it could not read back.
        #expect(throws: AuditError.self) { try Receipt(origin: "audit.例", index: 1, leafHash: Self.leaf, requestID: "r") }
        #expect(throws: AuditError.self) { try Receipt(origin: "o", index: 1, leafHash: Data(count: 31), requestID: "r") }
        #expect(throws: AuditError.self) { try Receipt(origin: "", index: 1, leafHash: Self.leaf, requestID: "r") }
    }

    @Test("Written by hand, the value is what the RFC 8941 library reads back as canonical, for any printable-ASCII origin and request id; other bytes are refused")
    func handWrittenIsCanonical() throws {
        var generator = SystemRandomNumberGenerator()
        let printable = (0x20...0x7E).map { Character(Unicode.Scalar(UInt8($0))) }
        func text(_ length: Int) -> String {
            // Quotes and backslashes (the two escaped characters) drawn often, the rest of printable ASCII uniformly.
            var out = ""
            for _ in 0..<length {
                let special: Character = Bool.random(using: &generator) ? "\"" : "\\"
                out.append(Int.random(in: 0..<4, using: &generator) == 0 ? special : printable.randomElement(using: &generator) ?? "a")
            }
            return out
        }
        for round in 0..<500 {
            let origin = text(Int.random(in: 1...40, using: &generator))
            let request = text(Int.random(in: 0...40, using: &generator))
            let index = round % 3 == 0 ? Receipt.maxIndex : UInt64.random(in: 0...Receipt.maxIndex, using: &generator)
            let leaf = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let receipt = try Receipt(origin: origin, index: index, leafHash: leaf, requestID: request)
            // `init(header:)` parses with swift-http-structured-headers and refuses anything but that library's own
            // serialization of what it read: equality here means the hand-written bytes are the canonical form.
            #expect(try Receipt(header: receipt.headerValue) == receipt, "\(receipt.headerValue)")
        }
        for bad in ["\u{7F}", "\u{1F}", "\t", "\n", "é", "\u{0}"] {
            #expect(throws: AuditError.self) { try Receipt(origin: "o" + bad, index: 1, leafHash: Self.leaf, requestID: "r") }
            #expect(throws: AuditError.self) { try Receipt(origin: "o", index: 1, leafHash: Self.leaf, requestID: "r" + bad) }
        }
    }

    @Test("The latest entries' leaf hashes are read without the log's actor and are the stored ones; older ones and a reopened log read the files")
    func recentLeafHashes() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("receipt-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try AuditLog(directory: dir, origin: "test.example/log", checkpointEvery: 100_000)
        let total = 4_200
        // Appended concurrently, so group commit writes them in batches of many (one fsync each).
        try await withThrowingTaskGroup(of: UInt64.self) { group in
            for n in 0..<total {
                group.addTask {
                    try await log.append(
                        AuditRecord(kind: .chat, time: Date(timeIntervalSince1970: Double(n)), requestID: "r\(n)", tenant: "acme", principal: "app", outcome: .allowed))
                }
            }
            var indices = Set<UInt64>()
            for try await index in group { indices.insert(index) }
            #expect(indices == Set((0..<UInt64(total))))
        }
        for index in 0..<total {
            let stored = try #require(await log.leafHash(index))
            if index < total - 4_096 {
                #expect(log.recentLeafHash(index) == nil)
            } else {
                #expect(log.recentLeafHash(index) == stored, "entry \(index)")
            }
        }
        #expect(log.recentLeafHash(total) == nil && log.recentLeafHash(-1) == nil)
        let reopened = try AuditLog(directory: dir, origin: "test.example/log")
        #expect(reopened.recentLeafHash(total - 1) == nil)
        #expect(await reopened.leafHash(total - 1) == (await log.leafHash(total - 1)))
    }

    @Test("A receipt proof carries the entry its caller read, and bytes that are not that entry are refused")
    func proofFromTheEntryRead() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("receipt-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try AuditLog(directory: dir, origin: "test.example/log", checkpointEvery: 1000)
        for n in 0..<5 {
            _ = try await log.append(
                AuditRecord(kind: .query, time: Date(timeIntervalSince1970: Double(n)), requestID: "r\(n)", tenant: "acme", principal: "app", outcome: .allowed))
        }
        let note = try await log.checkpointNote(freshness: .zero)
        let entry = try #require(await log.entry(3))
        let proof = try await log.receiptProof(index: 3, entry: entry, note: note)
        #expect(proof.extra == entry && proof.index == 3)
        let receipt = try Receipt(origin: "test.example/log", index: 3, leafHash: try #require(await log.leafHash(3)), requestID: "r3")
        #expect(try AuditVerifier.verifyReceipt(proof, log: log.verifier, receipt: receipt).leaf?.record.requestID == "r3")
        for wrong in [try #require(await log.entry(2)), entry + Data(" ".utf8), Data()] {
            await #expect(throws: AuditError.self) { try await log.receiptProof(index: 3, entry: wrong, note: note) }
        }
    }
}
