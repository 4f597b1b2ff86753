/// Calendar dates:
/// - numeric: `2024-07-01`, `2024/07/01`, `2024.07.01` (year first); `07/01/2024`, `01.07.2024`, `7-1-2024`,
///   `07/01/24` (month/day or day/month, either reading valid; 2-digit years only with `/`),
/// - written: `Jul 1, 2024`, `July 1st`, `Sept. 5 2024`, `July 2024`, `1 July 2024`, `1st of July, 2024`,
/// - compact (`19850312`, `031285`) only where a date-of-birth field name says so (`DateDetector+Context.swift`).
///
/// Month names must be capitalised (`May 5`, not `may 5`). Limits: English month names only; relative dates
/// (`next Tuesday`), weekday-only mentions and times are not dates; `3/4` (no year) is a fraction, not a date.
public struct DateDetector: Detector {
    public let label = "DATE"
    public let priority = 45
    public init() {}

    /// Lower-case month names and abbreviations, with their month numbers.
    static let months: [(name: [UInt8], month: Int)] = [
        ("january", 1), ("february", 2), ("march", 3), ("april", 4), ("may", 5), ("june", 6), ("july", 7),
        ("august", 8), ("september", 9), ("october", 10), ("november", 11), ("december", 12),
        ("jan", 1), ("feb", 2), ("mar", 3), ("apr", 4), ("jun", 6), ("jul", 7), ("aug", 8), ("sep", 9), ("sept", 9),
        ("oct", 10), ("nov", 11), ("dec", 12),
    ].map { (Array($0.0.utf8), $0.1) }

    static let monthHashes: [UInt64] = months.map { m in
        let scalars = m.name.map { Unicode.Scalar($0) }
        return PersonDetector.hash(scalars, 0, scalars.count)
    }
    static let ordinals: [[UInt8]] = [ascii("st"), ascii("nd"), ascii("rd"), ascii("th")]

    public func detect(_ t: [Unicode.Scalar]) -> [DetectedSpan] {
        var spans: [DetectedSpan] = []
        var ambiguous = false
        let n = t.count
        var i = 0
        while i < n {
            i = skip(t, i) { $0 &- 48 < 10 || $0 &- 65 < 26 }
            guard i < n else { break }
            let s = t[i]
            var end = 0
            if isDigit(s) {
                if leftBoundary(t, i), !(i >= 2 && (t[i - 1] == "." || t[i - 1] == "/" || t[i - 1] == "-" || t[i - 1] == ":") && isDigit(t[i - 2])) {
                    end = numeric(t, i)
                    if end == 0 { end = dayFirst(t, i) }
                    if end == 0 { end = contextual(t, i, ambiguous: &ambiguous) ?? 0 }
                }
                if end == 0 {
                    while i < n, isDigit(t[i]) { i += 1 }
                    continue
                }
            } else if isUpper(s), leftBoundary(t, i) {
                end = monthFirst(t, i)
                if end == 0 {
                    while i < n, isWordScalar(t[i]) { i += 1 }
                    continue
                }
            }
            if end > i {
                spans.append(DetectedSpan(start: i, end: end, label: label))
                i = end
            } else {
                i += 1
            }
        }
        return ambiguous ? merged(spans, cellSpans(t)) : spans
    }

    /// Whether a numeric date may end at `e`: not followed by a letter, a digit, or a separator and a digit.
    func endsCleanly(_ t: [Unicode.Scalar], _ e: Int) -> Bool {
        guard e < t.count else { return true }
        let s = t[e]
        if s == "T", e + 1 < t.count, isDigit(t[e + 1]) { return true }  // ISO date-time
        if isWordScalar(s) { return false }
        if (s == "." || s == "/" || s == "-"), e + 1 < t.count, isDigit(t[e + 1]) { return false }
        return true
    }

