/// Credentials and keys:
/// - AWS access key ids (`AKIA`/`ASIA`/`AGPA`/`AIDA`/`AROA`/`ANPA`/`ANVA`/`AIPA` + 16 upper-case letters/digits),
/// - GitHub tokens (`ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` + 36+ alphanumerics, `github_pat_…`), GitLab tokens (`glpat-…`),
///   OpenAI and Anthropic keys (`sk-…`, `sk-proj-…`, `sk-ant-…`: 32+ base64url scalars with digits),
/// - Slack tokens (`xoxa-`/`xoxb-`/`xoxp-`/`xoxr-`/`xoxs-…`), Stripe secret and restricted keys
///   (`sk_live_`/`sk_test_`/`rk_live_`/`rk_test_`), Google API keys (`AIza` + 35),
/// - JWTs (`eyJ…​.​…​.​…`), PEM private-key blocks (`-----BEGIN … PRIVATE KEY-----` to the END line),
/// - passwords in URLs (`scheme://user:PASSWORD@host`),
/// - values assigned to key-like names (`password`, `secret`, `token`, `key`, `credential`, `auth`…) with `=`, `:`,
///   `=>` or `:=`: any non-placeholder value for password-like names, high-entropy values (16+ scalars, Shannon
///   entropy ≥ 3 bits, mixed character classes) for the others.
///
/// Limits: a high-entropy string with no key-like name before it (a bare random token) is not detected; neither are
/// passwords in prose without an assignment (`my password is hunter2`).
public struct SecretDetector: Detector {
    public let label = "SECRET"
    public let priority = 100
    /// The longest PEM block, in scalars. A block with no END line within it is redacted from BEGIN over its base64
    /// body, up to this cap (fail closed); a stream holds an unfinished block at most this long. 64 Ki: an 8192-bit
    /// RSA key (~6.4 K) or a PGP key with subkeys (~10–20 K) leaked their tail past the earlier 8 Ki (review finding).
    public static let pemCap = 65_536
    /// The longest token a stream holds back while it may still become a secret.
    public static let tokenCap = 4096
    /// The longest part (header, payload, signature) of a JWT: tokens with many group claims exceed 4 Ki (review
    /// finding: a 6,000-scalar payload was not masked at all). A stream holds a run that begins `eyJ` this long × 3.
    public static let jwtPartCap = 16_384
    public init() {}

    public func detect(_ t: [Unicode.Scalar]) -> [DetectedSpan] {
        var spans: [DetectedSpan] = []
        let n = t.count
        var i = 0
        var lastEnd = 0
        while i < n {
            // Anchors: `_` (gh?_, sk_, rk_, github_pat_), `-` (xox?-, -----BEGIN), `J` (eyJ), `A` (AKIA, AIza), `=`, `:`.
            i = skip(t, i) { v in v == 95 || v == 45 || v == 74 || v == 65 || v == 61 || v == 58 }
            guard i < n else { break }
            var start = -1
            var end = 0
            switch t[i] {
            case "_":
                if i >= 3, t[i - 3] == "g", t[i - 2] == "h" {
                    start = i - 3
                } else if i >= 2, t[i - 2] == "s" || t[i - 2] == "r", t[i - 1] == "k" {
                    start = i - 2
                } else if i >= 6, hasPrefix(t, at: i - 6, "github") {
                    start = i - 6
                }
            case "-":
                if i >= 4, hasPrefix(t, at: i - 4, "xox") {
                    start = i - 4
                } else if i >= 2, hasPrefix(t, at: i - 2, "sk") {
                    start = i - 2
                } else if i >= 5, hasPrefix(t, at: i - 5, "glpat") {
                    start = i - 5
                } else if i >= lastEnd, hasPrefix(t, at: i, "-----BEGIN ") {
                    end = pem(t, i)
                    if end > i {
                        spans.append(DetectedSpan(start: i, end: end, label: label))
                        i = end
                        lastEnd = end
                        continue
                    }
                }
            case "J":
                if i >= 2, t[i - 2] == "e", t[i - 1] == "y" { start = i - 2 }
            case "A":
                start = i
            default:
                if i >= lastEnd, let value = assignedValue(t, i) ?? (t[i] == ":" ? urlPassword(t, i) : nil) {
                    spans.append(DetectedSpan(start: value.lowerBound, end: value.upperBound, label: label))
                    i = value.upperBound
                    lastEnd = i
                    continue
                }
            }
            if start >= lastEnd, leftBoundary(t, start), start == 0 || t[start - 1] != "_" {
                end = token(t, start)
                if end > i {
                    spans.append(DetectedSpan(start: start, end: end, label: label))
                    i = end
                    lastEnd = end
                    continue
                }
            }
            i += 1
        }
        return spans
    }

