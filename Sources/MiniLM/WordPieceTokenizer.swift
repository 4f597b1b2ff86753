import Foundation

/// BERT's uncased WordPiece tokenizer, as the model's `tokenizer.json` configures it (`BertNormalizer` with
/// `clean_text`, `handle_chinese_chars`, `lowercase` and so accent stripping; `BertPreTokenizer`; WordPiece with
/// `##` continuations, `[UNK]` for a word with no segmentation or over 100 characters).
///
/// Works on Unicode scalars, as the reference does on Rust `char`s (not on grapheme clusters).
public struct WordPieceTokenizer: Sendable {
    /// Longest output including `[CLS]` and `[SEP]`: sentence-transformers' `max_seq_length` for this model.
    public let maxLength: Int
    static let maxCharactersPerWord = 100
    let vocabulary: [String: Int32]
    let cls: Int32, sep: Int32, unk: Int32

    /// Parses `vocab.txt` (UTF-8, one token per line; the line number is the id).
    public init(vocabulary data: Data, maxLength: Int = 256) throws {
        guard let text = String(data: data, encoding: .utf8) else { throw MiniLMError(.vocabularyMalformed, "vocab.txt is not UTF-8") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        var map: [String: Int32] = [:]
        map.reserveCapacity(lines.count)
        for (i, line) in lines.enumerated() {
            let token = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
            if map[token] == nil { map[token] = Int32(i) }
        }
        guard let cls = map["[CLS]"], let sep = map["[SEP]"], let unk = map["[UNK]"] else {
            throw MiniLMError(.vocabularyMalformed, "vocab.txt lacks [CLS], [SEP] or [UNK]")
        }
        guard maxLength >= 2 else { throw MiniLMError(.vocabularyMalformed, "maximum length below 2") }
        self.vocabulary = map
        self.cls = cls
        self.sep = sep
        self.unk = unk
        self.maxLength = maxLength
    }

    /// Number of entries (the largest id + 1 for a well-formed file).
    public var count: Int { Int(vocabulary.values.max() ?? -1) + 1 }

    /// `[CLS] pieces… [SEP]`, the pieces truncated to `maxLength − 2`.
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = [cls]
        let limit = maxLength - 1
        outer: for word in Self.words(text) {
            for id in pieces(word) {
                if ids.count == limit { break outer }
                ids.append(id)
            }
        }
        ids.append(sep)
        return ids
    }

    /// Greedy longest-match-first segmentation of one word.
    func pieces(_ word: [Unicode.Scalar]) -> [Int32] {
        if word.count > Self.maxCharactersPerWord { return [unk] }
        var result: [Int32] = []
        var start = 0
        while start < word.count {
            var end = word.count
            var found: Int32?
            while start < end {
                var candidate = start > 0 ? "##" : ""
                candidate.unicodeScalars.append(contentsOf: word[start..<end])
                if let id = vocabulary[candidate] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else { return [unk] }
            result.append(id)
            start = end
        }
        return result
    }

    /// Normalisation and pre-tokenisation: the words, each a run of scalars.
    static func words(_ text: String) -> [[Unicode.Scalar]] {
        var cleaned = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.value == 0 || scalar.value == 0xFFFD || isControl(scalar) { continue }
            if isWhitespace(scalar) {
                cleaned.append(" ")
            } else if isChinese(scalar) {
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
        }
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        func flush() {
            if !current.isEmpty { words.append(current) }
            current.removeAll(keepingCapacity: true)
        }
        for scalar in String(cleaned).decomposedStringWithCanonicalMapping.unicodeScalars
        where scalar.properties.generalCategory != .nonspacingMark {
            for lower in scalar.properties.lowercaseMapping.unicodeScalars {
                if lower.properties.isWhitespace {
                    flush()
                } else if isPunctuation(lower) {
                    flush()
                    words.append([lower])
                } else {
                    current.append(lower)
                }
            }
        }
        flush()
        return words
    }

    /// Cc, Cf, Cs, Co, Cn except tab, newline and carriage return (which are whitespace).
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s == "\t" || s == "\n" || s == "\r" || s.properties.isWhitespace
    }

    /// ASCII punctuation (which includes symbols such as `$`, `+`, `<`, `^`, `|`) or any Unicode P* category.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .closePunctuation, .finalPunctuation, .initialPunctuation,
            .otherPunctuation, .openPunctuation:
            return true
        default: return false
        }
    }

    /// The CJK Unified Ideograph blocks BERT splits around.
    static func isChinese(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F, 0x2B920...0x2CEAF,
            0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default: return false
        }
    }
}
