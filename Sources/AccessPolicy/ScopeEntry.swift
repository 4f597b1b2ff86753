import Foundation

/// One entry of a request's retrieval scope, trimmed as `entry.trimmingCharacters(in: .whitespaces)` trims it —
/// leading and trailing scalars of `CharacterSet.whitespaces`: space, tab, the other Unicode space separators
/// (category Zs) and, in Foundation's set, the zero-width space — without bridging the string to `NSString` on every
/// decision. An entry the
/// server has already trimmed (the `Sealgate-Scope` header's names) comes back as it is, without a copy; only a
/// non-ASCII scalar at either end consults `CharacterSet.whitespaces`.
enum ScopeEntry {
    /// `entry` without leading and trailing whitespace in the sense of `CharacterSet.whitespaces`.
    static func trimmed(_ entry: String) -> String {
        let scalars = entry.unicodeScalars
        var low = scalars.startIndex
        var high = scalars.endIndex
        while low < high, isWhitespace(scalars[low]) { low = scalars.index(after: low) }
        while high > low, isWhitespace(scalars[scalars.index(before: high)]) { high = scalars.index(before: high) }
        if low == scalars.startIndex && high == scalars.endIndex { return entry }
        return String(scalars[low..<high])
    }

    /// Whether `scalar` is in `CharacterSet.whitespaces`: in ASCII, space and tab.
    private static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return scalar == " " || scalar == "\t" }
        return CharacterSet.whitespaces.contains(scalar)
    }
}