    /// A PEM block in progress, or a long token at the end of the text.
    public func unfinishedMatchStart(in t: [Unicode.Scalar]) -> Int? {
        let n = t.count
        // The last BEGIN line, if its block has not ended.
        var k = n - 11
        while k >= 0, n - k < Self.pemCap {
            if t[k] == "-", hasPrefix(t, at: k, "-----BEGIN ") {
                if pem(t, k) == n { return k }
                break
            }
            k -= 1
        }
        // A long run of token characters touching the end (a JWT's run, `eyJ…`, as long as its three parts may be).
        var j = n
        while j > 0, n - j < 3 * Self.jwtPartCap + 2, Self.isTokenChar(t[j - 1]) { j -= 1 }
        guard n - j >= 32 else { return nil }
        if n - j < Self.tokenCap { return j }
        // The run may begin with scalars `isTokenChar` takes (`token=eyJ…`): its JWT starts at the first `eyJ` after
        // a boundary (not the payload's, which also begins `eyJ`, after the header's `.`).
        var e = j
        while e + 3 <= n {
            if t[e] == "e", t[e + 1] == "y", t[e + 2] == "J", e == j || !Self.isBase64URL(t[e - 1]) && t[e - 1] != "." {
                return n - e < 3 * Self.jwtPartCap + 2 ? e : nil
            }
            e += 1
        }
        return nil
    }

    @inline(__always) static func isTokenChar(_ s: Unicode.Scalar) -> Bool {
        isASCIIAlnum(s) || s == "_" || s == "-" || s == "." || s == "+" || s == "/" || s == "=" || s == "~" || s == "%"
    }
    @inline(__always) static func isBase64URL(_ s: Unicode.Scalar) -> Bool { isASCIIAlnum(s) || s == "_" || s == "-" }

    /// Length of a run from `i` whose scalars satisfy `ok`, at most `limit`.
    @inline(__always) func run(_ t: [Unicode.Scalar], _ i: Int, limit: Int, _ ok: (Unicode.Scalar) -> Bool) -> Int {
        var j = i
        while j < t.count, j - i < limit, ok(t[j]) { j += 1 }
        return j - i
    }

    /// The end of a PEM private-key block at `i` (through its END line, or over its body up to the cap), or 0.
    func pem(_ t: [Unicode.Scalar], _ i: Int) -> Int {
        let n = t.count
        var j = i + 11
        // Header label: upper-case words, ending in PRIVATE KEY (or PRIVATE KEY BLOCK), then `-----`.
        let labelStart = j
        while j < n, j - labelStart < 64, isUpper(t[j]) || isDigit(t[j]) || t[j] == " " { j += 1 }
        guard hasPrefix(t, at: j, "-----") else { return 0 }
        var isPrivate = false
        var k = labelStart
        while k + 7 <= j {
            if hasPrefix(t, at: k, "PRIVATE") { isPrivate = true }
            k += 1
        }
        guard isPrivate else { return 0 }
        j += 5
        let cap = min(n, i + Self.pemCap)
        // The body: base64 lines and `Key: value` headers, then the END line.
        while j < cap {
            let s = t[j]
            if s == "-" {
                if hasPrefix(t, at: j, "-----END ") {
                    var e = j + 9
                    while e < cap, e - j < 80, t[e] != "\n" {
                        if hasPrefix(t, at: e, "-----") { return min(e + 5, cap) }
                        e += 1
                    }
                    return e
                }
                j += 1
            } else if isASCIIAlnum(s) || s == "+" || s == "/" || s == "=" || s == ":" || s == "," || isSpace(s) || Self.isQuoting(s) {
                // (Quoting scalars: a key in a JSON string, `\n` between its lines, or in a `> ` block quote, a
                // `# ` comment or a string concatenation kept its body in clear after the BEGIN line.)
                j += 1
            } else {
                break
            }
        }
        return j
    }

