/// Field names in HTML and XML: a value is typed by the text before its element (`<dt>SSN</dt><dd>…`,
/// `<td>Phone:</td> <td>…`, `<label>Social security no.</label>\n<span>…`) or, in an attribute `value`, by the
/// `name`, `id` or `aria-label` attribute of the same tag (`<input name="social-security-number" value="…">`).
extension FieldContext {
    /// How far around a value markup is read (tags, attributes, the text before them).
    static let maxMarkupScalars = 256
    /// The most tags between a label and its value (`</label></div><div><span>`).
    static let maxTags = 4

    /// The kind named by the markup around the value at `v`, or `nil`.
    static func markupKind(before v: Int, in t: [Unicode.Scalar]) -> FieldKind? {
        guard v > 0 else { return nil }
        let floor = max(0, v - maxMarkupScalars)
        switch t[v - 1] {
        case "\"", "'", "=": return attributeKind(valueAt: v, in: t, floor: floor)
        case ">", " ", "\t", "\n", "\r": break
        default: return nil
        }
        var k = v
        var tags = 0
        while k > floor {
            let s = t[k - 1]
            if s == " " || s == "\t" || s == "\n" || s == "\r" {
                k -= 1
                continue
            }
            guard s == ">", tags < maxTags, let open = tagStart(t, closingAt: k - 1, floor: floor) else { break }
            tags += 1
            k = open
        }
        guard tags > 0, k > floor, !isDigit(t[k - 1]) else { return nil }
        return keyKind(t, end: k, floor: max(floor, k - maxKeyScalars))?.0
    }

    /// The `<` that opens the tag whose `>` is at `gt`: a tag name (or `/` and one) after it, no `<`, `>` or line break
    /// inside.
    static func tagStart(_ t: [Unicode.Scalar], closingAt gt: Int, floor: Int) -> Int? {
        var j = gt - 1
        while j >= floor {
            let s = t[j]
            if s == "<" {
                let next = j + 1 < gt ? t[j + 1] : " "
                let name = next == "/" && j + 2 < gt ? t[j + 2] : next
                return isASCIIAlpha(name) ? j : nil
            }
            if s == ">" || s == "\n" { return nil }
            j -= 1
        }
        return nil
    }

    /// For a value in an attribute `value` (`value="…"`, `value='…'`, `value=…`): the kind named by the `name`, `id` or
    /// `aria-label` attribute of the same tag, before or after it.
    static func attributeKind(valueAt v: Int, in t: [Unicode.Scalar], floor: Int) -> FieldKind? {
        var k = v
        if t[k - 1] == "\"" || t[k - 1] == "'" { k -= 1 }
        guard k > floor, t[k - 1] == "=" else { return nil }
        k -= 1
        guard k - 5 >= floor, hasPrefix(t, at: k - 5, "value", ignoringCase: true), k - 5 > 0,
            t[k - 6] == " " || t[k - 6] == "\t" || t[k - 6] == "\n"
        else { return nil }
        // The tag: back to its `<`, forward to its `>`, neither past another `<` or `>`.
        var open = k - 6
        while open >= floor, t[open] != "<", t[open] != ">" { open -= 1 }
        guard open >= floor, t[open] == "<" else { return nil }
        var close = v
        let ceiling = min(t.count, v + maxMarkupScalars)
        while close < ceiling, t[close] != ">", t[close] != "<" { close += 1 }
        guard close < ceiling, t[close] == ">" else { return nil }
        var j = open + 1
        while j < close {
            defer { j += 1 }
            guard t[j - 1] == " " || t[j - 1] == "\t" || t[j - 1] == "\n" else { continue }
            let nameLength: Int
            if hasPrefix(t, at: j, "name=", ignoringCase: true) {
                nameLength = 5
            } else if hasPrefix(t, at: j, "id=", ignoringCase: true) {
                nameLength = 3
            } else if hasPrefix(t, at: j, "aria-label=", ignoringCase: true) {
                nameLength = 11
            } else {
                continue
            }
            var start = j + nameLength
            var end = start
            if start < close, t[start] == "\"" || t[start] == "'" {
                let quote = t[start]
                start += 1
                end = start
                while end < close, t[end] != quote { end += 1 }
            } else {
                while end < close, t[end] != " ", t[end] != "\t", t[end] != "/" { end += 1 }
            }
            if end > start, let (kind, _) = keyKind(t, end: end, floor: start) { return kind }
        }
        return nil
    }
}
