import Audit
import Foundation
import SealgateCore
import SealgateTestSupport
import Testing

/// The hand-written JSON of the request path (audit leaves, chat responses) against `JSONEncoder`, byte for byte.
@Suite("JSON written by hand: the bytes JSONEncoder writes")
struct JSONWriterTests {
    static let alphabet: [Character] = [
        "a", "Z", "0", "9", " ", "\"", "\\", "/", "\u{0}", "\u{1}", "\u{8}", "\t", "\n", "\u{b}", "\u{c}", "\r", "\u{1f}",
        "\u{7f}", "é", "ß", "\u{2028}", "\u{2029}", "😀", "{", "}", ":", ",", "_", "-", "中",
    ]

    static func text(_ rng: inout SplitMix64, length: Int = 12) -> String {
        String((0..<Int.random(in: 0...length, using: &rng)).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
    }

    static func maybeText(_ rng: inout SplitMix64) -> String? {
        Bool.random(using: &rng) ? text(&rng) : nil
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A record with every optional field set or not at random, and strings that need every kind of escape.
    static func record(_ rng: inout SplitMix64) -> AuditRecord {
        let kinds = AuditKind.allCases
        let outcomes = AuditOutcome.allCases
        var r = AuditRecord(
            kind: kinds[Int.random(in: 0..<kinds.count, using: &rng)], time: Date(timeIntervalSince1970: Double.random(in: 0...2e9, using: &rng)),
            requestID: text(&rng), tenant: text(&rng), principal: text(&rng), outcome: outcomes[Int.random(in: 0..<outcomes.count, using: &rng)],
            reason: maybeText(&rng))
        r.dataClass = maybeText(&rng)
        r.model = maybeText(&rng)
        r.modelAttestation = maybeText(&rng)
        r.modelDigest = maybeText(&rng)
        r.embedderDigest = maybeText(&rng)
        r.scopeDigest = maybeText(&rng)
        r.chunkIDsDigest = maybeText(&rng)
        r.chunkCount = Bool.random(using: &rng) ? Int.random(in: -5...100_000, using: &rng) : nil
        r.questionDigest = maybeText(&rng)
        r.attestationResultDigest = maybeText(&rng)
        r.attestationStatus = maybeText(&rng)
        r.referenceValueSet = maybeText(&rng)
        r.policyDigest = maybeText(&rng)
        r.rule = maybeText(&rng)
        if Bool.random(using: &rng) { r.keyIDs = (0..<Int.random(in: 0...3, using: &rng)).map { _ in text(&rng) } }
        if Bool.random(using: &rng) {
            // Labels whose order differs between byte order and case-insensitive or numeric orders.
            let labels = ["EMAIL", "CREDIT_CARD", "PHONE", "IP_ADDRESS", "IBAN", "a", "B", "_x", "A_B", "AB", "Ab", "x10", "x9", "é"]
            r.redactions = Dictionary(
                (0..<Int.random(in: 0...6, using: &rng)).map { _ in (labels[Int.random(in: 0..<labels.count, using: &rng)], Int.random(in: 0...9, using: &rng)) },
                uniquingKeysWith: { $1 })
        }
        return r
    }

    @Test("Canonical audit leaves are the bytes JSONEncoder writes, for 2,000 random records")
    func canonicalLeaves() throws {
        var rng = SplitMix64(seed: 0x5EA1_6A7E)
        for _ in 0..<2_000 {
            let leaf = AuditLeaf(index: UInt64.random(in: 0...UInt64(Int64.max), using: &rng), record: Self.record(&rng))
            let written = try AuditEncoding.canonical(leaf)
            #expect(written == (try Self.encoder.encode(leaf)), "\(String(decoding: written, as: UTF8.self))")
            #expect(try JSONDecoder().decode(AuditLeaf.self, from: written) == leaf)
        }
    }

    @Test("The canonical encoder writes every stored property of AuditRecord")
    func everyField() {
        var rng = SplitMix64(seed: 1)
        #expect(Mirror(reflecting: Self.record(&rng)).children.count == AuditEncoding.recordFieldCount)
    }

    @Test("Integers of every width and sign are written as their decimal digits")
    func integers() {
        var rng = SplitMix64(seed: 11)
        var values: [Int64] = [0, 1, -1, 9, 10, -10, 99, 100, Int64.max, Int64.min, Int64.min + 1]
        values += (0..<2000).map { _ in Int64(bitPattern: rng.next()) >> Int64.random(in: 0...63, using: &rng) }
        for value in values {
            var json = JSONWriter()
            json.integer(value)
            #expect(String(decoding: json.bytes, as: UTF8.self) == String(value))
        }
        var json = JSONWriter()
        json.beginArray()
        json.integer(UInt64.max)
        json.integer(UInt8(7))
        json.integer(-3 as Int)
        json.endArray()
        #expect(String(decoding: json.bytes, as: UTF8.self) == "[\(UInt64.max),7,-3]")
    }

    @Test("A string written from its UTF-8 is the bytes of the same String (every escape); endLine separates JSON lines")
    func utf8Strings() throws {
        var rng = SplitMix64(seed: 23)
        var lines = JSONWriter()
        var expected: [UInt8] = []
        for _ in 0..<1_000 {
            let value = Self.text(&rng, length: 40)
            var fromString = JSONWriter()
            fromString.string(value)
            var fromUTF8 = JSONWriter()
            Array(value.utf8).withUnsafeBufferPointer { fromUTF8.string(utf8: $0) }
            #expect(fromUTF8.bytes == fromString.bytes, "\(value.debugDescription)")
            lines.beginObject()
            lines.key("text")
            Array(value.utf8).withUnsafeBufferPointer { lines.string(utf8: $0) }
            lines.endObject()
            lines.endLine()
            expected += try Self.encoder.encode(["text": value]) + [UInt8(ascii: "\n")]
        }
        #expect(lines.bytes == expected)
    }

    @Test("Doubles, integers, booleans and nesting as JSONEncoder writes them; NaN and infinities are refused")
    func values() throws {
        var rng = SplitMix64(seed: 7)
        var doubles: [Double] = [0, -0.0, 1, -1, 0.5, 0.1234, 1e20, 1e-5, 3e-05, 123_456_789.125, 1e300, -2.5e-300, Double.leastNonzeroMagnitude]
        doubles += (0..<500).map { _ in (Double.random(in: -2...2, using: &rng) * 10_000).rounded() / 10_000 }
        doubles += (0..<500).map { _ in Double.random(in: -1e30...1e30, using: &rng) }
        for value in doubles {
            var json = JSONWriter()
            json.beginArray()
            let wrote = json.double(value)
            #expect(wrote)
            json.integer(Int64.min)
            json.bool(true)
            json.beginObject()
            json.key("k")
            json.beginArray()
            json.endArray()
            json.endObject()
            json.endArray()
            struct Nested: Encodable { let k: [Int] = [] }
            let expected = try Self.encoder.encode([AnyEncodable(value), AnyEncodable(Int64.min), AnyEncodable(true), AnyEncodable(Nested())])
            #expect(Data(json.bytes) == expected, "\(value)")
        }
        var json = JSONWriter()
        let nan = json.double(.nan)
        let infinity = json.double(.infinity)
        #expect(!nan && !infinity)
        #expect(json.bytes.isEmpty)
    }
}

/// Any encodable value, to put values of several types in one array.
struct AnyEncodable: Encodable {
    let encodeValue: (any Encoder) throws -> Void
    init(_ value: some Encodable) { encodeValue = value.encode(to:) }
    func encode(to encoder: any Encoder) throws { try encodeValue(encoder) }
}
