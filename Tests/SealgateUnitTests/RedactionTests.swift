import Redaction
import SealgateCore
import Testing

@Suite("First redaction profile: e-mail, cards with Luhn, phone numbers; stream-safe")
struct RedactionTests {
    let engine = RedactionEngine()

    @Test("Known entities are masked with their label and counted")
    func masks() {
        let text = "Mail jane.doe+x@mail.example.org, card 4111 1111 1111 1111, call +44 20 7946 0321 or (415) 555-0199."
        let result = engine.redact(text, profile: "basic")
        #expect(result.text == "Mail [EMAIL], card [CREDIT_CARD], call [PHONE] or [PHONE].")
        #expect(result.counts == ["EMAIL": 1, "CREDIT_CARD": 1, "PHONE": 2])
    }

    @Test("Card-like numbers that fail Luhn are not cards", arguments: ["4111 1111 1111 1112", "1234-5678-9012-3456"])
    func luhn(_ number: String) {
        #expect(engine.redact("number \(number) here", profile: "basic").counts["CREDIT_CARD"] == nil)
    }

    @Test("Mastercard 2-series, Amex and hyphenated numbers pass Luhn", arguments: ["2221 0000 0000 0009", "3782 822463 10005", "5555-5555-5555-4444"])
    func cards(_ number: String) {
        #expect(engine.redact("pay with \(number).", profile: "basic").counts["CREDIT_CARD"] == 1)
    }

    @Test("Ordinary numbers, years and versions are left alone")
    func negatives() {
        let text = "In 2024 we shipped v2.3.1 to 150 customers; order 12345 is late; mail is @home."
        let result = engine.redact(text, profile: "all")
        #expect(result.text == text)
        #expect(result.counts.isEmpty)
    }

    @Test("Profile none redacts nothing; an unknown profile redacts everything (fail closed)")
    func profiles() {
        let text = "write to a@b.example"
        #expect(engine.redact(text, profile: "none").text == text)
        #expect(engine.redact(text, profile: "no-such-profile").text == "write to [EMAIL]")
    }

    @Test("Offsets are Unicode scalars: text around entities survives intact")
    func unicode() {
        let text = "Grüße 👋 — jürgen@example.com ✅"
        #expect(engine.redact(text, profile: "basic").text == "Grüße 👋 — [EMAIL] ✅")
        #expect(engine.redact("mail björk@café.example now", profile: "basic").text == "mail [EMAIL] now")
    }

    @Test("A stream split anywhere equals the redaction of the whole text", arguments: [1, 2, 3, 5, 7, 13, 64])
    func streaming(_ step: Int) {
        let text = "Contact ops at oncall@acme.example or +1 415 555 0142; card 5555 5555 5555 4444 expires soon. Thanks!"
        var stream = engine.streaming(profile: "basic")
        var out = ""
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i < scalars.count {
            var piece = String.UnicodeScalarView()
            piece.append(contentsOf: scalars[i..<min(scalars.count, i + step)])
            out += stream.feed(String(piece))
            i += step
        }
        out += stream.finish()
        let whole = engine.redact(text, profile: "basic")
        #expect(out == whole.text)
        #expect(stream.counts == whole.counts)
        #expect(!out.contains("4444") && !out.contains("oncall"))
    }

    @Test("Holdback is bounded: long text without entities flows out")
    func boundedHoldback() {
        var stream = engine.streaming(profile: "basic")
        var emitted = 0
        for _ in 0..<100 { emitted += stream.feed("plain words flowing ").unicodeScalars.count }
        #expect(2000 - emitted <= 64 + 20)
        #expect(!stream.finish().isEmpty)
    }

    @Test("Pathological inputs are redacted exactly (completing at all shows there is no blow-up; no timing)")
    func pathological() {
        // Nothing here is sensitive: stray `@`s, single digits and dotted letters come out unchanged.
        let many = String(repeating: "@", count: 50_000) + String(repeating: "1 ", count: 50_000) + String(repeating: "a.", count: 50_000)
        let result = engine.redact(many, profile: "all")
        #expect(result.text == many)
        #expect(result.counts.isEmpty)
        // The same noise around real entities: exactly those are redacted, at their places.
        let noise = String(repeating: "@ 1 a. ", count: 10_000)
        let mixed = noise + "mail a@b.example, SSN 423-33-1186, call 206-648-3358. " + noise
        let redacted = engine.redact(mixed, profile: "all")
        #expect(redacted.text == noise + "mail [EMAIL], SSN [US_SSN], call [PHONE]. " + noise)
        #expect(redacted.counts == ["EMAIL": 1, "US_SSN": 1, "PHONE": 1])
        let spans = engine.spans(in: Array(mixed.unicodeScalars), profile: "all")
        let base = noise.unicodeScalars.count
        #expect(spans == [
            DetectedSpan(start: base + 5, end: base + 16, label: "EMAIL"),
            DetectedSpan(start: base + 22, end: base + 33, label: "US_SSN"),
            DetectedSpan(start: base + 40, end: base + 52, label: "PHONE"),
        ])
    }
}
