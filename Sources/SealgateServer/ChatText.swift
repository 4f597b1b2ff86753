import Foundation

/// The small text work of every chat answer — the `Sealgate-Scope` list and the word counts of `usage` — with an
/// ASCII fast path that gives exactly what the general definitions give (no grapheme breaking, no `NSString`
/// bridging for the common case); anything with a non-ASCII byte takes the general definition.
enum ChatText {
    /// The collection names of a `Sealgate-Scope` value: split at commas, each trimmed of spaces and tabs
    /// (`CharacterSet.whitespaces`), empty ones dropped.
    static func scope(_ value: String?) -> [String] {
        guard var value, !value.isEmpty else { return [] }
        if let ascii = value.withUTF8({ asciiScope($0) }) { return ascii }
        return value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// How many words `text` has: `text.split(whereSeparator: \.isWhitespace).count`.
    static func wordCount(_ text: String) -> Int {
        var text = text
        if let ascii = text.withUTF8({ asciiWordCount($0) }) { return ascii }
        return text.split(whereSeparator: { $0.isWhitespace }).count
    }

    /// The scope of an all-ASCII value (`nil` otherwise). In ASCII, `CharacterSet.whitespaces` is space and tab,
    /// and every character is one byte.
    private static func asciiScope(_ bytes: UnsafeBufferPointer<UInt8>) -> [String]? {
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        var out: [String] = []
        var start = 0
        while start <= bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: ",") { end += 1 }
            var low = start
            var high = end
            while low < high, bytes[low] == 0x20 || bytes[low] == 0x09 { low += 1 }
            while high > low, bytes[high - 1] == 0x20 || bytes[high - 1] == 0x09 { high -= 1 }
            if low < high { out.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[low..<high]), as: UTF8.self)) }
            start = end + 1
        }
        return out
    }

    /// The word count of an all-ASCII text (`nil` otherwise). `Character.isWhitespace` holds in ASCII for tab, line
    /// feed, vertical tab, form feed, carriage return and space, and the one ASCII character of two bytes ("\r\n")
    /// is whitespace as its two bytes are, so counting runs of other bytes counts the same words.
    private static func asciiWordCount(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var count = 0
        var inWord = false
        for byte in bytes {
            guard byte < 0x80 else { return nil }
            if byte == 0x20 || (0x09...0x0D).contains(byte) {
                inWord = false
            } else if !inWord {
                inWord = true
                count += 1
            }
        }
        return count
    }
}
