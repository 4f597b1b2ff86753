/// US Social Security numbers.
///
/// - Anywhere: `AAA-GG-SSSS` or `AAA GG SSSS` (one consistent separator).
/// - Where a field name says so (`FieldContext`: a label such as `SSN:`, `ssn=`, `"social_security_number": `,
///   `Soc Sec #`, `<ssn>`, or the column header of delimited text, `DelimitedTables`): also nine bare digits and
///   `AAA.GG.SSSS`; in a table the number must be the whole cell.
/// - In prose: nine bare digits with `SSN` or `social security` at most 24 scalars before, on the same line.
///
/// Invalid numbers are rejected everywhere: area 000, 666 or 900–999, group 00, serial 0000 — except that a
/// taxpayer-id field (`taxpayer_id`, `TIN`, `ITIN`) also accepts areas 900–999 (ITINs). Nine digits without such
/// context (order numbers, ZIP+4 without its hyphen, routing numbers) are not SSNs.
public struct SSNDetector: Detector {
    public let label = "US_SSN"
    public let priority = 85
    public init() {}

    public func detect(_ t: [Unicode.Scalar]) -> [DetectedSpan] {
        var spans: [DetectedSpan] = []
        var ambiguous = false
        let n = t.count
        var i = 0
        while i + 9 <= n {
            i = skip(t, i) { $0 &- 48 < 10 }
            guard i + 9 <= n else { break }
            let run = digitRun(t, i, limit: 10)
            defer { i += max(run, 1) }
            guard leftBoundary(t, i), i == 0 || !(t[i - 1] == "-" || t[i - 1] == "." || t[i - 1] == "+") else {
                continue
            }
            guard let (end, separator) = Self.shape(t, i, run) else { continue }
            let found: Bool
            if let separator, separator == " " || isDash(separator), Self.valid(t, i, taxpayer: false) {
                found = true
            } else {
                switch FieldContext.labelKind(before: i, in: t) {
                case .ssn?: found = Self.valid(t, i, taxpayer: false)
                case .taxpayerID?: found = Self.valid(t, i, taxpayer: true)
                default: found = separator == nil && keywordBefore(t, i) && Self.valid(t, i, taxpayer: false)
                }
            }
            if found {
                spans.append(DetectedSpan(start: i, end: end, label: label))
            } else {
                ambiguous = true
            }
        }
        // Column context only matters for an SSN-shaped value that was not taken.
        guard ambiguous else { return spans }
        var cellSpans: [DetectedSpan] = []
        for cell in DelimitedTables.cells(in: t, kinds: { $0 == .ssn || $0 == .taxpayerID }) {
            guard let (end, _) = Self.shape(t, cell.start, digitRun(t, cell.start, limit: 10)), end == cell.end,
                Self.valid(t, cell.start, taxpayer: cell.kind == .taxpayerID)
            else { continue }
            cellSpans.append(DetectedSpan(start: cell.start, end: end, label: label))
        }
        return merged(spans, cellSpans)
    }

    /// The end and separator of an SSN-shaped number at `i` (whose digit run is `run` long): `AAA-GG-SSSS` with one
    /// consistent separator (space, hyphen or Unicode dash, or dot), or nine bare digits; not part of a longer token.
    static func shape(_ t: [Unicode.Scalar], _ i: Int, _ run: Int) -> (Int, Unicode.Scalar?)? {
        let n = t.count
        var end = 0
        var separator: Unicode.Scalar? = nil
        if run == 3, i + 11 <= n, isDash(t[i + 3]) || t[i + 3] == " " || t[i + 3] == ".", t[i + 6] == t[i + 3],
            digitRun(t, i + 4, limit: 3) == 2, digitRun(t, i + 7, limit: 5) == 4
        {
            end = i + 11
            separator = t[i + 3]
        } else if run == 9 {
            end = i + 9
        } else {
            return nil
        }
        guard rightBoundary(t, end), !(end + 1 < n && (t[end] == "-" || t[end] == ".") && isDigit(t[end + 1])) else {
            return nil
        }
        return (end, separator)
    }

    /// The SSA validity rules for the number at `i` (grouped or bare): area not 000 or 666 (nor 900–999 unless
    /// `taxpayer`), group not 00, serial not 0000.
    static func valid(_ t: [Unicode.Scalar], _ i: Int, taxpayer: Bool) -> Bool {
        let sep = isDigit(t[i + 3]) ? 0 : 1
        let area = number(t, i, 3)
        let group = number(t, i + 3 + sep, 2)
        let serial = number(t, i + 5 + 2 * sep, 4)
        return area != 0 && area != 666 && (taxpayer || area < 900) && group != 0 && serial != 0
    }

    /// `SSN` or `social security` as words within 24 scalars before `i`, on the same line; not the start of a
    /// compound name (`ssn_hash`, `ssn-verified`), which names something else, and with no other number or value
    /// (`=`, `<`, `>`, `"`) in between (`ssn=… zip4=…`, `<ssn>…</ssn><account>…`).
    func keywordBefore(_ t: [Unicode.Scalar], _ i: Int) -> Bool {
        var k = i - 1
        while k >= 0, i - k <= 24, t[k] != "\n" {
            let s = t[k]
            if isDigit(s) || ((s == "=" || s == "<" || s == ">" || s == "\"") && k + 1 < i && isASCIIAlnum(t[k + 1])) {
                return false
            }
            if leftBoundary(t, k) {
                if hasPrefix(t, at: k, "ssn", ignoringCase: true), rightBoundary(t, k + 3),
                    !(k + 4 < t.count && (t[k + 3] == "_" || t[k + 3] == "-" || t[k + 3] == ".")
                        && isASCIIAlpha(t[k + 4]))
                {
                    return true
                }
                if hasPrefix(t, at: k, "social security", ignoringCase: true) { return true }
            }
            k -= 1
        }
        return false
    }

    public func retainedContext(in text: [Unicode.Scalar], from position: Int) -> Range<Int>? {
        DelimitedTables.header(in: text, coveringFrom: position)
    }
}

/// `base` plus the spans of `extra` that overlap none of it, in order of start. Both must be sorted by start, and
/// spans within each must not overlap (one pass: linear in both).
func merged(_ base: [DetectedSpan], _ extra: [DetectedSpan]) -> [DetectedSpan] {
    guard !extra.isEmpty else { return base }
    var out: [DetectedSpan] = []
    out.reserveCapacity(base.count + extra.count)
    var b = 0
    for span in extra {
        while b < base.count, base[b].start < span.start {
            out.append(base[b])
            b += 1
        }
        let overlapsPrevious = out.last.map { $0.end > span.start } ?? false
        let overlapsNext = b < base.count && base[b].start < span.end
        if !overlapsPrevious, !overlapsNext { out.append(span) }
    }
    out.append(contentsOf: base[b...])
    return out
}
