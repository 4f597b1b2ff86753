/// Lowercased word tokens: runs of letters and digits.
public enum Tokenizer {
    /// Common English function words that carry no retrieval signal.
    public static let stopWords: Set<String> = [
        "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "has", "have", "how",
        "i", "in", "is", "it", "its", "of", "on", "or", "our", "that", "the", "their", "there", "this", "to",
        "was", "we", "what", "when", "where", "which", "who", "why", "will", "with", "you", "your", "me", "my",
    ]

    /// The word tokens of `text`, lowercased, in order.
    public static func words(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        for scalar in text.unicodeScalars {
            let props = scalar.properties
            if props.isAlphabetic || props.numericType != nil {
                current.unicodeScalars.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else if !current.isEmpty {
                out.append(current)
                current = ""
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// Content words: tokens that are not stop words, lightly stemmed.
    public static func terms(_ text: String) -> [String] {
        words(text).filter { !stopWords.contains($0) }.map(stem)
    }

    /// A light suffix-stripping stemmer (plural and common verb endings).
    public static func stem(_ word: String) -> String {
        guard word.count > 4 else { return word }
        for suffix in ["ies", "ing", "ed", "es", "s"] where word.hasSuffix(suffix) {
            let base = String(word.dropLast(suffix.count))
            if suffix == "ies" { return base + "y" }
            if suffix == "s" && word.hasSuffix("ss") { return word }
            return base.count >= 3 ? base : word
        }
        return word
    }
}
