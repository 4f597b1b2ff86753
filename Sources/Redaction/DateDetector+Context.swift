extension DateDetector {
    /// A date written without separators (`19850312`, `03121985`, `031285`) that only a date-of-birth field name makes
    /// one (`dob: 19850312`, `"birth_date": "…"`); its end.
    /// Sets `ambiguous` for a compact date without such a label (a table cell may still type it).
    func contextual(_ t: [Unicode.Scalar], _ i: Int, ambiguous: inout Bool) -> Int? {
        let run = digitRun(t, i, limit: 9)
        guard Self.isCompactDate(t, i, run), rightBoundary(t, i + run) else { return nil }
        if FieldContext.labelKind(before: i, in: t) == .birthDate { return i + run }
        ambiguous = true
        return nil
    }

    /// Compact dates that are the whole value of a cell in a date-of-birth column (`DelimitedTables`).
    func cellSpans(_ t: [Unicode.Scalar]) -> [DetectedSpan] {
        var spans: [DetectedSpan] = []
        for cell in DelimitedTables.cells(in: t, kinds: { $0 == .birthDate }) {
            let run = digitRun(t, cell.start, limit: 9)
            guard cell.start + run == cell.end, Self.isCompactDate(t, cell.start, run) else { continue }
            spans.append(DetectedSpan(start: cell.start, end: cell.end, label: label))
        }
        return spans
    }

    /// Whether the `run` digits at `i` are a valid date: 8 digits as `YYYYMMDD`, `MMDDYYYY` or `DDMMYYYY` (years
    /// 1900–2099), or 6 as `YYMMDD`, `MMDDYY` or `DDMMYY`.
    static func isCompactDate(_ t: [Unicode.Scalar], _ i: Int, _ run: Int) -> Bool {
        func valid(_ month: Int, _ day: Int) -> Bool { (1...12).contains(month) && (1...31).contains(day) }
        guard run == 6 || run == 8 else { return false }
        let a = number(t, i, 2)
        let b = number(t, i + 2, 2)
        switch run {
        case 8:
            let year = number(t, i, 4)
            if (1900...2099).contains(year), valid(number(t, i + 4, 2), number(t, i + 6, 2)) { return true }
            guard (1900...2099).contains(number(t, i + 4, 4)) else { return false }
            return valid(a, b) || valid(b, a)
        case 6:
            return valid(b, number(t, i + 4, 2)) || valid(a, b) || valid(b, a)
        default:
            return false
        }
    }

    public func retainedContext(in text: [Unicode.Scalar], from position: Int) -> Range<Int>? {
        DelimitedTables.header(in: text, coveringFrom: position)
    }
}
