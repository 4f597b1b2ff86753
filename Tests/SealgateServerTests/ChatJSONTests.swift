import AsyncHTTPClient
import Foundation
import SealgateCore
import SealgateTestSupport
import Testing

@testable import ModelClientOpenAI
@testable import SealgateServer

/// Issue #17 item 4: the chat completion body is written by hand; it must stay exactly the JSON it was.
@Suite("Chat completion bodies written by hand")
struct ChatJSONTests {
    static let alphabet: [Character] = ["a", "Z", "0", " ", "\"", "\\", "/", "\u{0}", "\u{8}", "\t", "\n", "\u{c}", "\r", "\u{1f}", "é", "\u{2028}", "😀", "[", "1", "]"]

    static func text(_ rng: inout SplitMix64, length: Int = 40) -> String {
        String((0..<Int.random(in: 0...length, using: &rng)).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
    }

    static func completion(_ rng: inout SplitMix64, score: Double? = nil) -> API.ChatCompletion {
        var citations: [API.CitationBody] = []
        for n in 0..<Int.random(in: 0...5, using: &rng) {
            let chunk = Int.random(in: 0...40, using: &rng)
            let random = (Double.random(in: -1...1, using: &rng) * 10_000).rounded() / 10_000
            citations.append(
                API.CitationBody(
                    Citation(
                        collection: CollectionName(unchecked: "handbook"), documentID: DocumentID(unchecked: "doc-\(n)"), chunkIndex: chunk,
                        score: score ?? random)))
        }
        let labels = ["EMAIL", "PHONE", "CREDIT_CARD", "IP_ADDRESS", "A_B", "AB"]
        let redactions = Dictionary(
            (0..<Int.random(in: 0...3, using: &rng)).map { _ in (labels[Int.random(in: 0..<labels.count, using: &rng)], Int.random(in: 1...5, using: &rng)) },
            uniquingKeysWith: { $1 })
        let prompt = Int.random(in: 0...500, using: &rng)
        let completion = Int.random(in: 0...500, using: &rng)
        return API.ChatCompletion(
            id: "chatcmpl-\(Int.random(in: 0...Int.max, using: &rng))", created: Int.random(in: 0...2_000_000_000, using: &rng), model: text(&rng, length: 8),
            choices: [API.ChatChoice(index: 0, message: .init(role: "assistant", content: text(&rng)), finishReason: "stop")],
            usage: API.Usage(promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion),
            sealgate: API.SealgateInfo(
                citations: citations, redactions: redactions,
                audit: API.AuditRef(index: UInt64.random(in: 0...1 << 40, using: &rng), receipt: Bool.random(using: &rng) ? text(&rng) : nil)))
    }

    @Test("The body is the bytes JSONEncoder with sorted keys writes, and JSONSerialization reads it back")
    func matchesEncoder() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var rng = SplitMix64(seed: 0xC4A7)
        for _ in 0..<500 {
            let completion = Self.completion(&rng)
            let bytes = Data(try #require(completion.encoded))
            #expect(bytes == (try encoder.encode(completion)), "\(String(decoding: bytes, as: UTF8.self))")
            let object = try #require(try JSONSerialization.jsonObject(with: bytes) as? [String: Any])
            let message = ((object["choices"] as? [[String: Any]])?.first?["message"]) as? [String: Any]
            #expect(message?["content"] as? String == completion.choices.first?.message.content)
            #expect(object["object"] as? String == "chat.completion")
        }
    }

    @Test("The upstream request body is the bytes JSONEncoder with sorted keys writes for the same request")
    func upstreamBody() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var rng = SplitMix64(seed: 0x0BD1)
        for round in 0..<300 {
            let model = OpenAIChatModel(
                transport: HTTPClientTransport(client: HTTPClient.shared), baseURL: "http://127.0.0.1:1/v1", model: Self.text(&rng, length: 8), apiKey: nil,
                timeoutSeconds: 1, maxResponseBytes: 1 << 20, retries: 0)
            let passages = (0..<Int.random(in: 0...4, using: &rng)).map { n in
                ContextPassage(
                    citation: Citation(collection: CollectionName(unchecked: "handbook"), documentID: DocumentID(unchecked: "d\(n)"), chunkIndex: n, score: 0.5),
                    text: Self.text(&rng, length: 200))
            }
            let prompt = ModelPrompt(question: Self.text(&rng), passages: passages, maxTokens: round % 3 == 0 ? nil : Int.random(in: 1...4096, using: &rng))
            let stream = Bool.random(using: &rng)
            let body = try model.body(prompt, stream: stream)
            #expect(body == (try encoder.encode(model.request(prompt, stream: stream))), "\(String(decoding: body, as: UTF8.self))")
            let object = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
            let messages = try #require(object["messages"] as? [[String: String]])
            #expect(messages.last?["content"]?.hasSuffix("Question: " + prompt.question) == true)
            #expect(object["stream"] as? Bool == stream && object["max_tokens"] as? Int == prompt.maxTokens)
        }
    }

    @Test("A score JSON cannot hold is not written by hand (the response then goes through JSONEncoder as before)")
    func nonFinite() {
        var rng = SplitMix64(seed: 3)
        var completion = Self.completion(&rng, score: .nan)
        completion.sealgate.citations = [API.CitationBody(Citation(collection: CollectionName(unchecked: "c"), documentID: DocumentID(unchecked: "d"), chunkIndex: 0, score: .infinity))]
        #expect(completion.encoded == nil)
    }
}
