/// What the detectors see: the text with look-alike scalars folded to the ASCII the detectors match, so that a
/// card number grouped with no-break spaces, a phone number in fullwidth digits, an e-mail address with a
/// fullwidth `＠` or a zero-width space inside it is found as its ASCII form would be (review finding: each passed
/// every detector). Spans found on the folded text are mapped back to the original scalars, and the original is
/// what is redacted; only detection changes.
///
/// Folded, one scalar to one (or to none):
/// - fullwidth ASCII (U+FF01–U+FF5E, `０`–`９`, `＠`, `Ａ`…) to ASCII;
/// - space separators (no-break, thin, narrow no-break, ideographic, en/em and the other U+2000 spaces) to a space;
/// - hyphens and dashes (U+2010–U+2015, minus U+2212, small hyphen-minus U+FE63) to `-`;
/// - removed: zero-width space, joiners, word joiner, byte-order mark, soft hyphen, and the Latin combining
///   diacritics U+0300–U+036F (text in decomposed form: `jo\u{301}hn` is matched as `john`).
/// A text with none of these (any plain ASCII text) is not copied.
struct FoldedText {
    /// The folded scalars.
    var scalars: [Unicode.Scalar]
    /// For each folded scalar, the index of the original scalar it came from.
    var origin: [Int32]
    /// The number of original scalars.
    var originalCount: Int

    /// What `s` folds to: itself, another scalar, or nothing (`nil`).
    @inline(__always) static func fold(_ s: Unicode.Scalar) -> Unicode.Scalar?? {
        let v = s.value
        if v < 0xA0 { return .some(s) }
        switch v {
        case 0xFF01...0xFF5E: return Unicode.Scalar(v - 0xFF01 + 0x21)
        case 0x00A0, 0x1680, 0x2000...0x200A, 0x202F, 0x205F, 0x3000: return .some(" ")
        case 0x2010...0x2015, 0x2212, 0xFE63: return .some("-")
        case 0x200B...0x200D, 0x2060, 0xFEFF, 0x00AD, 0x0300...0x036F: return .some(nil)
        default: return .some(s)
        }
    }

    /// The folded text, or `nil` when folding changes nothing.
    static func fold(_ scalars: [Unicode.Scalar]) -> FoldedText? {
        guard let first = scalars.firstIndex(where: { $0.value >= 0xA0 && fold($0) != .some($0) }) else { return nil }
        var folded = Array(scalars[..<first])
        var origin = (0..<Int32(first)).map { $0 }
        folded.reserveCapacity(scalars.count)
        origin.reserveCapacity(scalars.count)
        for i in first..<scalars.count {
            guard let mapped = fold(scalars[i]), let scalar = mapped else { continue }
            folded.append(scalar)
            origin.append(Int32(i))
        }
        return FoldedText(scalars: folded, origin: origin, originalCount: scalars.count)
    }

    /// The original index of folded index `i` (the original's end for the folded end).
    func originalIndex(_ i: Int) -> Int { i < origin.count ? Int(origin[i]) : originalCount }

    /// The first folded index whose original index is at least `i`.
    func foldedIndex(_ i: Int) -> Int {
        var lo = 0
        var hi = origin.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if Int(origin[mid]) < i { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// A span of the folded text as a span of the original: from its first scalar's origin to the next folded
    /// scalar's origin (so scalars removed inside or right after it are covered), or to the end.
    func original(_ span: DetectedSpan) -> DetectedSpan {
        let start = span.start < origin.count ? Int(origin[span.start]) : originalCount
        let end = span.end < origin.count ? Int(origin[span.end]) : originalCount
        return DetectedSpan(start: start, end: end, label: span.label)
    }
}
