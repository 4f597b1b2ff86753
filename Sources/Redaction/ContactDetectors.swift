/// E-mail addresses: `local@domain.tld`, with a dotted domain whose last label is alphabetic (2+ letters).
/// Internationalised addresses (RFC 6531) may use any letters in both parts. Quoted local parts are not supported.
public struct EmailDetector: Detector {
    public let label = "EMAIL"
    public let priority = 70
    public init() {}

    /// The longest local part masked whole. RFC 5321 allows 64 octets, but text is not bound by it: a longer run
    /// before `@` was masked only in its last 64 scalars, leaving the rest of the address in the answer.
    public static let localCap = 1_024

    @inline(__always) static func isLocal(_ s: Unicode.Scalar) -> Bool {
        isWordScalar(s) || s == "." || s == "_" || s == "%" || s == "+" || s == "-" || s == "'"
    }
    @inline(__always) static func isDomain(_ s: Unicode.Scalar) -> Bool { isWordScalar(s) || s == "-" || s == "." }

    public func detect(_ t: [Unicode.Scalar]) -> [DetectedSpan] {
        var spans: [DetectedSpan] = []
        var lastEnd = 0
        var at = 0
        while at < t.count {
            at = skip(t, at) { $0 == 64 }
            guard at < t.count else { break }
            guard t[at] == "@", at >= lastEnd else {
                at += 1
                continue
            }
            var start = at
            while start > lastEnd, Self.isLocal(t[start - 1]), at - start < Self.localCap { start -= 1 }
            while start < at, t[start] == "." || t[start] == "'" || t[start] == "-" || t[start] == "+" { start += 1 }
            var end = at + 1
            while end < t.count, Self.isDomain(t[end]), end - at < 255 { end += 1 }
            while end > at + 1, t[end - 1] == "." || t[end - 1] == "-" { end -= 1 }
            var lastDot = -1
            var k = end - 1
            while k > at + 1 {
                if t[k] == "." {
                    lastDot = k
                    break
                }
                k -= 1
            }
            guard start < at, lastDot > at + 1, end - lastDot > 2 else {
                at += 1
                continue
            }
            var tldOK = true
            for q in (lastDot + 1)..<end where isDigit(t[q]) || !isWordScalar(t[q]) { tldOK = false }
            if tldOK {
                spans.append(DetectedSpan(start: start, end: end, label: label))
                lastEnd = end
                at = end
            } else {
                at += 1
            }
        }
        return spans
    }

    /// For streaming: a run of local-part scalars touching the end of the text that may outgrow the holdback (32 or
    /// more, up to ``localCap``) is held whole until it ends, so that an `@` after it masks all of it, as in the whole
    /// text (before, a stream emitted the front of a long local part before its `@` arrived).
    /// The same while its domain is still arriving (`local@exam`): the local part is held from its start.
    public func unfinishedMatchStart(in t: [Unicode.Scalar]) -> Int? {
        var at = t.count
        var d = t.count
        while d > 0, t.count - d < 255, Self.isDomain(t[d - 1]) { d -= 1 }
        if d > 0, t[d - 1] == "@" { at = d - 1 }
        var j = at
        while j > 0, at - j < Self.localCap, Self.isLocal(t[j - 1]) { j -= 1 }
        let local = at - j
        return t.count - j >= 32 && local < Self.localCap && (at == t.count || local > 0) ? j : nil
    }
}

/// Phone numbers in international (`+44 20 7946 0321`, `+1-650-577-2881`, `+4915112345678`, `001-650-577-2881`) and
/// national formats (`(415) 555-0199`, `(415)555-0199`, `206-648-3358`, `619.709.5866`, `206/648/3358`,
/// `020 7946 0321`, `06 12 34 56 78`), with an optional extension (`ext. 123`, `x123`, `extension 12`, `#12`).
/// National numbers need separators between digit groups and 10–12 digits; international ones need a leading `+`
/// (or `00`) and 8–15 digits. Dotted 4×≤3-digit groups are left to the IP detector; slashed numbers need at most
/// three groups and a last group of 4 or more digits (not a date or a ratio).
/// Where a field name says so (`FieldContext`: `phone: 4155550199`, `"mobile": "…"`, a `tel` column), any 7–15
/// digits in that shape are a phone number, bare digit runs included (`PhoneDetector+Context.swift`).
/// Limits: bare national digit runs (`4155550199`) without such context are not detected (they are indistinguishable
/// from order numbers).
public struct PhoneDetector: Detector {
    public let label = "PHONE"
    public let priority = 40
    public init() {}

