extension PhoneDetector {
    /// A phone number at `i` that only its field name makes one (`phone: 4155550199`, `tel=555/1234`); its end.
    /// Sets `ambiguous` for a phone-shaped value without such a label (a table cell may still type it).
    func contextual(_ t: [Unicode.Scalar], _ i: Int, ambiguous: inout Bool) -> Int? {
        guard let end = valueEnd(t, i) else { return nil }
        if FieldContext.labelKind(before: i, in: t) == .phone { return end }
        ambiguous = true
        return nil
    }

    /// Phone numbers that are the whole value of a cell in a phone column (`DelimitedTables`).
    func cellSpans(_ t: [Unicode.Scalar]) -> [DetectedSpan] {
        var spans: [DetectedSpan] = []
        for cell in DelimitedTables.cells(in: t, kinds: { $0 == .phone }) {
            let s = t[cell.start]
            guard isDigit(s) || s == "+" || s == "(", let end = valueEnd(t, cell.start), end <= cell.end else {
                continue
            }
            // Nothing numeric may follow in the cell (`555 1234 / 555 9876` is two numbers, not one).
            guard !t[end..<cell.end].contains(where: isDigit) else { continue }
            spans.append(DetectedSpan(start: cell.start, end: end, label: label))
        }
        return spans
    }

    /// The end of a phone-shaped value at `i` for a phone field: an optional `+`, then digit groups (`Shape`), 7–15
    /// digits in all, and an optional extension; not followed by more of a token.
    func valueEnd(_ t: [Unicode.Scalar], _ i: Int) -> Int? {
        guard let shape = Self.shape(t, i), (7...15).contains(shape.digits) else { return nil }
        return numberEnd(t, shape.end)
    }

    public func retainedContext(in text: [Unicode.Scalar], from position: Int) -> Range<Int>? {
        DelimitedTables.header(in: text, coveringFrom: position)
    }
}