    /// What may stand between a PEM block's lines besides whitespace: escapes, quotes, quote and comment marks.
    @inline(__always) static func isQuoting(_ s: Unicode.Scalar) -> Bool {
        s == "\\" || s == "\"" || s == "'" || s == ">" || s == "#" || s == "*" || s == "|" || s == ";"
    }

    /// The value assigned to a key-like name by the operator at `i` (`=`, `:`, `=>`, `:=`).
    func assignedValue(_ t: [Unicode.Scalar], _ op: Int) -> Range<Int>? {
        let n = t.count
        // Not a time (`14:20`), the second scalar of `==`, `:=`, `::`, nor a URL scheme `://`.
        if t[op] == ":", op > 0, op + 1 < n, isDigit(t[op - 1]), isDigit(t[op + 1]) { return nil }
        // Markdown emphasis between the name and the operator (`**Password**: …`), as answers format it.
        var left = op - 1
        while left >= 0, op - left <= 3, t[left] == "*" { left -= 1 }
        if left < 0 || !(isASCIIAlnum(t[left]) || t[left] == " " || t[left] == "\"" || t[left] == "'" || t[left] == "_") {
            return nil
        }
        if op + 1 < n, t[op + 1] == "=" || t[op + 1] == ":" || t[op + 1] == "/" { return nil }
        if op > 0, t[op - 1] == "=" || t[op - 1] == "!" || t[op - 1] == "<" || t[op - 1] == ">" { return nil }
        // The name before it: `name =`, `"name":`, `NAME=`.
        var k = left
        if k >= 0, t[k] == ":" { k -= 1 }  // `:=`
        while k >= 0, op - k < 4, t[k] == " " { k -= 1 }
        if k >= 0, t[k] == "\"" || t[k] == "'" { k -= 1 }
        let nameEnd = k + 1
        while k >= 0, nameEnd - k <= 48, isASCIIAlnum(t[k]) || t[k] == "_" || t[k] == "-" || t[k] == "." { k -= 1 }
        let nameStart = k + 1
        guard nameEnd - nameStart >= 3, nameEnd - nameStart <= 48 else { return nil }
        // `pass` as a whole name or its last part (`pass`, `DB_PASS`, `mysql.pass`), not inside a word (`bypass`).
        var passwordLike = hasPrefix(t, at: nameEnd - 4, "pass", ignoringCase: true)
            && (nameEnd - 4 == nameStart || [Unicode.Scalar("_"), "-", "."].contains(t[nameEnd - 5]))
        var keyLike = false
        for k in nameStart..<nameEnd {
            switch lowerASCII(t[k]) {
            case 112:  // p
                if hasPrefix(t, at: k, "password", ignoringCase: true) || hasPrefix(t, at: k, "passwd", ignoringCase: true)
                    || hasPrefix(t, at: k, "pwd", ignoringCase: true) || hasPrefix(t, at: k, "passphrase", ignoringCase: true) {
                    passwordLike = true
                }
            case 115:  // s
                if hasPrefix(t, at: k, "secret", ignoringCase: true) { passwordLike = true }
                if hasPrefix(t, at: k, "signature", ignoringCase: true) || hasPrefix(t, at: k, "session", ignoringCase: true) {
                    keyLike = true
                }
            case 107: if hasPrefix(t, at: k, "key", ignoringCase: true) { keyLike = true }  // k
            case 116: if hasPrefix(t, at: k, "token", ignoringCase: true) { keyLike = true }  // t
            case 99:  // c
                if hasPrefix(t, at: k, "credential", ignoringCase: true) || hasPrefix(t, at: k, "cookie", ignoringCase: true) {
                    keyLike = true
                }
            case 97: if hasPrefix(t, at: k, "auth", ignoringCase: true) { keyLike = true }  // a
            default: break
            }
        }
        guard passwordLike || keyLike else { return nil }
        // The value after it.
        var v = op + 1
        if v < n, t[v] == ">" { v += 1 }
        while v < n, v - op <= 3, t[v] == "*" { v += 1 }  // `**Password:** …`
        let afterOperator = v
        while v < n, v - afterOperator < 4, t[v] == " " || t[v] == "\t" { v += 1 }
        var quote: Unicode.Scalar? = nil
        if v < n, t[v] == "\"" || t[v] == "'" || t[v] == "`" {
            quote = t[v]
            v += 1
        }
        // `Bearer`/`token`/`Basic` schemes before the value.
        for scheme in ["Bearer ", "bearer ", "token ", "Token ", "Basic "] where hasPrefix(t, at: v, Array(scheme.utf8)) {
            v += scheme.utf8.count
        }
        var e = v
        // A quoted value runs to its closing quote, spaces and all (`password: "correct horse battery staple"`).
        while e < n, e - v < 512, quote != nil ? (t[e] != quote && t[e] != "\n") : (!isSpace(t[e]) && t[e] != "," && t[e] != ";") {
            if quote == nil, t[e] == "\"" || t[e] == "'" { break }
            e += 1
        }
        while e > v, t[e - 1] == "," || t[e - 1] == ";" || t[e - 1] == ")" || (quote == nil && t[e - 1] == ".") { e -= 1 }
        let length = e - v
        // A quoted value with spaces is a passphrase only when short and not a sentence (`"Please enter your
        // password, then press OK"` is a prompt).
        if quote != nil, t[v..<e].contains(" "), length > 64 || t[v..<e].contains(",") || t[v..<e].contains(".") { return nil }
        guard length >= 4, length < 512, !placeholder(t, v, e), !looksLikeCode(t, v, e, passwordLike: passwordLike) else { return nil }
        if passwordLike { return v..<e }
        return length >= 16 && highEntropy(t, v, e) ? v..<e : nil
    }