    /// `YYYY-MM-DD` and `MM/DD/YYYY`-like forms at `i`.
    func numeric(_ t: [Unicode.Scalar], _ i: Int) -> Int {
        let n = t.count
        let a = digitRun(t, i, limit: 5)
        guard i + a < n else { return 0 }
        let sep = t[i + a]
        guard sep == "-" || sep == "/" || sep == "." else { return 0 }
        let bStart = i + a + 1
        let b = digitRun(t, bStart, limit: 3)
        guard (1...2).contains(b), bStart + b < n, t[bStart + b] == sep else { return 0 }
        let cStart = bStart + b + 1
        let c = digitRun(t, cStart, limit: 5)
        let end = cStart + c
        guard endsCleanly(t, end) else { return 0 }
        let av = number(t, i, a)
        let bv = number(t, bStart, b)
        if a == 4 {
            guard (1...2).contains(c), (1000...2999).contains(av), (1...12).contains(bv) else { return 0 }
            return (1...31).contains(number(t, cStart, c)) ? end : 0
        }
        guard (1...2).contains(a), c == 4 || (c == 2 && sep == "/") else { return 0 }
        if c == 4, !(1000...2999).contains(number(t, cStart, c)) { return 0 }
        let monthDay = (1...12).contains(av) && (1...31).contains(bv)
        let dayMonth = (1...31).contains(av) && (1...12).contains(bv)
        return monthDay || dayMonth ? end : 0
    }

    /// The month at `i` (a capitalised name or abbreviation, optional `.`), as (month, end).
    func month(_ t: [Unicode.Scalar], _ i: Int) -> (Int, Int)? {
        guard i < t.count, isUpper(t[i]) else { return nil }
        switch t[i] {
        case "J", "F", "M", "A", "S", "O", "N", "D": break
        default: return nil
        }
        var j = i
        while j < t.count, j - i < 10, isASCIIAlpha(t[j]) { j += 1 }
        let len = j - i
        guard len >= 3, len <= 9, rightBoundary(t, j) else { return nil }
        // Capitalised or all capitals.
        var allUpper = true
        for k in (i + 1)..<j where !isUpper(t[k]) { allUpper = false }
        if !allUpper { for k in (i + 1)..<j where !isLower(t[k]) { return nil } }
        let h = PersonDetector.hash(t, i, j)
        for (k, m) in Self.monthHashes.enumerated() where m == h {
            let (name, month) = Self.months[k]
            guard name.count == len else { continue }
            var end = j
            if len <= 4, end < t.count, t[end] == "." { end += 1 }
            return (month, end)
        }
        return nil
    }

    /// A day of month `1`–`31` at `i`, with an optional ordinal suffix; returns its end.
    func day(_ t: [Unicode.Scalar], _ i: Int) -> Int? {
        let d = digitRun(t, i, limit: 3)
        guard (1...2).contains(d), (1...31).contains(number(t, i, d)) else { return nil }
        var e = i + d
        for suffix in Self.ordinals where hasPrefix(t, at: e, suffix, ignoringCase: true) {
            e += 2
            break
        }
        return rightBoundary(t, e) && !(e + 1 < t.count && (t[e] == ":" || t[e] == ".") && isDigit(t[e + 1])) ? e : nil
    }

    /// `[,] YYYY` after `e`; returns the end of the year or `e`.
    func optionalYear(_ t: [Unicode.Scalar], _ e: Int) -> Int {
        var j = e
        if j < t.count, t[j] == "," { j += 1 }
        guard j < t.count, t[j] == " " else { return e }
        j += 1
        let y = digitRun(t, j, limit: 5)
        guard y == 4, (1000...2999).contains(number(t, j, 4)), rightBoundary(t, j + 4) else { return e }
        if j + 5 < t.count, t[j + 4] == ":" || t[j + 4] == ".", isDigit(t[j + 5]) { return e }
        return j + 4
    }

    /// `Jul 1, 2024`, `July 1st`, `July 2024`.
    func monthFirst(_ t: [Unicode.Scalar], _ i: Int) -> Int {
        guard let (_, me) = month(t, i), me + 1 < t.count, t[me] == " " else { return 0 }
        if let de = day(t, me + 1) { return optionalYear(t, de) }
        let y = optionalYear(t, me)
        return y > me ? y : 0
    }

    /// `1 July 2024`, `1st of July`.
    func dayFirst(_ t: [Unicode.Scalar], _ i: Int) -> Int {
        guard let de = day(t, i), de + 1 < t.count, t[de] == " " else { return 0 }
        var j = de + 1
        if hasPrefix(t, at: j, "of ") { j += 3 }
        guard let (_, me) = month(t, j) else { return 0 }
        return optionalYear(t, me)
    }
}
