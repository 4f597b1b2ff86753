/// Splits text into overlapping chunks, breaking at paragraph, sentence or word boundaries.
public struct Chunker: Sendable {
    /// The most characters in a chunk.
    public let targetCharacters: Int
    /// How many characters of the previous chunk the next one repeats.
    public let overlap: Int

    /// Creates a chunker.
    /// - Precondition: `overlap` is smaller than half of `targetCharacters` (clamped otherwise).
    public init(targetCharacters: Int = 800, overlap: Int = 160) {
        self.targetCharacters = max(64, targetCharacters)
        self.overlap = min(max(0, overlap), self.targetCharacters / 2)
    }

    /// The chunks of `text`, trimmed; empty text gives no chunks.
    public func chunks(of text: String) -> [String] {
        let chars = Array(text)
        var result: [String] = []
        var start = 0
        while start < chars.count {
            while start < chars.count, chars[start].isWhitespace { start += 1 }
            guard start < chars.count else { break }
            var end = min(chars.count, start + targetCharacters)
            if end < chars.count {
                end = boundary(in: chars, from: start, to: end)
            }
            let piece = String(chars[start..<end]).trimmingWhitespace()
            if !piece.isEmpty { result.append(piece) }
            guard end < chars.count else { break }
            var next = max(start + 1, end - overlap)
            // Start the overlap on a word boundary.
            while next < end, !chars[next - 1].isWhitespace { next += 1 }
            start = next >= end ? end : next
        }
        return result
    }

    /// The best place to cut before `limit`: a paragraph break, then a sentence end, then whitespace.
    private func boundary(in chars: [Character], from start: Int, to limit: Int) -> Int {
        let floor = start + targetCharacters / 2
        var sentence: Int?
        var space: Int?
        var i = limit - 1
        while i > floor {
            let c = chars[i]
            if c == "\n", i > 0, chars[i - 1] == "\n" { return i + 1 }
            if sentence == nil, c.isWhitespace, [".", "!", "?"].contains(chars[i - 1]) { sentence = i + 1 }
            if space == nil, c.isWhitespace { space = i + 1 }
            i -= 1
        }
        return sentence ?? space ?? limit
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
