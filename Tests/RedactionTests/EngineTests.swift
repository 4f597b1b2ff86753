import Redaction
import SealgateCore
import Testing

/// A stand-in keyed digest (not cryptographic): the gateway injects HMAC-SHA256.
struct TestTokenizer: RedactionTokenizer {
    func digest(_ bytes: [UInt8]) -> [UInt8] {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return (0..<8).map { UInt8(truncatingIfNeeded: h >> (8 * UInt64($0))) }
    }
}

@Suite("Profiles, actions and tenant detectors")
struct EngineTests {
    @Test("Built-in profiles exist; all covers every label")
    func builtIns() {
        let engine = RedactionEngine()
        #expect(engine.hasProfile("none") && engine.hasProfile("basic") && engine.hasProfile("all"))
        let text = "Dr. Smith (jane@example.com, 10.0.0.1) on 2024-07-01 paid with 4111 1111 1111 1111, SSN 123-45-6789, IBAN GB82WEST12345698765432, see https://x.example/a, key AKIAIOSFODNN7EXAMPLE"
        let result = engine.redact(text, profile: "all")
        #expect(result.text == "Dr. [PERSON] ([EMAIL], [IP_ADDRESS]) on [DATE] paid with [CREDIT_CARD], SSN [US_SSN], IBAN [IBAN], see [URL], key [SECRET]")
        #expect(engine.redact(text, profile: "basic").counts == ["EMAIL": 1, "CREDIT_CARD": 1])
    }

    @Test("Actions: mask, partial mask, hash token, drop")
    func actions() {
        let profile = RedactionProfile(name: "mixed", actions: [
            "CREDIT_CARD": .partialMask(keepLast: 4), "EMAIL": .hashToken, "PHONE": .drop, "US_SSN": .mask,
        ])
        let engine = RedactionEngine(extraDetectors: [], profiles: [profile], tokenizer: TestTokenizer())
        let r1 = engine.redact("card 4111111111111111 mail a@b.example call (415) 555-0199 ssn 123-45-6789.", profile: "mixed")
        let r2 = engine.redact("again a@b.example and c@d.example", profile: "mixed")
        #expect(r1.text.hasPrefix("card ************1111 mail [EMAIL:"))
        #expect(r1.text.hasSuffix(" call  ssn [US_SSN]."))
        let token1 = r1.text.split(separator: " ")[3]
        #expect(token1.count == "[EMAIL:12345678]".count)
        #expect(r2.text.contains(String(token1)), "same value, same token")
        #expect(r2.text.split(separator: " ").last.map(String.init) != String(token1), "different value, different token")
        #expect(engine.redact("4111 1111 1111 1111", profile: "mixed").text == "**** **** **** 1111")
        // Without a tokenizer, hash tokens fall back to masks (fail closed).
        #expect(RedactionEngine(extraDetectors: [], profiles: [profile]).redact("a@b.example", profile: "mixed").text == "[EMAIL]")
    }

    @Test("Custom dictionary: whole words, case-insensitive, longest match")
    func dictionary() {
        let detector = CustomDictionaryDetector(label: "PROJECT", terms: ["Bluebird", "Blue Bird Two", "Zürich Office", ""])
        #expect(found(detector, in: "bluebird, BLUE BIRD TWO and zürich office; not bluebirds") == ["bluebird", "BLUE BIRD TWO", "zürich office"])
        let engine = RedactionEngine(extraDetectors: [detector])
        #expect(engine.redact("Project Bluebird ships", profile: "all").text == "Project [PROJECT] ships")
    }

    @Test("Pattern language: classes, sets, repeats; whole words")
    func pattern() throws {
        let ticket = try PatternDetector(label: "TICKET", pattern: "[A-Z]{2,5}-\\d{3,8}")
        #expect(found(ticket, in: "see OPS-1234 and ab-123 and XOPSLONG-1234 and OPS-12") == ["OPS-1234"])
        let employee = try PatternDetector(label: "EMPLOYEE", pattern: "E\\d{6}")
        #expect(found(employee, in: "id E755333, not E12345 or XE755333") == ["E755333"])
        let engine = RedactionEngine(extraDetectors: [ticket])
        #expect(engine.redact("ticket OPS-1234 done", profile: "all").text == "ticket [TICKET] done")
    }