    static let nonValues: [[UInt8]] = ["null", "none", "nil", "true", "false", "undefined", "redacted", "required"].map { Array($0.utf8) }
    static let awsPrefixes: [[UInt8]] = ["AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA"].map { Array($0.utf8) }
    /// Values that name a secret rather than being one: `${VAR}`, `<token>`, `os.environ[…]`, `****`, `null`.
    func placeholder(_ t: [Unicode.Scalar], _ v: Int, _ e: Int) -> Bool {
        let first = t[v]
        if first == "$" || first == "{" || first == "<" || first == "%" || first == "[" || first == "(" { return true }
        var stars = 0
        for k in v..<e where t[k] == "*" || t[k] == "x" || t[k] == "X" || t[k] == "." { stars += 1 }
        if stars == e - v { return true }
        // References to where the secret lives.
        if hasPrefix(t, at: v, "os.", ignoringCase: true) || hasPrefix(t, at: v, "process.", ignoringCase: true)
            || hasPrefix(t, at: v, "env", ignoringCase: true) || hasPrefix(t, at: v, "getenv", ignoringCase: true) {
            return true
        }
        // Literal non-values.
        for word in Self.nonValues where e - v == word.count && hasPrefix(t, at: v, word, ignoringCase: true) { return true }
        // A plain lower-case word or identifier (`token: string`, `password: required`) is not a value.
        var letters = 0
        for k in v..<e where isLower(t[k]) || t[k] == "_" { letters += 1 }
        return letters == e - v && e - v < 12
    }

