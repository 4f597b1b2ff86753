/// A cell of a delimited table whose column header names a `FieldKind`: scalars `start..<end`, trimmed of
/// surrounding white space and quotes.
struct FieldCell: Sendable, Equatable {
    let start: Int
    let end: Int
    let kind: FieldKind
}

/// Column context in delimited text: CSV (quoted fields, `""` escapes), TSV, pipe-delimited and Markdown tables,
/// semicolon-separated values.
///
/// A header is a line that splits at one delimiter (tried in the order tab, `|`, `,`, `;`) into two or more cells
/// that all look like field names (a letter first, then letters, digits, spaces and `_ - . # ( ) / * + &`, at most 48
/// scalars), at least one of which names a `FieldKind` (`FieldContext.keyKind`). The lines after it that split into
/// the same number of cells are its rows; a row's cells under named columns are reported with the column's kind.
/// A Markdown separator row (`|---|---|`) is just a row whose cells match nothing. The table ends at a complete line
/// without the delimiter (a blank line, prose). A row with another number of cells is skipped, not guessed at, unless
/// it is the header of a new table. A line that is only a field name (`SSN`, `Phone numbers:`) heads a one-column
/// table: each line below it is a cell, up to a blank line, a label (a line with `:`) or another table's header.
/// Limits: a quoted field spanning lines ends the row's line; space-aligned (fixed-width) tables are not read.
enum DelimitedTables {
    static let delimiters: [Unicode.Scalar] = ["\t", "|", ",", ";"]
    /// The longest header cell.
    static let maxHeaderCell = 48

    /// An open table: its delimiter, the kind of each column, and its header line.
    struct Table {
        let delimiter: Unicode.Scalar
        let kinds: [FieldKind?]
        let header: Range<Int>
    }

    /// The named cells of every table in `t`, and each table's header line with the end of its last row (`t.count`
    /// for a table still open at the end: a stream's later rows need its header).
    static func scan(_ t: [Unicode.Scalar]) -> (cells: [FieldCell], tables: [(header: Range<Int>, end: Int)]) {
        var out: [FieldCell] = []
        var tables: [(header: Range<Int>, end: Int)] = []
        var cells: [Range<Int>] = []
        var open: Table? = nil
        let n = t.count
        var lineStart = 0
        // A table needs a line after its header: no newline, no table.
        guard skip(t, 0, { $0 == 10 }) < n else { return ([], []) }
        while lineStart < n {
            let newline = skip(t, lineStart) { $0 == 10 }
            var lineEnd = newline
            if lineEnd > lineStart, t[lineEnd - 1] == "\r" { lineEnd -= 1 }
            let complete = newline < n
            var consumed = false
            if let table = open, table.kinds.count == 1, let next = header(t, lineStart, lineEnd, &cells) {
                // In one column any line could be a row: a header takes precedence.
                open = next
                tables.append((next.header, newline))
                consumed = true
            } else if let table = open {
                split(t, lineStart, lineEnd, table.delimiter, into: &cells)
                let ends =
                    table.kinds.count == 1
                    ? trimmed(t, lineStart..<lineEnd).isEmpty || t[lineStart..<lineEnd].contains(":")
                    : cells.count < 2
                if ends {
                    // A line without the delimiter (for one column: a blank line, or a label such as `account:`)
                    // ends the table once it is complete; it may start another one.
                    if complete { open = nil }
                    consumed = !complete
                } else if cells.count == table.kinds.count {
                    tables[tables.count - 1].end = newline
                    for (k, kind) in table.kinds.enumerated() {
                        guard let kind else { continue }
                        let r = trimmed(t, cells[k])
                        if !r.isEmpty { out.append(FieldCell(start: r.lowerBound, end: r.upperBound, kind: kind)) }
                    }
                    consumed = true
                }
                // Another number of cells: the header of the next table, or a row that is skipped.
            }
            if !consumed, let table = header(t, lineStart, lineEnd, &cells) {
                open = table
                tables.append((table.header, newline))
            }
            lineStart = newline + 1
        }
        if open != nil { tables[tables.count - 1].end = n }
        return (out, tables)
    }

    /// The header line of the first table with a row ending at or after `position`, or still open at the end of `t`.
    static func header(in t: [Unicode.Scalar], coveringFrom position: Int) -> Range<Int>? {
        scan(t).tables.first { $0.end >= position }?.header
    }

    /// The named cells of every table in `t` of the given kinds.
    static func cells(in t: [Unicode.Scalar], kinds: (FieldKind) -> Bool) -> [FieldCell] {
        scan(t).cells.filter { kinds($0.kind) }
    }

