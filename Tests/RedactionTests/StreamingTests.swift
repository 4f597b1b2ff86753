import Foundation
import Redaction
import SealgateCore
import SealgateTestSupport
import Testing

/// Streams `text` in random pieces of 1...maxPiece scalars; returns the output and the largest holdback seen.
func stream(_ engine: RedactionEngine, _ text: String, profile: String, seed: UInt64, maxPiece: Int) -> (String, [String: Int], Int) {
    var rng = SplitMix64(seed: seed)
    var session = engine.streaming(profile: profile)
    let scalars = Array(text.unicodeScalars)
    var out = ""
    var i = 0
    var fed = 0
    var emittedScalars = 0
    var maxHeld = 0
    while i < scalars.count {
        let k = min(scalars.count - i, Int.random(in: 1...maxPiece, using: &rng))
        var piece = String.UnicodeScalarView()
        piece.append(contentsOf: scalars[i..<(i + k)])
        let chunk = session.feed(String(piece))
        out += chunk
        fed += k
        emittedScalars += chunk.unicodeScalars.count
        if let redactor = session as? StreamRedactor { maxHeld = max(maxHeld, redactor.pendingCount) }
        i += k
    }
    out += session.finish()
    return (out, session.counts, maxHeld)
}

let sampleTexts = [
    "Contact ops at oncall@acme.example or +1 415 555 0142; card 5555 5555 5555 4444 expires soon. Thanks!",
    "From: Timothy Preston <pestes@example.com>\nHello, I was charged twice on Jul 1, 2024 using 2278550593511772. Call 206-648-3358.\nThanks,\nTimothy\n",
    "GITHUB_TOKEN=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\nDATABASE_URL = \"postgresql://app:pzCXOICF152!UFV@192.168.185.11:5432/orders\"\nIBAN DE15 4148 2811 9045 1533 37, SSN 423-33-1186, host e42c:77d1:6569:732:b534:1c27:c9bc:a8a4.\n",
    "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI4NjAzMjc4MiIsImlhdCI6MTc5MjYxOTIyOSwicm9sZSI6ImFkbWluIn0.C9jC11yXpxcj3OOdt6EFcc-Nw7lHJznNryr_54QnBHN and https://www.example.com/a/very/long/path/that/keeps/going/on/and/on/for/more/than/sixty-four/scalars?x=1.\n",
    "KEY = '''-----BEGIN OPENSSH PRIVATE KEY-----\n" + String(repeating: "MyKTRpbMubLRm677C/rDtx/sXO+xAHQrqQqYuPyX9tRmN0rLyHi0C67jMPT+Aycd\n", count: 12) + "-----END OPENSSH PRIVATE KEY-----'''\nDone. Grüße 👋 — jürgen@example.com ✅\n",
]

@Suite("Streaming equals whole-text redaction; holdback is bounded")
struct StreamingTests {
    let engine = RedactionEngine()

    @Test("Random splits of sample texts, every profile", arguments: ["all", "basic", "none"])
    func randomSplits(_ profile: String) {
        for (n, text) in sampleTexts.enumerated() {
            let whole = engine.redact(text, profile: profile)
            for seed in 0..<40 {
                let (out, counts, _) = stream(engine, text, profile: profile, seed: UInt64(seed * 31 + n), maxPiece: 1 + seed % 17)
                #expect(out == whole.text, "text \(n) seed \(seed)")
                #expect(counts == whole.counts)
            }
        }
    }

    @Test("A local part longer than 64 (up to EmailDetector.localCap) is masked whole, streamed or not", arguments: ["all", "basic"])
    func longLocalPart(_ profile: String) {
        for length in [65, 90, 300, 1_000] {
            let local = String(repeating: "a", count: length) + ".bbbb"
            let text = "Write to \(local)@example.org today."
            let whole = engine.redact(text, profile: profile)
            #expect(!whole.text.contains("aaaa") && whole.text.contains("[EMAIL]"), "\(length): \(whole.text.prefix(120))")
            for seed in 0..<12 {
                let (out, _, _) = stream(engine, text, profile: profile, seed: UInt64(seed), maxPiece: [1, 4, 40][seed % 3])
                #expect(out == whole.text, "\(length) seed \(seed): \(out.prefix(120))")
            }
        }
    }

    @Test("Random splits of the development corpus, when present")
    func corpus() throws {
        guard let data = FileManager_contents("/work/shared/data/pii-dev.jsonl") else { return }
        var failures = 0
        for (n, text) in data.prefix(300).enumerated() {
            let whole = engine.redact(text, profile: "all")
            let (out, _, _) = stream(engine, text, profile: "all", seed: UInt64(n), maxPiece: 1 + n % 40)
            if out != whole.text { failures += 1 }
        }
        #expect(failures == 0)
    }