    /// Expressions rather than literals: calls, interpolations, dotted identifiers (`request.token`), type names
    /// (`String`, `Data?`). For a password-like name only a whole call (`getPassword()`), an interpolation (`\(pw)`),
    /// a dotted identifier or a type name is code: brackets and backslashes are common in passwords (review
    /// finding: `password: Tr0ub(4)dor&3`, `s3cr3t[2024]`, `C:\Users\pw99` were left in clear).
    func looksLikeCode(_ t: [Unicode.Scalar], _ v: Int, _ e: Int, passwordLike: Bool = false) -> Bool {
        var digits = 0
        var dots = 0
        var other = 0
        if passwordLike {
            var k = v
            var dotted = false
            var hasDigit = false
            while k < e, isASCIIAlnum(t[k]) || t[k] == "_" || t[k] == "." {
                dotted = dotted || t[k] == "."
                hasDigit = hasDigit || isDigit(t[k])
                k += 1
            }
            if k > v, k < e, t[k] == "(" || t[k] == "[" {
                // A call or subscript of a dotted or digit-free identifier (`request.form["password"]`,
                // `sys.argv[1]`, `getPassword(user)`, `config["db"]`) is code; `Tr0ub(4)dor&3`, `s3cr3t[2024]` are not.
                if dotted || !hasDigit { return true }
                // (The value's trailing `)` may have been trimmed: `sha256(pw` then holds no `)`.)
                if t[k] == "(", t[e - 1] == ")" || !t[k..<e].contains(")") { return true }
            }
            for k in v..<(e - 1) where t[k] == "\\" && t[k + 1] == "(" { return true }
        }
        for k in v..<e {
            let s = t[k]
            if s == "(" || s == ")" || s == "\\" || s == "[" || s == "]" {
                if passwordLike { other += 1; continue }
                return true
            }
            if isDigit(s) { digits += 1 } else if s == "." { dots += 1 } else if !isASCIIAlpha(s) && s != "_" && s != "?" { other += 1 }
        }
        if digits == 0, other == 0, dots > 0 { return true }  // a.b.c
        if digits == 0, other == 0, isUpper(t[v]), e - v <= 16 {
            var lowerRest = true
            for k in (v + 1)..<e where isUpper(t[k]) && isUpper(t[k - 1]) { lowerRest = false }
            return lowerRest  // `String`, `URLSession` stays; `PASSWORD`-like all-caps words are not types
        }
        return false
    }

    /// Mixed character classes and Shannon entropy of at least 3 bits per scalar.
    func highEntropy(_ t: [Unicode.Scalar], _ v: Int, _ e: Int) -> Bool {
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: 128) { counts in
            counts.initialize(repeating: 0)
            return entropy(t, v, e, counts)
        }
    }

    func entropy(_ t: [Unicode.Scalar], _ v: Int, _ e: Int, _ counts: UnsafeMutableBufferPointer<Int>) -> Bool {
        var upper = 0
        var lower = 0
        var digit = 0
        for k in v..<e {
            let s = t[k]
            guard s.value < 128 else { return false }
            counts[Int(s.value)] += 1
            if isUpper(s) { upper += 1 } else if isLower(s) { lower += 1 } else if isDigit(s) { digit += 1 }
        }
        let classes = (upper > 0 ? 1 : 0) + (lower > 0 ? 1 : 0) + (digit > 0 ? 1 : 0)
        // Generated keys almost always contain digits; identifiers (`maxTokensPerRequest`) rarely do.
        guard classes >= 2, digit >= 2 else { return false }
        let total = Double(e - v)
        var h = 0.0
        for c in counts where c > 0 {
            let p = Double(c) / total
            h -= p * log2(p)
        }
        return h >= 3.0
    }

    /// `scheme://user:PASSWORD@host`: the password, given the `:` after the user.
    func urlPassword(_ t: [Unicode.Scalar], _ colon: Int) -> Range<Int>? {
        // The user part back to `://`.
        var k = colon - 1
        while k >= 2, colon - k <= 64, t[k] != "/", t[k] != "@", !isSpace(t[k]), t[k] != ":" { k -= 1 }
        guard k >= 2, k < colon - 1, t[k] == "/", t[k - 1] == "/", t[k - 2] == ":" else { return nil }
        // To the last `@` of the authority: a password may hold `@` itself (`P@ssw0rd!@db`).
        var e = colon + 1
        var at = -1
        // (Not stopping at `?` or `#`: generated passwords hold them unencoded, `app:MKhJ3015#mow@db`.)
        while e < t.count, e - colon <= 128, t[e] != "/", t[e] != "\"", t[e] != "'", !isSpace(t[e]) {
            if t[e] == "@" { at = e }
            e += 1
        }
        guard at > colon + 1, at + 1 < t.count, isASCIIAlnum(t[at + 1]) || t[at + 1] == "[" else { return nil }
        return (colon + 1)..<at
    }
}

/// Base-2 logarithm without Foundation.
@inline(__always) func log2(_ x: Double) -> Double {
    // log2(x) = exponent + log2(mantissa), mantissa in [1, 2); series for ln around 1.
    let e = Double(x.exponent)
    let m = x.significand
    let y = (m - 1) / (m + 1)
    let y2 = y * y
    var term = y
    var sum = 0.0
    var k = 1.0
    for _ in 0..<8 {
        sum += term / k
        term *= y2
        k += 2
    }
    return e + 2 * sum / 0.6931471805599453
}
