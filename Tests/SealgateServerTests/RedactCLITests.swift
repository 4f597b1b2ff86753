import Foundation
import Testing

@Suite("sealgate redact: JSON lines in, JSON lines out")
struct RedactCLITests {
    static func parse(_ line: Substring) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
    }

    @Test("Valid lines: other members of any JSON type are skipped, escapes and non-ASCII decode, offsets count code points")
    func validLines() async throws {
        let lines = [
            #"{"id":7,"meta":{"tags":["a",{"b":[1,-0,2.5e3,1E-2,true,false,null]}],"note":"x\"y"},"text":"mail anna@example.com"}"#,
            #"{"te\u0078t":"call 206-555-0134 now", "other": "text"}"#,
            #"  {"text":"\ud83d\ude00 \u00e9\t\"q\"\/ anna@example.com"}  "#,
            #"{"text":"caf\u00e9 \u4e2d anna@example.com","spans":[]}"# + "\r",
            #"{"text":""}"#,
        ]
        let run = try await runCLI(["redact", "--profile", "all"], stdin: lines.joined(separator: "\n"))
        #expect(run.status == 0, "\(run.both)")
        let out = run.stdout.split(separator: "\n")
        try #require(out.count == 5, "\(run.stdout)")
        let first = try Self.parse(out[0])
        #expect(first["text"] as? String == "mail [EMAIL]")
        let spans = try #require(first["spans"] as? [[String: Any]])
        #expect(spans.count == 1 && spans[0]["start"] as? Int == 5 && spans[0]["end"] as? Int == 21 && spans[0]["label"] as? String == "EMAIL")
        // The escaped member name is still "text"; the other member's value "text" is not.
        #expect(try Self.parse(out[1])["text"] as? String == "call [PHONE] now")
        // U+1F600 from a surrogate pair is one code point: the e-mail starts at 9 (emoji, space, é, tab, "q", /, space).
        let third = try Self.parse(out[2])
        #expect(third["text"] as? String == "\u{1F600} \u{E9}\t\"q\"/ [EMAIL]")
        #expect((third["spans"] as? [[String: Any]])?.first?["start"] as? Int == 9)
        #expect(try Self.parse(out[3])["text"] as? String == "caf\u{E9} \u{4E2D} [EMAIL]")
        #expect(try Self.parse(out[4])["text"] as? String == "")
        // Output keys are sorted and nothing in the text is lost in escaping.
        #expect(out[2].hasPrefix(#"{"spans":[{"end":"#) && out[2].contains(#""text":"\ud83d"#) == false)
    }

    @Test("Each malformed line gets an error at its place, the others are redacted, and the exit status is 1")
    func malformedLines() async throws {
        let bad = [
            "hello", "[1,2]", #"{"text":1}"#, #"{"text":"a","text":"b"}"#, #"{"text":"a"} x"#, "{\"text\":\"a\u{01}\"}",
            #"{"text":"\q"}"#, #"{"a":01,"text":"x"}"#, #"{"a":1.,"text":"x"}"#, #"{"a":tru,"text":"x"}"#, #"{"text":"x",}"#,
            #"{"text":"\u12"}"#, #"{"text":"x""#, "", String(repeating: "[", count: 5000), #"{"a":"# + String(repeating: "[", count: 200) + "]",
            #"{'text':'x'}"#, #"{"text":"x"}{"#,
        ]
        let good = #"{"text":"anna@example.com"}"#
        let input = bad.flatMap { [$0, good] }.joined(separator: "\n") + "\n"
        let run = try await runCLI(["redact", "--profile", "all"], stdin: input)
        #expect(run.status == 1, "\(run.both)")
        let out = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        try #require(out.count == 2 * bad.count, "\(run.stdout)")
        for (k, sample) in bad.enumerated() {
            let error = try Self.parse(out[2 * k])["error"] as? String
            #expect(error == "line \(2 * k + 1) is not a JSON object with a string text field", "\(sample.prefix(40))")
            #expect(try Self.parse(out[2 * k + 1])["text"] as? String == "[EMAIL]")
        }
    }

    @Test("A lone surrogate escape becomes one U+FFFD, so offsets after it still count code points")
    func loneSurrogate() async throws {
        let run = try await runCLI(["redact", "--profile", "basic"], stdin: #"{"text":"\ud800 anna@example.com"}"# + "\n")
        #expect(run.status == 0, "\(run.both)")
        let line = try Self.parse(Substring(run.stdout.trimmingCharacters(in: .newlines)))
        #expect(line["text"] as? String == "\u{FFFD} [EMAIL]")
        #expect((line["spans"] as? [[String: Any]])?.first?["start"] as? Int == 2)
    }
}
