/// E-mail addresses: `local@domain.tld`, with a dotted domain whose last label is alphabetic (2+ letters).
/// Internationalised addresses (RFC 6531) may use any letters in both parts. Quoted local parts are not supported.
public struct EmailDetector: Detector {
    public let label = "EMAIL"
    public let priority = 70
    public init() {}

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
            while start > lastEnd, Self.isLocal(t[start - 1]), at - start < 64 { start -= 1 }
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
}

/// Phone numbers in international (`+44 20 7946 0321`, `+1-650-577-2881`, `+4915112345678`) and national formats
/// (`(415) 555-0199`, `206-648-3358`, `619.709.5866`, `020 7946 0321`, `06 12 34 56 78`), with an optional extension
/// (`ext. 123`, `x123`). National numbers need separators between digit groups and 10–12 digits; international ones
/// need a leading `+` and 8–15 digits. Dotted 4×≤3-digit groups are left to the IP detector.
/// Limits: bare national digit runs (`4155550199`) are not detected (they are indistinguishable from order numbers).
public struct PhoneDetector: Detector {
    public let label = "PHONE"
    public let priority = 40
    public init() {}

    public func detect(_ t: [Unicode.Scalar]) -> [DetectedSpan] {
        var spans: [DetectedSpan] = []
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
                    || ((p == "." || p == "-" || p == ":") && i > 1 && isASCIIAlnum(t[i - 2])) {
                    i += 1
                    continue
                }
            }
            if let end = parse(t, i) {
                spans.append(DetectedSpan(start: i, end: end, label: label))
                i = end
            } else {
                // Skip the rest of this digit run: no phone starts inside it.
                i += 1
                while i < n, isDigit(t[i]) { i += 1 }
            }
        }
        return spans
    }

    /// Parses a phone number at `i`; returns its end.
    func parse(_ t: [Unicode.Scalar], _ i: Int) -> Int? {
        let n = t.count
        var j = i
        let plus = t[j] == "+"
        if plus { j += 1 }
        var groups = 0
        var digits = 0
        var firstGroup = 0
        var lastGroup = 0
        var maxGroup = 0
        var dotsOnly = true
        var separators = 0
        var end = j
        while j < n, groups < 8 {
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
                dotsOnly = false
            }
            groups += 1
            digits += g
            if groups == 1 { firstGroup = g }
            lastGroup = g
            maxGroup = max(maxGroup, g)
            end = j
            guard digits <= 15, j < n else { break }
            // One separator between groups (`) ` counts as one).
            let sep = t[j]
            if (sep == " " || sep == "-" || sep == "."), j + 1 < n, isDigit(t[j + 1]) || t[j + 1] == "(" {
                if sep != "." { dotsOnly = false }
                separators += 1
                j += 1
            } else if paren, isDigit(sep) {
                continue
            } else {
                break
            }
        }
        guard digits <= 15, rightBoundary(t, end) else { return nil }
        // A following `.digit`, `-digit` or `/digit` means a longer token (version, date, IP).
        if end + 1 < n, t[end] == "." || t[end] == "-" || t[end] == "/" || t[end] == ":", isDigit(t[end + 1]) {
            return nil
        }
        if plus {
            guard (8...15).contains(digits), firstGroup <= 4 || groups == 1 else { return nil }
        } else {
            guard (10...12).contains(digits), groups >= 2, firstGroup <= 5, firstGroup >= 1 else { return nil }
            guard maxGroup <= 4 || (groups <= 3 && lastGroup == maxGroup && lastGroup <= 8) else { return nil }
            if dotsOnly && groups >= 4 && maxGroup <= 3 { return nil }
            if separators == 0 && t[i] != "(" { return nil }
        }
        return extensionEnd(t, end) ?? end
    }

    /// ` ext. 123`, ` ext 123`, ` x123`, `, ext. 12` after a number.
    func extensionEnd(_ t: [Unicode.Scalar], _ end: Int) -> Int? {
        var j = end
        if j < t.count, t[j] == "," { j += 1 }
        guard j < t.count, t[j] == " " else { return nil }
        j += 1
        if hasPrefix(t, at: j, "ext", ignoringCase: true) {
            j += 3
            if j < t.count, t[j] == "." { j += 1 }
            if j < t.count, t[j] == " " { j += 1 }
        } else if j < t.count, t[j] == "x" {
            j += 1
        } else {
            return nil
        }
        let d = digitRun(t, j, limit: 7)
        guard (1...6).contains(d), rightBoundary(t, j + d) else { return nil }
        return j + d
    }
}
