import Redaction
import Testing

@Suite("Pathological inputs stay linear")
struct PathologicalTests {
    let engine = RedactionEngine()

    static let inputs: [(String, String)] = [
        ("at signs", String(repeating: "@", count: 100_000)),
        ("digits and spaces", String(repeating: "1 ", count: 100_000)),
        ("dots", String(repeating: "a.", count: 100_000)),
        ("hex and colons", String(repeating: "a:", count: 100_000)),
        ("IPv4-ish", String(repeating: "1.", count: 100_000)),
        ("phone-ish", String(repeating: "(1) ", count: 50_000)),
        ("IBAN-ish", String(repeating: "DE89 ", count: 50_000)),
        ("URL-ish", String(repeating: "http://", count: 30_000)),
        ("www", String(repeating: "www.", count: 50_000)),
        ("JWT-ish", "eyJ" + String(repeating: "a.", count: 100_000)),
        ("PEM begins", String(repeating: "-----BEGIN PRIVATE KEY-----\n", count: 8_000)),
        ("assignments", String(repeating: "password=", count: 30_000)),
        ("capitalised words", String(repeating: "Dear Anna ", count: 30_000)),
        ("months", String(repeating: "July 1 ", count: 40_000)),
        ("one long token", String(repeating: "A", count: 300_000)),
        ("emoji", String(repeating: "👋", count: 100_000)),
    ]

    @Test("Each pathological input finishes quickly", arguments: 0..<inputs.count)
    func linear(_ index: Int) {
        let (name, text) = Self.inputs[index]
        let clock = ContinuousClock()
        let start = clock.now
        let result = engine.redact(text, profile: "all")
        let elapsed = clock.now - start
        #expect(!result.text.isEmpty)
        // Generous bound for debug builds on slow CI machines; quadratic behaviour would take minutes.
        #expect(elapsed < .seconds(10), "\(name) took \(elapsed)")
    }

    @Test("Pathological patterns and dictionaries stay linear")
    func custom() throws {
        let pattern = try PatternDetector(label: "X", pattern: "a*a*a*b")
        let dictionary = CustomDictionaryDetector(label: "D", terms: ["a", "aa", "aaa", "aaaa b"])
        let text = Array(String(repeating: "a", count: 200_000).unicodeScalars)
        let clock = ContinuousClock()
        let start = clock.now
        _ = pattern.detect(text)
        _ = dictionary.detect(text)
        #expect(clock.now - start < .seconds(10))
    }
}