    /// The table whose header is the line `from..<to`, if it is one.
    static func header(_ t: [Unicode.Scalar], _ from: Int, _ to: Int, _ cells: inout [Range<Int>]) -> Table? {
        guard to - from >= 3 else { return nil }
        // One pass first: only field-name scalars, quotes and delimiters; which delimiters occur.
        var present = 0
        var colon = false
        for k in from..<to {
            let s = t[k]
            if let d = delimiterIndex(s) {
                present |= 1 << d
            } else if s == ":", !colon {
                colon = true
            } else if !(isFieldNameScalar(s) || s == "\"" || s == "'" || s == "\r") || colon && !isSpace(s) {
                return nil
            }
        }
        if present == 0 {
            // One column: a line that is only a field name (`SSN`, `Phone numbers:`), values on the lines below.
            var r = trimmed(t, from..<to)
            if colon, r.count > 1, t[r.upperBound - 1] == ":" { r = r.lowerBound..<(r.upperBound - 1) }
            guard isFieldName(t, r), let (kind, _) = FieldContext.keyKind(t, end: r.upperBound, floor: r.lowerBound)
            else {
                return nil
            }
            return Table(delimiter: "\n", kinds: [kind], header: from..<to)
        }
        guard !colon else { return nil }
        for (index, d) in delimiters.enumerated() where present & (1 << index) != 0 {
            split(t, from, to, d, into: &cells)
            guard cells.count >= 2 else { continue }
            var kinds: [FieldKind?] = []
            var named = 0
            var any = false
            for cell in cells {
                let r = trimmed(t, cell)
                if r.isEmpty {
                    kinds.append(nil)
                    continue
                }
                guard isFieldName(t, r) else {
                    named = -1
                    break
                }
                named += 1
                let kind = FieldContext.keyKind(t, end: r.upperBound, floor: r.lowerBound)?.0
                if kind != nil { any = true }
                kinds.append(kind)
            }
            if named >= 2, any { return Table(delimiter: d, kinds: kinds, header: from..<to) }
        }
        return nil
    }

    /// The index of `s` in `delimiters`, if it is one (a switch: this runs on every scalar of a candidate line).
    @inline(__always) static func delimiterIndex(_ s: Unicode.Scalar) -> Int? {
        switch s {
        case "\t": return 0
        case "|": return 1
        case ",": return 2
        case ";": return 3
        default: return nil
        }
    }

    /// Whether `t[r]` looks like a column name.
    static func isFieldName(_ t: [Unicode.Scalar], _ r: Range<Int>) -> Bool {
        guard r.count <= maxHeaderCell else { return false }
        var i = r.lowerBound
        while i < r.upperBound, t[i] == "*" || t[i] == "`" { i += 1 }
        guard i < r.upperBound, isASCIIAlpha(t[i]) else { return false }
        for k in i..<r.upperBound where !isFieldNameScalar(t[k]) { return false }
        return true
    }

    /// Letters, digits, spaces and `_ - . # ( ) / * + & \``.
    @inline(__always) static func isFieldNameScalar(_ s: Unicode.Scalar) -> Bool {
        isASCIIAlnum(s) || s == " " || s == "_" || s == "-" || s == "." || s == "#" || s == "(" || s == ")" || s == "/"
            || s == "*" || s == "`" || s == "+" || s == "&"
    }

    /// Splits `t[from..<to]` at `d` outside double quotes (a quote opens a quoted field only at a cell's start).
    static func split(
        _ t: [Unicode.Scalar], _ from: Int, _ to: Int, _ d: Unicode.Scalar, into cells: inout [Range<Int>]
    ) {
        cells.removeAll(keepingCapacity: true)
        var cellStart = from
        var quoted = false
        var i = from
        while i < to {
            let s = t[i]
            if quoted {
                if s == "\"" {
                    if i + 1 < to, t[i + 1] == "\"" {
                        i += 2
                        continue
                    }
                    quoted = false
                }
            } else if s == d {
                cells.append(cellStart..<i)
                cellStart = i + 1
            } else if s == "\"" {
                var j = cellStart
                while j < i, t[j] == " " { j += 1 }
                if j == i { quoted = true }
            }
            i += 1
        }
        cells.append(cellStart..<to)
    }

    /// `r` without surrounding white space, then one pair of surrounding quotes, then white space.
    static func trimmed(_ t: [Unicode.Scalar], _ r: Range<Int>) -> Range<Int> {
        var a = r.lowerBound
        var b = r.upperBound
        while a < b, isSpace(t[a]) { a += 1 }
        while b > a, isSpace(t[b - 1]) { b -= 1 }
        if b - a >= 2, t[a] == "\"" || t[a] == "'", t[b - 1] == t[a] {
            a += 1
            b -= 1
            while a < b, isSpace(t[a]) { a += 1 }
            while b > a, isSpace(t[b - 1]) { b -= 1 }
        }
        return a..<b
    }
}
