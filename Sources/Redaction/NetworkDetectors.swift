/// IP addresses: dotted-quad IPv4 (each octet 0–255, no leading zeros) and IPv6 in full, compressed (`::`) and
/// IPv4-embedded (`::ffff:10.0.0.1`) forms. Version strings glued to letters (`v1.2.3.4`) are not addresses.
/// Limits: IPv6 zone ids (`%eth0`) and CIDR suffixes are left outside the span.
public struct IPAddressDetector: Detector {
    public let label = "IP_ADDRESS"
    public let priority = 80
    public init() {}

    public func detect(_ t: [Unicode.Scalar]) -> [DetectedSpan] {
        var spans: [DetectedSpan] = []
        let n = t.count
        var i = 0
        var lastEnd = 0
        while i < n {
            // Every address has a `.` or `:`; find one, then back up to the start of its token.
            i = skip(t, i) { $0 == 46 || $0 == 58 }
            guard i < n else { break }
            var start = i
            while start > lastEnd, i - start < 40, isHex(t[start - 1]) || t[start - 1] == ":" || t[start - 1] == "." { start -= 1 }
            while start < i, t[start] == "." { start += 1 }
            lastEnd = i + 1  // Each separator starts at most one attempt: linear time.
            if start == i, t[i] == "." {
                i += 1
                continue
            }
            i = start
            let s = t[i]
            guard isHex(s) || s == ":" else {
                i += 1
                continue
            }
            // Start of a token: not after a letter, digit, `.`, `:` or `_`.
            if i > 0, isWordScalar(t[i - 1]) || t[i - 1] == "." || t[i - 1] == ":" || t[i - 1] == "_" {
                i += 1
                continue
            }
            // Quick reject: an address starts with up to 4 hex digits then `.` (IPv4) or `:`, or with `::`.
            var h = i
            while h < n, h - i < 5, isHex(t[h]) { h += 1 }
            if h - i > 4 || h >= n || !(t[h] == ":" || (t[h] == "." && isDigit(s))) {
                i = h
                while i < n, isWordScalar(t[i]) { i += 1 }
                i = max(i, h + 1)
                lastEnd = max(lastEnd, i)
                continue
            }
            // The maximal run of address characters.
            var j = i
            var colons = 0
            while j < n, j - i < 64, isHex(t[j]) || t[j] == ":" || t[j] == "." {
                if t[j] == ":" { colons += 1 }
                j += 1
            }
            var end = j
            while end > i, t[end - 1] == "." || (t[end - 1] == ":" && !(end - 2 >= i && t[end - 2] == ":")) { end -= 1 }
            let boundaryOK = end >= n || !(isWordScalar(t[end]) || t[end] == "_")
            if boundaryOK, end > i {
                var stop = end
                var ok = false
                if colons >= 2 {
                    ok = Self.isIPv6(t, i, end)
                    if !ok {
                        // An unbracketed `address:port`: drop the last group if it is a decimal port.
                        var k = end - 1
                        while k > i, t[k] != ":" { k -= 1 }
                        if k > i, t[k - 1] != ":", digitRun(t, k + 1, limit: 6) == end - k - 1, Self.isIPv6(t, i, k) {
                            ok = true
                            stop = k
                        }
                    }
                } else {
                    // IPv4, possibly with a `:port`.
                    stop = i
                    while stop < end, t[stop] != ":" { stop += 1 }
                    ok = stop > i && Self.ipv4Length(t, i, stop) == stop - i
                }
                if ok {
                    spans.append(DetectedSpan(start: i, end: stop, label: label))
                    i = j
                    lastEnd = j
                    continue
                }
            }
            i = max(j, i + 1)
            lastEnd = max(lastEnd, i)
        }
        return spans
    }

    /// The length of the IPv4 address that is exactly `t[from..<to]`, or 0.
    static func ipv4Length(_ t: [Unicode.Scalar], _ from: Int, _ to: Int) -> Int {
        var j = from
        for octet in 0..<4 {
            let d = digitRun(t, j, limit: 4)
            guard (1...3).contains(d), j + d <= to else { return 0 }
            if d > 1, t[j] == "0" { return 0 }
            if number(t, j, d) > 255 { return 0 }
            j += d
            if octet < 3 {
                guard j < to, t[j] == "." else { return 0 }
                j += 1
            }
        }
        return j == to ? j - from : 0
    }

