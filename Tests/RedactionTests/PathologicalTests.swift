import Redaction
import Testing

/// Inputs built to provoke backtracking or quadratic scans. A linear engine redacts each in well under a second;
/// a quadratic one would not finish in any reasonable time, so completing is the proof. No test measures time
/// (benchmarks measure, tests assert): each asserts the exact output and counts.
@Suite("Pathological inputs stay linear and are redacted exactly")
struct PathologicalTests {
    let engine = RedactionEngine()

    /// Inputs that contain nothing sensitive: the output is the input, nothing is counted.
    static let clean: [(String, String)] = [
        ("at signs", String(repeating: "@", count: 100_000)),
        ("digits and spaces", String(repeating: "1 ", count: 100_000)),
        ("dots", String(repeating: "a.", count: 100_000)),
        ("hex and colons", String(repeating: "a:", count: 100_000)),
        ("IPv4-ish", String(repeating: "1.", count: 100_000)),
        ("phone-ish", String(repeating: "(1) ", count: 50_000)),
        ("IBAN-ish", String(repeating: "DE89 ", count: 50_000)),
        ("JWT-ish", "eyJ" + String(repeating: "a.", count: 100_000)),
        ("one long token", String(repeating: "A", count: 300_000)),
        ("emoji", String(repeating: "👋", count: 100_000)),
        ("header-like lines", String(repeating: "ssn,phone\n", count: 50_000)),
        ("labels without values", String(repeating: "ssn: ", count: 50_000)),
        ("nine digits without context", String(repeating: "123456789 ", count: 50_000)),
        ("a label before a long digit run", "SSN: " + String(repeating: "1", count: 200_000)),
        ("quotes", String(repeating: "\"", count: 100_000)),
        ("commas", String(repeating: ",", count: 100_000)),
        ("pipes", String(repeating: "|", count: 100_000) + "\n" + String(repeating: "|", count: 100_000)),
    ]

    @Test("Inputs without entities come out unchanged", arguments: 0..<clean.count)
    func unchanged(_ index: Int) {
        let (name, text) = Self.clean[index]
        let result = engine.redact(text, profile: "all")
        #expect(result.text == text, "\(name)")
        #expect(result.counts.isEmpty, "\(name)")
    }

    /// Inputs with repeated entities: (name, input, exact output, counts). Overlong URLs and PEM blocks are cut at
    /// their detectors' caps (2,048 and 65,536 scalars) and each piece is redacted.
    static let redacted: [(String, String, String, [String: Int])] = [
        ("URL-ish", String(repeating: "http://", count: 30_000),
         String(repeating: "[URL]://", count: 102) + "[URL]", ["URL": 103]),
        ("www", String(repeating: "www.", count: 50_000), String(repeating: "[URL].", count: 98), ["URL": 98]),
        ("PEM begins", String(repeating: "-----BEGIN PRIVATE KEY-----\n", count: 8_000),
         String(repeating: "[SECRET]TE KEY-----\n", count: 3) + "[SECRET]", ["SECRET": 4]),
        ("assignments", String(repeating: "password=", count: 30_000),
         String(repeating: "password=", count: 29_944) + "[SECRET]", ["SECRET": 1]),
        ("capitalised words", String(repeating: "Dear Anna ", count: 30_000),
         String(repeating: "Dear [PERSON] ", count: 30_000), ["PERSON": 30_000]),
        ("months", String(repeating: "July 1 ", count: 40_000), String(repeating: "[DATE] ", count: 40_000), ["DATE": 40_000]),
        ("a long table", "key,ssn,phone\n" + String(repeating: "k7,518403127,2065550143\n", count: 20_000),
         "key,ssn,phone\n" + String(repeating: "k7,[US_SSN],[PHONE]\n", count: 20_000), ["US_SSN": 20_000, "PHONE": 20_000]),
    ]

    @Test("Inputs with repeated entities are redacted exactly", arguments: 0..<redacted.count)
    func exact(_ index: Int) {
        let (name, text, output, counts) = Self.redacted[index]
        let result = engine.redact(text, profile: "all")
        #expect(result.text == output, "\(name)")
        #expect(result.counts == counts, "\(name)")
    }

    @Test("Pathological patterns and dictionaries stay linear and match exactly")
    func custom() throws {
        let pattern = try PatternDetector(label: "X", pattern: "a*a*a*b")
        let dictionary = CustomDictionaryDetector(label: "D", terms: ["a", "aa", "aaa", "aaaa b"])
        let text = Array(String(repeating: "a", count: 200_000).unicodeScalars)
        // One word of 200,000 `a`s: no `b` for the pattern, and no term is that whole word.
        #expect(pattern.detect(text).isEmpty)
        #expect(dictionary.detect(text).isEmpty)
        let words = Array(String(repeating: "aa ", count: 50_000).unicodeScalars)
        let spans = dictionary.detect(words)
        #expect(spans.count == 50_000)
        #expect(spans.allSatisfy { $0.end - $0.start == 2 && $0.label == "D" })
        #expect(spans.last == DetectedSpan(start: 149_997, end: 149_999, label: "D"))
    }
}