    public func detect(_ t: [Unicode.Scalar]) -> [DetectedSpan] {
        var spans: [DetectedSpan] = []
        var ambiguous = false
        var i = 0
        let n = t.count
        while i < n {
            i = skip(t, i) { $0 &- 48 < 10 || $0 == 43 || $0 == 40 }
            guard i < n else { break }
            let s = t[i]
            guard s == "+" || s == "(" || isDigit(s) else {
                i += 1
                continue
            }
            // Not inside a word, a decimal number, or a longer dotted/hyphenated token.
            if i > 0 {
                let p = t[i - 1]
                if isWordScalar(p) || p == "+" || p == "_" || p == "/" || p == "@"
                    || ((p == "." || p == "-") && i > 1 && isASCIIAlnum(t[i - 2]))
                    || (p == ":" && i > 1 && Self.hexTokenEnds(t, at: i - 1)) {
                    i += 1
                    continue
                }
            }
            if let end = parse(t, i) ?? contextual(t, i, ambiguous: &ambiguous) {
                spans.append(DetectedSpan(start: i, end: end, label: label))
                i = end
            } else if let shape = Self.shape(t, i), shape.digits > 15, let end = Self.uniformRunEnd(t, i, shape.end) {
                // Digit groups with one separator, longer than any phone number (a 22-digit tracking number in groups
                // of four): none of their tails is a phone number either.
                i = end
            } else {
                // Skip the rest of this digit run: no phone starts inside it.
                i += 1
                while i < n, isDigit(t[i]) { i += 1 }
            }
        }
        // Column context only matters for a value that is phone-shaped but was not taken.
        return ambiguous ? merged(spans, cellSpans(t)) : spans
    }

    /// The digit groups of a phone-number candidate.
    struct Shape {
        var end = 0
        var digits = 0
        var groups = 0
        var firstGroup = 0
        var lastGroup = 0
        var maxGroup = 0
        var separators = 0
        var slashes = 0
        var dotsOnly = true
    }

    /// The digit groups at `i` (after an optional `+`): one in parentheses allowed, single spaces, hyphens, dots or
    /// slashes between them (`) ` counts as one), at most 8 groups; `nil` for an unclosed parenthesis.
    static func shape(_ t: [Unicode.Scalar], _ i: Int) -> Shape? {
        let n = t.count
        var j = t[i] == "+" ? i + 1 : i
        var shape = Shape()
        shape.end = j
        while j < n, shape.groups < 8 {
            var paren = false
            if t[j] == "(" {
                paren = true
                j += 1
            }
            let g = digitRun(t, j, limit: 16)
            guard g > 0 else { break }
            j += g
            if paren {
                guard j < n, t[j] == ")" else { return nil }
                j += 1
                shape.dotsOnly = false
            }
            shape.groups += 1
            shape.digits += g
            if shape.groups == 1 { shape.firstGroup = g }
            shape.lastGroup = g
            shape.maxGroup = max(shape.maxGroup, g)
            shape.end = j
            guard shape.digits <= 15, j < n else { break }
            let sep = t[j]
            let separates = sep == " " || isDash(sep) || sep == "." || sep == "/"
            if separates, j + 1 < n, isDigit(t[j + 1]) || t[j + 1] == "(" {
                if sep != "." { shape.dotsOnly = false }
                if sep == "/" { shape.slashes += 1 }
                shape.separators += 1
                j += 1
            } else if paren, isDigit(sep) {
                continue
            } else {
                break
            }
        }
        return shape
    }

