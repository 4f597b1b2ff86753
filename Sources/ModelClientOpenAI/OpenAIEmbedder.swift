import AsyncHTTPClient
import Foundation
import NIOCore
import SealgateCore

/// An embedder behind an OpenAI-compatible `/embeddings` endpoint. Vectors are L2-normalised.
public struct OpenAIEmbedder: Embedder {
    let http: OpenAIHTTP
    let model: String
    public let dimensions: Int
    public var identifier: String { "openai:\(model):\(dimensions)" }
    public var wantsIDFWeighting: Bool { false }

    public init(client: HTTPClient, baseURL: String, model: String, apiKey: String?, dimensions: Int, timeoutSeconds: Double) {
        self.model = model
        self.dimensions = dimensions
        self.http = OpenAIHTTP(
            transport: HTTPClientTransport(client: client), baseURL: baseURL, apiKey: apiKey, timeout: .milliseconds(Int64(timeoutSeconds * 1000)),
            maxResponseBytes: 64 << 20, retries: 1, failureCode: .embedderUnavailable)
    }

    struct Request: Encodable {
        var model: String
        var input: [String]
    }

    struct Response: Decodable {
        struct Item: Decodable {
            var index: Int
            var embedding: [Float]
        }
        var data: [Item]
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        guard !texts.isEmpty else { return [] }
        var out: [[Float]] = []
        for start in stride(from: 0, to: texts.count, by: 64) {
            let batch = Array(texts[start..<min(texts.count, start + 64)])
            let data = try await http.postJSON(path: "/embeddings", body: try JSONEncoder().encode(Request(model: model, input: batch)))
            guard let response = try? JSONDecoder().decode(Response.self, from: data), response.data.count == batch.count else {
                throw SealgateError(.embedderUnavailable, "upstream response is not an embedding list")
            }
            for item in response.data.sorted(by: { $0.index < $1.index }) {
                guard item.embedding.count == dimensions else {
                    throw SealgateError(.embedderUnavailable, "upstream embedding has \(item.embedding.count) dimensions, configured \(dimensions)")
                }
                let norm = item.embedding.reduce(0) { $0 + $1 * $1 }.squareRoot()
                out.append(norm > 0 ? item.embedding.map { $0 / norm } : item.embedding)
            }
        }
        return out
    }
}