    @Test("Holdback: plain text flows out with at most the configured bound held")
    func holdback() {
        var session = engine.streaming(profile: "all")
        var emitted = 0
        for _ in 0..<200 {
            emitted += session.feed("plain words flowing along ").unicodeScalars.count
            if let redactor = session as? StreamRedactor { #expect(redactor.pendingCount <= 64 + 26) }
        }
        #expect(200 * 26 - emitted <= 64 + 26)
        #expect(!session.finish().isEmpty)
    }

    @Test("A PEM block is held until its END line, then redacted; an unterminated one is redacted at the end")
    func pem() {
        let body = String(repeating: "MIIEowIBAAKCAQEA1234abcdEFGH5678ijklMNOP9012qrstUVWX3456yzAB+/==\n", count: 20)
        var session = engine.streaming(profile: "all")
        var out = session.feed("key:\n-----BEGIN RSA PRIVATE KEY-----\n")
        out += session.feed(body)
        #expect(!out.contains("MIIE"))
        out += session.feed("-----END RSA PRIVATE KEY-----\nbye " + String(repeating: "x ", count: 60))
        out += session.finish()
        #expect(out.hasPrefix("key:\n[SECRET]\nbye"))
        // A stream that ends inside the block flushes it redacted (fail closed).
        var cut = engine.streaming(profile: "all")
        let partial = cut.feed("-----BEGIN PRIVATE KEY-----\n" + body) + cut.finish()
        #expect(!partial.contains("MIIE") && partial.contains("[SECRET]"))
    }

    @Test("A stream that ends mid-holdback flushes redacted text")
    func flush() {
        var session = engine.streaming(profile: "basic")
        #expect(session.feed("write to a@b.example") == "")
        #expect(session.finish() == "write to [EMAIL]")
    }
}

/// The "text" fields of a JSON-lines file, or nil if it is missing.
func FileManager_contents(_ path: String) -> [String]? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    return data.split(separator: UInt8(ascii: "\n")).compactMap { line in
        (try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])?["text"] as? String
    }
}

@Suite("Streaming keeps a table's header as column context")
struct StreamingTableTests {
    let engine = RedactionEngine()

    /// A header, 60 rows (far more than the holdback), a blank line, prose with unlabelled 9-digit numbers, then a
    /// second table whose columns differ.
    static let text: String = {
        var text = "Roster export\nemployee_id,name,ssn,mobile,dob\n"
        for k in 0..<60 {
            let ssn = 518_403_100 + k * 7
            let phone = 2_065_550_100 + k
            text += "\(401_239_800 + k),\"Row \(k), Person\",\(ssn),\(phone),1979\(String(format2: k % 12 + 1))14\n"
        }
        text += "\nOrder 518403127 shipped; ZIP 981091234.\n"
        text += "ticket|tel|note\nT-1|3125550110|call back\nT-2|3125550111|518403127 is an order\n"
        return text
    }()

    @Test("Rows far below their header are typed as in the whole text, however the stream is split")
    func rows() {
        let whole = engine.redact(Self.text, profile: "all")
        #expect(whole.counts["US_SSN"] == 60)
        #expect(whole.counts["PHONE"] == 62)
        #expect(whole.counts["DATE"] == 60)
        #expect(whole.text.contains("Order 518403127 shipped; ZIP 981091234."))
        #expect(whole.text.contains("T-2|[PHONE]|518403127 is an order"))
        for seed in 0..<12 {
            let (out, counts, held) = stream(engine, Self.text, profile: "all", seed: UInt64(seed), maxPiece: 1 + seed * 2)
            #expect(out == whole.text, "seed \(seed)")
            #expect(counts == whole.counts, "seed \(seed)")
            // Column context costs left context only, not holdback.
            #expect(held <= engine.holdback + 23 + 64, "seed \(seed)")
        }
    }

    @Test("A header longer than the retained cap is not kept: later rows are redacted by shape alone (documented)")
    func longHeader() {
        let header = (0..<60).map { "column_\($0)" }.joined(separator: ",") + ",ssn"
        let row = (0..<60).map { _ in "x" }.joined(separator: ",") + ",518403127"
        let text = header + "\n" + Array(repeating: row, count: 8).joined(separator: "\n") + "\n"
        #expect(header.unicodeScalars.count > StreamRedactor.retainedCap)
        #expect(engine.redact(text, profile: "all").counts["US_SSN"] == 8)
        let (out, _, _) = stream(engine, text, profile: "all", seed: 1, maxPiece: 8)
        // Once the header leaves the window, rows are redacted by shape alone: the last row's bare SSN passes.
        #expect(out != engine.redact(text, profile: "all").text)
        #expect(out.hasSuffix(row + "\n"))
    }
}

extension String {
    /// Two digits, zero-padded.
    init(format2 value: Int) { self = value < 10 ? "0\(value)" : "\(value)" }
}