    /// Whether `t[from..<to]` is an IPv6 address.
    static func isIPv6(_ t: [Unicode.Scalar], _ from: Int, _ to: Int) -> Bool {
        var groups = 0
        var compressed = false
        var hasDigit = false
        var j = from
        if hasPrefix(t, at: j, "::") {
            compressed = true
            j += 2
            if j == to { return false }
        }
        while j < to {
            // A group: 1–4 hex digits, or an embedded IPv4 as the last thing.
            var k = j
            while k < to, isHex(t[k]), k - j < 5 { k += 1 }
            if k < to, t[k] == "." {
                guard ipv4Length(t, j, to) == to - j, groups <= 6 else { return false }
                return compressed ? groups <= 5 : groups == 6
            }
            let len = k - j
            guard (1...4).contains(len) else { return false }
            for q in j..<k where isDigit(t[q]) { hasDigit = true }
            groups += 1
            j = k
            if j == to { break }
            guard t[j] == ":" else { return false }
            j += 1
            if j < to, t[j] == ":" {
                guard !compressed else { return false }
                compressed = true
                j += 1
            } else if j == to {
                return false
            }
        }
        guard hasDigit else { return false }
        return compressed ? groups <= 7 && groups >= 1 : groups == 8
    }
}

/// URLs: `http(s)://`, `ftp(s)://`, `ws(s)://` and bare `www.` addresses, up to whitespace or a quote/bracket,
/// without trailing sentence punctuation (`.`, `,`, `;`, `:`, `!`, `?`, an unbalanced `)`).
/// Limits: bare domains without `www.` (`example.com/path`) are not detected; other schemes (database URLs) are
/// left to the secret detector, which redacts their embedded passwords, and the IP detector.
public struct URLDetector: Detector {
    public let label = "URL"
    public let priority = 30
    /// The longest URL span; longer URLs are cut (the rest is redacted as a further span).
    public static let maxLength = 2048
    public init() {}

    public func detect(_ t: [Unicode.Scalar]) -> [DetectedSpan] {
        var spans: [DetectedSpan] = []
        let n = t.count
        var p = 0
        while p < n {
            // Every URL has `://` or `www.`: find a `:` or `.`, then back up to the scheme or `www`.
            p = skip(t, p) { $0 == 58 || $0 == 46 }
            guard p < n else { break }
            var i = p
            if t[p] == ":" {
                guard p + 2 < n, t[p + 1] == "/", t[p + 2] == "/" else {
                    p += 1
                    continue
                }
                while i > 0, p - i < 5, isASCIIAlpha(t[i - 1]) { i -= 1 }
            } else {
                guard p >= 3, lowerASCII(t[p - 1]) == 119, lowerASCII(t[p - 2]) == 119, lowerASCII(t[p - 3]) == 119 else {
                    p += 1
                    continue
                }
                i = p - 3
            }
            p += 1
            guard i + 4 < n, spans.last.map({ $0.end <= i }) ?? true else { continue }
            let c = lowerASCII(t[i])
            guard c == 104 || c == 102 || c == 119, leftBoundary(t, i) else { continue }  // h, f, w
            var j = i
            if hasPrefix(t, at: i, "https://", ignoringCase: true) { j = i + 8 }
            else if hasPrefix(t, at: i, "http://", ignoringCase: true) { j = i + 7 }
            else if hasPrefix(t, at: i, "ftps://", ignoringCase: true) { j = i + 7 }
            else if hasPrefix(t, at: i, "ftp://", ignoringCase: true) { j = i + 6 }
            else if hasPrefix(t, at: i, "wss://", ignoringCase: true) { j = i + 6 }
            else if hasPrefix(t, at: i, "ws://", ignoringCase: true) { j = i + 5 }
            else if hasPrefix(t, at: i, "www.", ignoringCase: true) { j = i + 4 }
            else {
                continue
            }
            guard j < n, isWordScalar(t[j]) || t[j] == "[" else { continue }
            var end = j
            var parens = 0
            while end < n, end - i < Self.maxLength {
                let s = t[end]
                if isSpace(s) || s == "\"" || s == "'" || s == "<" || s == ">" || s == "`" || s == "{" || s == "}" || s == "|"
                    || s == "\\" || s == "^" {
                    break
                }
                if s == "(" { parens += 1 }
                if s == ")" {
                    if parens == 0 { break }
                    parens -= 1
                }
                end += 1
            }
            while end > j, [".", ",", ";", ":", "!", "?", "*"].contains(t[end - 1]) { end -= 1 }
            spans.append(DetectedSpan(start: i, end: end, label: label))
            p = max(p, end)
        }
        return spans
    }
}