    @Test("Patterns that fail to compile throw an error naming the pattern", arguments: [
        "", "[A-Z", "\\q", "x{3,1}", "+a", "a{999}", "\\d?", "abc\\",
    ])
    func badPattern(_ pattern: String) {
        #expect(throws: PatternError.self) { try PatternDetector(label: "X", pattern: pattern) }
        do {
            _ = try PatternDetector(label: "X", pattern: pattern)
        } catch let error as PatternError {
            #expect(error.description.contains("\"\(pattern)\""))
            #expect(error.pattern == pattern)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("Empty input, unknown profile, and very large input")
    func edges() {
        let engine = RedactionEngine()
        #expect(engine.redact("", profile: "all") == RedactionResult(text: "", counts: [:]))
        #expect(engine.redact("mail a@b.example", profile: "nope").text == "mail [EMAIL]")
        let big = String(repeating: "Lorem ipsum a@b.example 4111 1111 1111 1111 dolor. ", count: 20_000)
        let result = engine.redact(big, profile: "all")
        #expect(result.counts["EMAIL"] == 20_000 && result.counts["CREDIT_CARD"] == 20_000)
    }
}

@Suite("Redaction with only the profile's detectors (#17 item 5)")
struct ProfileDetectorTests {
    @Test("One pass gives the same text and spans as redact and spans, for every built-in profile", arguments: ["none", "basic", "all"])
    func onePass(_ profile: String) {
        let engine = RedactionEngine()
        let texts = [
            "Dr. Smith (jane@example.com, +44 20 7946 0958) paid with 4111 1111 1111 1111 on 2024-07-01, see https://x.example/a?tel=0207946095",
            "IBAN GB82WEST12345698765432 and call 020 7946 0958; Mary Jones knows.",
        ]
        for text in texts {
            let (result, spans) = engine.redactWithSpans(text, profile: profile)
            #expect(result == engine.redact(text, profile: profile))
            #expect(spans == engine.spans(in: Array(text.unicodeScalars), profile: profile))
        }
        // basic never redacts an IBAN's digits as a phone number, though it no longer runs every detector.
        #expect(engine.redactWithSpans("IBAN GB82WEST12345698765432", profile: "basic").result.text == "IBAN GB82WEST12345698765432")
    }

    @Test("Scalars in, UTF-8 appended: the text and spans of redactWithSpans, for every profile and action", arguments: ["none", "basic", "all", "mixed", "nope"])
    func scalarsIn(_ profile: String) {
        let mixed = RedactionProfile(name: "mixed", actions: [
            "CREDIT_CARD": .partialMask(keepLast: 4), "EMAIL": .hashToken, "PHONE": .drop, "PERSON": .mask,
        ])
        let engine = RedactionEngine(extraDetectors: [], profiles: [mixed], tokenizer: TestTokenizer())
        let texts = [
            "", "nothing here",
            "Dr. Smith (jane@example.com, +44 20 7946 0958) paid with 4111 1111 1111 1111 on 2024-07-01, see https://x.example/a?tel=0207946095",
            "caf\u{E9} \u{4E2D}\u{6587} \u{1F600} Mary Jones <m.jones@example.org> \u{1F600}\ncard 4111-1111-1111-1111 \u{FFFD}",
        ]
        var out = Array("kept".utf8)
        var expected = out
        for text in texts {
            let (result, spans) = engine.redactWithSpans(text, profile: profile)
            #expect(engine.redact(Array(text.unicodeScalars), profile: profile, appendingUTF8To: &out) == spans)
            expected += Array(result.text.utf8)
            #expect(out == expected, "\(text)")
        }
    }
}