    /// For digit groups from `start` to `end` that one separator joins (`9400 1118 9956`, not `2024-03-15 415-555`):
    /// the end of the whole run, which may go on past `end` with the same separator; otherwise `nil`.
    static func uniformRunEnd(_ t: [Unicode.Scalar], _ start: Int, _ end: Int) -> Int? {
        var separator: Unicode.Scalar?
        for s in t[start..<end] where !isDigit(s) {
            guard s == " " || isDash(s) || s == "." || s == "/", separator == nil || separator == s else { return nil }
            separator = s
        }
        guard let separator else { return end }
        var j = end
        while j + 1 < t.count, t[j] == separator, isDigit(t[j + 1]) {
            j += 1
            while j < t.count, isDigit(t[j]) { j += 1 }
        }
        return j
    }

    /// The end of a number whose groups end at `end`: after its extension, or at `end` if the token ends there
    /// (not followed by a letter, digit, or `.digit`, `-digit`, `/digit`, `:digit` as in versions, dates, IPs).
    func numberEnd(_ t: [Unicode.Scalar], _ end: Int) -> Int? {
        if let ext = extensionEnd(t, end) { return ext }
        guard rightBoundary(t, end) else { return nil }
        if end + 1 < t.count, t[end] == "." || t[end] == "-" || t[end] == "/" || t[end] == ":", isDigit(t[end + 1]) {
            return nil
        }
        return end
    }

    /// Parses a phone number at `i`; returns its end.
    func parse(_ t: [Unicode.Scalar], _ i: Int) -> Int? {
        guard let s = Self.shape(t, i), s.digits <= 15, let end = numberEnd(t, s.end) else { return nil }
        let plus = t[i] == "+"
        // `00` / `011` then a country code dials out like `+`.
        let exit =
            plus ? 0 : (hasPrefix(t, at: i, "011") && s.firstGroup == 3 ? 3 : (hasPrefix(t, at: i, "00") ? 2 : 0))
        if plus {
            guard (8...15).contains(s.digits), s.firstGroup <= 4 || s.groups == 1 else { return nil }
        } else if exit > 0, s.groups >= 3, (8...15).contains(s.digits - exit), s.firstGroup - exit <= 4 {
            // Dialled out: `001-650-577-2881`, `0044 20 7946 0321`.
        } else {
            guard (10...12).contains(s.digits), s.groups >= 2, s.firstGroup <= 5, s.firstGroup >= 1 else {
                return nil
            }
            guard s.maxGroup <= 4 || (s.groups <= 3 && s.lastGroup == s.maxGroup && s.lastGroup <= 8) else {
                return nil
            }
            if s.dotsOnly && s.groups >= 4 && s.maxGroup <= 3 { return nil }
            if s.separators == 0 && t[i] != "(" { return nil }
        }
        if s.slashes > 0 { guard s.groups <= 3, s.lastGroup >= 4, s.firstGroup >= 2 else { return nil } }
        return end
    }

    /// Whether the scalars ending at `e` (exclusive) form a hex token such as an IPv6 group (`fe80`, `12`), rather
    /// than a word (`Phone`, `tel`).
    static func hexTokenEnds(_ t: [Unicode.Scalar], at e: Int) -> Bool {
        var k = e
        while k > 0, isHex(t[k - 1]) { k -= 1 }
        return k < e && (k == 0 || !isWordScalar(t[k - 1]))
    }

    /// An extension after a number ending at `end`: ` ext. 123`, ` ext: 123`, ` extension 123`, `x123`, ` x 123`,
    /// `, ext. 12`, ` #12`.
    func extensionEnd(_ t: [Unicode.Scalar], _ end: Int) -> Int? {
        let n = t.count
        var j = end
        if j < n, t[j] == "," || t[j] == ";" { j += 1 }
        let spaceStart = j
        while j < n, t[j] == " ", j - spaceStart < 2 { j += 1 }
        if hasPrefix(t, at: j, "extension", ignoringCase: true) {
            j += 9
        } else if hasPrefix(t, at: j, "ext", ignoringCase: true) {
            j += 3
        } else if j < n, t[j] == "x" || t[j] == "X" {
            j += 1
        } else if j < n, t[j] == "#", j > spaceStart {
            j += 1
        } else {
            return nil
        }
        if j < n, t[j] == "." || t[j] == ":" { j += 1 }
        if j < n, t[j] == " " { j += 1 }
        let d = digitRun(t, j, limit: 7)
        guard (1...6).contains(d), rightBoundary(t, j + d) else { return nil }
        return j + d
    }
}
