import Retrieval
import SealgateCore

/// The built-in model: answers with the retrieved sentences most relevant to the question, with citations.
///
/// It is extractive, not generative: every sentence of an answer is quoted from a passage, and when no
/// passage shares content words with the question it says it found nothing relevant.
public struct ExtractiveModel: ChatModel {
    public let modelName: String
    /// The most sentences an answer quotes.
    public let maxSentences: Int

    public init(modelName: String = "sealgate-extractive", maxSentences: Int = 3) {
        self.modelName = modelName
        self.maxSentences = max(1, maxSentences)
    }

    /// The fixed answer when nothing relevant was retrieved.
    public static let nothingFound =
        "I found nothing relevant to your question in the documents you may access. (Sealgate extractive model: answers only quote retrieved passages.)"

    public func answer(_ prompt: ModelPrompt) async throws -> ModelAnswer { compose(prompt) }

    public func stream(_ prompt: ModelPrompt) -> AsyncThrowingStream<String, any Error> {
        let answer = compose(prompt)
        return AsyncThrowingStream { continuation in
            var piece = ""
            for character in answer.text {
                piece.append(character)
                if character == " " && piece.count >= 12 {
                    continuation.yield(piece)
                    piece = ""
                }
            }
            if !piece.isEmpty { continuation.yield(piece) }
            continuation.finish()
        }
    }

    struct Candidate {
        let sentence: String
        let passage: Int
        let position: Int
        let score: Double
    }

    /// Picks the best sentences: content-word overlap with the question, weighted by the passage's retrieval score.
    func compose(_ prompt: ModelPrompt) -> ModelAnswer {
        let questionTerms = Set(Tokenizer.terms(prompt.question))
        guard !questionTerms.isEmpty else { return ModelAnswer(text: Self.nothingFound, citations: []) }
        var candidates: [Candidate] = []
        for (p, passage) in prompt.passages.enumerated() {
            for (s, sentence) in Self.sentences(passage.text).enumerated() {
                let terms = Set(Tokenizer.terms(sentence))
                guard !terms.isEmpty else { continue }
                let overlap = Double(terms.intersection(questionTerms).count)
                guard overlap > 0 else { continue }
                let coverage = overlap / Double(questionTerms.count)
                let density = overlap / Double(terms.count).squareRoot()
                let score = (coverage + 0.3 * density) * (0.5 + passage.citation.score)
                candidates.append(Candidate(sentence: sentence, passage: p, position: s, score: score))
            }
        }
        guard !candidates.isEmpty else { return ModelAnswer(text: Self.nothingFound, citations: []) }
        var seen = Set<String>()
        let best = candidates.sorted { $0.score > $1.score }.filter { seen.insert($0.sentence).inserted }
            .prefix(maxSentences)
            .sorted { ($0.passage, $0.position) < ($1.passage, $1.position) }
        var cited: [Int] = []
        var parts: [String] = []
        for candidate in best {
            if !cited.contains(candidate.passage) { cited.append(candidate.passage) }
            let marker = (cited.firstIndex(of: candidate.passage) ?? 0) + 1
            parts.append("\(candidate.sentence) [\(marker)]")
        }
        return ModelAnswer(
            text: parts.joined(separator: " "), citations: cited.map { prompt.passages[$0].citation })
    }

    /// Splits text into sentences at `.`, `!`, `?` followed by whitespace, and at blank lines.
    static func sentences(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        let chars = Array(text)
        for (i, c) in chars.enumerated() {
            current.append(c)
            let next: Character? = i + 1 < chars.count ? chars[i + 1] : nil
            let endsSentence = [".", "!", "?"].contains(c) && (next == nil || next?.isWhitespace == true)
            let paragraph = c == "\n" && next == "\n"
            if endsSentence || paragraph {
                let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\n", with: " ")
                if !trimmed.isEmpty { out.append(trimmed) }
                current = ""
            }
        }
        let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\n", with: " ")
        if !trimmed.isEmpty { out.append(trimmed) }
        return out
    }
}

import Foundation
