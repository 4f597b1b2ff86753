import Redaction
import SealgateCore
import Testing

/// Shapes a model's answer can take that passed the detectors (review findings): look-alike scalars (no-break and
/// thin spaces, Unicode dashes, fullwidth digits and `＠`, zero-width and combining scalars inside an entity), and
/// long runs that a stream held whole and rescanned on every delta.
@Suite("Redaction: look-alike scalars and long runs")
struct EvasionTests {
    let engine = RedactionEngine()

    /// The text redacted whole and streamed in pieces of 1, 4 and 40 scalars: the same, and `leak` in neither (with the
    /// profiles whose labels include `label`: `basic` has no IBAN or SSN).
    func check(_ text: String, hides leak: String, label: String, profiles: [String] = ["all", "basic"], sourceLocation: SourceLocation = #_sourceLocation) {
        for profile in profiles {
            let whole = engine.redact(text, profile: profile)
            // (A profile may mask a label partly, `************1111`: the leak must be gone and the label counted.)
            #expect(!whole.text.contains(leak) && whole.counts[label, default: 0] > 0, "\(profile): \(whole.text)", sourceLocation: sourceLocation)
            for (seed, piece) in [1, 4, 40].enumerated() {
                let (out, _, _) = stream(engine, text, profile: profile, seed: UInt64(seed), maxPiece: piece)
                #expect(out == whole.text, "\(profile) pieces of ≤\(piece): \(out)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("Separators other than ASCII space and hyphen: cards, phones, IBANs and SSNs are still found")
    func unicodeSeparators() {
        for separator in ["\u{00A0}", "\u{2009}", "\u{202F}", "\u{2011}", "\u{2013}"] {
            check("Card 4111\(separator)1111\(separator)1111\(separator)1111 ok", hides: "1111\(separator)1111", label: "CREDIT_CARD")
            check("Call +1\(separator)650\(separator)577\(separator)2881 now", hides: "577\(separator)2881", label: "PHONE")
        }
        check("IBAN DE89\u{00A0}3704\u{00A0}0044\u{00A0}0532\u{00A0}0130\u{00A0}00 ok", hides: "0532", label: "IBAN", profiles: ["all"])
        check("SSN 123\u{00A0}45\u{00A0}6789 ok", hides: "6789", label: "US_SSN", profiles: ["all"])
    }

    @Test("Fullwidth digits and a fullwidth @ are found as their ASCII forms")
    func fullwidth() {
        check("カード番号：４１１１　１１１１　１１１１　１１１１", hides: "１１１１　１１１１", label: "CREDIT_CARD")
        check("電話番号：+１　６５０　５７７　２８８１", hides: "５７７", label: "PHONE")
        check("Contact john.doe\u{FF20}example.com today", hides: "john.doe", label: "EMAIL")
        check("メール：taro.yamada＠example.co.jp まで", hides: "taro", label: "EMAIL")
    }

    @Test("Zero-width, soft-hyphen and combining scalars inside an entity do not split it")
    func invisibleScalars() {
        check("Contact jo\u{200B}hn@example.com today", hides: "jo\u{200B}", label: "EMAIL")
        check("Mail jo\u{0301}hn.doe@example.com now", hides: "jo\u{0301}", label: "EMAIL")
        check("Mail john.doe\u{00AD}smith@example.com now", hides: "john.doe", label: "EMAIL")
        check("Card 4111\u{200B}1111\u{200B}1111\u{200B}1111 ok", hides: "4111", label: "CREDIT_CARD")
        check("key AKIA\u{200B}IOSFODNN7EXAMPLE ok", hides: "IOSFODNN7", label: "SECRET", profiles: ["all"])
    }

    @Test("A run of letters or digits longer than the hold-back streams out as it comes, equal to the whole text")
    func longRuns() {
        let hexDigits: [Character] = Array("0123456789abcdef")
        var hex = ""
        for i in 0..<20_000 { hex.append(hexDigits[(i * 7 + i / 3) % 16]) }
        let runs: [String] = [String(repeating: "7", count: 20_000), String(repeating: "A", count: 20_000), hex]
        for run in runs {
            let text = "Here is the dump: \(run) end."
            for profile in ["all", "basic"] {
                let whole = engine.redact(text, profile: profile)
                let (out, _, held) = stream(engine, text, profile: profile, seed: 3, maxPiece: 4)
                #expect(out == whole.text)
                // Bounded by the longest token a detector waits for, not by the run (it held all 20,000 before).
                #expect(held <= SecretDetector.tokenCap + 2 * engine.holdback + 256, "\(profile): held \(held)")
            }
        }
    }

    @Test("A private key in a JSON string, a block quote, or longer than 8 Ki is masked through its END line")
    func privateKeys() {
        let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"
        check(#""private_key": "-----BEGIN PRIVATE KEY-----\n\#(body)\n-----END PRIVATE KEY-----\n","#, hides: body, label: "SECRET", profiles: ["all"])
        check("> -----BEGIN RSA PRIVATE KEY-----\n> \(body)\n> -----END RSA PRIVATE KEY-----", hides: body, label: "SECRET", profiles: ["all"])
        let lines = (0..<150).map { i in String(repeating: Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")[i % 26], count: 63) + "\(i % 10)" }
        let big = "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n" + lines.joined(separator: "\n") + "\n-----END PGP PRIVATE KEY BLOCK-----"
        #expect(big.unicodeScalars.count > 9_000)
        check("key:\n\(big)\nthanks", hides: String(lines[149].prefix(20)), label: "SECRET", profiles: ["all"])
    }

    @Test("Passwords with brackets or backslashes, under a Markdown label, quoted with spaces, under DB_PASS")
    func passwords() {
        for (text, leak) in [
            ("password: Tr0ub(4)dor&3", "Tr0ub"), ("password: s3cr3t[2024]", "s3cr3t"), (#"password: C:\Users\pw99"#, "pw99"),
            ("- **Password**: hunter2horse", "hunter2horse"), ("**Password**: `Hunter2!`", "Hunter2!"), ("**Password:** hunter2horse", "hunter2horse"),
            (#"password="Correct Horse Battery Staple""#, "Horse Battery"), ("DB_PASS=hunter2xyz", "hunter2xyz"), ("pass: Hunter2xyz9", "Hunter2xyz9"),
        ] {
            check(text, hides: leak, label: "SECRET", profiles: ["all"])
        }
        // Still code, not a secret: a call, an interpolation, a type name; `bypass` is no password.
        for text in ["password: getPassword()", #"password: "\(pw)""#, "password: String", "bypass: enabled1"] {
            #expect(engine.redact(text, profile: "all").text == text, "\(text)")
        }
    }

    @Test("OpenAI, Anthropic and GitLab keys are secrets; a hyphenated word after sk- is not")
    func providerKeys() {
        let openai = "sk-proj-" + String(repeating: "Ab3dE_f9Gh-iJ2kL", count: 10)
        check("export OPENAI_API_KEY_VALUE \(openai) now", hides: "Ab3dE", label: "SECRET", profiles: ["all"])
        check("use sk-ant-api03-Zx81Kq0Lm2Nn3Pp4Qq5Rr6Ss7Tt8Uu9Vv0WwXxYy here", hides: "Zx81Kq0", label: "SECRET", profiles: ["all"])
        check("token glpat-xZ9kQ2mN4pL7rT1vW3yB5 here", hides: "xZ9kQ2", label: "SECRET", profiles: ["all"])
        let prose = "the sk-learn-style-pipeline-with-many-words-in-it is a library"
        #expect(engine.redact(prose, profile: "all").text == prose)
    }

    @Test("A URL password holding an @, and a JWT with a payload over 4 Ki, are masked whole")
    func urlPasswordAndLongJWT() {
        check("postgres://admin:P@ssw0rd!@db.internal:5432/app", hides: "ssw0rd", label: "SECRET", profiles: ["all"])
        check(#"DATABASE_URL = "postgresql://app:MKhJCP3015#mow@192.168.225.10:5432/db""#, hides: "MKhJCP3015", label: "SECRET", profiles: ["all"])
        let payload = String(repeating: "eyJzdWIiOiIxMjM0NTY3ODkwIn0", count: 230)
        let jwt = "eyJhbGciOiJIUzI1NiJ9.\(payload).SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
        check("Your session token is \(jwt) thanks.", hides: "SflKxwRJSMeKK", label: "SECRET", profiles: ["all"])
    }

    @Test("A tenant pattern longer than the hold-back is held until it ends, streamed in any pieces")
    func longTenantPattern() throws {
        // A profile of this label alone, above every built-in priority: no other detector's hold covers it.
        let pattern = try PatternDetector(label: "CASE_KEY", pattern: "ck#[a-z0-9]{150,250}", priority: 200)
        let engine = RedactionEngine(extraDetectors: [pattern], profiles: [RedactionProfile(name: "cases", labels: ["CASE_KEY"])])
        let key = "ck#" + String(repeating: "a1b2c3d4e5", count: 20)
        let text = "The case key is \(key) and nothing else."
        let whole = engine.redact(text, profile: "cases")
        #expect(whole.text == "The case key is [CASE_KEY] and nothing else.")
        for (seed, piece) in [1, 3, 16, 70].enumerated() {
            let (out, _, _) = stream(engine, text, profile: "cases", seed: UInt64(seed), maxPiece: piece)
            #expect(out == whole.text, "pieces of ≤\(piece): \(out)")
        }
    }

    @Test("Tenant terms and patterns holding scalars that detection folds still match (an en dash, a no-break space, a fullwidth colon)")
    func foldedTenantDetectors() throws {
        let terms = CustomDictionaryDetector(label: "PROJECT", terms: ["Projekt Nord–Süd", "Acme\u{00A0}Labs"])
        let number = try PatternDetector(label: "EMPLOYEE", pattern: "社員番号：\\d{6}")
        let cases = try PatternDetector(label: "CASE", pattern: "CASE–\\d{6}")
        let engine = RedactionEngine(extraDetectors: [terms, number, cases])
        #expect(engine.redact("Status of Projekt Nord–Süd today", profile: "all").text == "Status of [PROJECT] today")
        #expect(engine.redact("Status of Projekt Nord-Süd today", profile: "all").text == "Status of [PROJECT] today")
        #expect(engine.redact("Acme\u{00A0}Labs said", profile: "all").text == "[PROJECT] said")
        #expect(engine.redact("社員番号：123456 です", profile: "all").text == "[EMPLOYEE] です")
        #expect(engine.redact("see CASE–123456 now", profile: "all").text == "see [CASE] now")
    }

    @Test("Code after a password name is not a password: subscripts, calls, a prompt in quotes")
    func passwordCodeStaysCode() {
        for text in [#"password = request.form["password"]"#, "password = sys.argv[1]", "password = hashlib.sha256(pw).hexdigest()",
                     #"password = config["db"]["password"]"#, #"let password = keychain["api"] ?? """#,
                     #"The form shows password: "Please enter your password, then press OK" on screen"#] {
            #expect(engine.redact(text, profile: "all").text == text, "\(text)")
        }
    }

    @Test("Streams hold what detection finds on the folded text: a JWT with a long header, a long local part with a zero-width space, a table whose header has a fullwidth comma")
    func streamedFolded() {
        let header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InByb2Qta2V5LTIwMjYifQ"
        let payload = "eyJzdWIiOiJ1c2VyMTIzIiwiZ3JvdXBzIjpb" + String(repeating: "ImdycC1hYmNkZWYiLC", count: 300) + "XX0"
        check("Authorization: Bearer \(header).\(payload).C9jC11yXpxcj3OOdt6EFcc-Nw7lHJznNryr_54QnBHN done", hides: "kpXVCIsImtp", label: "SECRET", profiles: ["all"])
        check("Mail " + String(repeating: "a", count: 200) + "\u{200B}bbbbbbbbbb@example.com ok", hides: "aaaa", label: "EMAIL")
        let rows = (0..<12).map { i in "Person number \(i) with a longish name\u{FF0C}\(519 + i)48\(1243 + i)\u{FF0C}ok" }
        check("Name\u{FF0C}SSN\u{FF0C}Note\n" + rows.joined(separator: "\n"), hides: "5194", label: "US_SSN", profiles: ["all"])
    }
}
