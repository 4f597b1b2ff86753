import AsyncHTTPClient
import Audit
import Foundation
import NIOCore
import SealgateCore

/// A chat model behind an OpenAI-compatible `/chat/completions` endpoint (vLLM, llama.cpp server, Ollama, hosted).
///
/// Requests have a deadline, retries on 5xx and transport failures, and bounded response sizes; streaming
/// parses server-sent events. The prompt carries the retrieved passages as numbered context.
public struct OpenAIChatModel: ChatModel {
    public let modelName: String
    let http: OpenAIHTTP

    /// Creates the model.
    /// - Parameters:
    ///   - baseURL: the API root, e.g. `http://127.0.0.1:8000/v1`.
    ///   - apiKey: the upstream key (read from the environment by the caller), if any.
    public init(
        client: HTTPClient, baseURL: String, model: String, apiKey: String?, timeoutSeconds: Double,
        maxResponseBytes: Int, retries: Int
    ) {
        self.init(
            transport: HTTPClientTransport(client: client), baseURL: baseURL, model: model, apiKey: apiKey, timeoutSeconds: timeoutSeconds,
            maxResponseBytes: maxResponseBytes, retries: retries)
    }

    /// Creates the model over a given transport (an attested one for models inside a TEE).
    public init(
        transport: any UpstreamTransport, baseURL: String, model: String, apiKey: String?, timeoutSeconds: Double,
        maxResponseBytes: Int, retries: Int
    ) {
        self.modelName = model
        self.http = OpenAIHTTP(
            transport: transport, baseURL: baseURL, apiKey: apiKey, timeout: .milliseconds(Int64(timeoutSeconds * 1000)),
            maxResponseBytes: maxResponseBytes, retries: retries, failureCode: .modelUnavailable)
    }

    struct Message: Codable {
        var role: String
        var content: String
    }

    struct Request: Encodable {
        var model: String
        var messages: [Message]
        var stream: Bool
        var maxTokens: Int?
        enum CodingKeys: String, CodingKey {
            case model, messages, stream
            case maxTokens = "max_tokens"
        }
    }

    struct Response: Decodable {
        struct Choice: Decodable {
            struct Msg: Decodable { var content: String? }
            var message: Msg?
            var delta: Msg?
        }
        var choices: [Choice]
    }

    static let systemPrompt = """
        Answer the question using only the numbered context passages. Cite passages as [n]. If the context does \
        not contain the answer, say that you could not find it.
        """

    /// The request ``body(_:stream:)`` sends, as values (its JSON is ``Request`` encoded with sorted keys).
    func request(_ prompt: ModelPrompt, stream: Bool) -> Request {
        var context = ""
        for (i, passage) in prompt.passages.enumerated() { context += "[\(i + 1)] \(passage.text)\n\n" }
        return Request(
            model: modelName,
            messages: [
                Message(role: "system", content: Self.systemPrompt),
                Message(role: "user", content: "Context:\n\(context)Question: \(prompt.question)"),
            ], stream: stream, maxTokens: prompt.maxTokens)
    }

    /// The upstream request body: the bytes `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]` writes for
    /// ``request(_:stream:)``, written with ``JSONWriter`` (this body goes out with every upstream answer, and
    /// `JSONEncoder` was the largest part of building it; `ChatJSONTests` compares the two byte for byte).
    func body(_ prompt: ModelPrompt, stream: Bool) throws -> Data {
        let request = request(prompt, stream: stream)
        var json = JSONWriter(capacity: 256 + request.messages.reduce(0) { $0 + $1.content.utf8.count })
        json.beginObject()
        json.member("max_tokens", request.maxTokens)
        json.key("messages")
        json.beginArray()
        for message in request.messages {
            json.beginObject()
            json.member("content", message.content)
            json.member("role", message.role)
            json.endObject()
        }
        json.endArray()
        json.member("model", request.model)
        json.key("stream")
        json.bool(request.stream)
        json.endObject()
        return Data(json.bytes)
    }

    public func answer(_ prompt: ModelPrompt) async throws -> ModelAnswer {
        let data = try await http.postJSON(path: "/chat/completions", body: try body(prompt, stream: false))
        guard let response = try? JSONDecoder().decode(Response.self, from: data),
            let text = response.choices.first?.message?.content
        else { throw SealgateError(.modelUnavailable, "upstream response is not a chat completion") }
        return ModelAnswer(text: text, citations: prompt.passages.map(\.citation))
    }

    public func stream(_ prompt: ModelPrompt) -> AsyncThrowingStream<String, any Error> {
        let http = self.http
        let payload = Result { try body(prompt, stream: true) }
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let response = try await http.post(path: "/chat/completions", body: try payload.get())
                    guard (200..<300).contains(response.status) else {
                        throw SealgateError(.modelUnavailable, "upstream answered HTTP \(response.status)")
                    }
                    var parser = ServerSentEventParser()
                    var total = 0
                    for try await var buffer in response.body {
                        total += buffer.readableBytes
                        guard total <= http.maxResponseBytes else {
                            throw SealgateError(.modelUnavailable, "upstream response too large")
                        }
                        for event in parser.feed(buffer.readData(length: buffer.readableBytes) ?? Data()) {
                            if event == "[DONE]" {
                                continuation.finish()
                                return
                            }
                            if let chunk = try? JSONDecoder().decode(Response.self, from: Data(event.utf8)),
                                let delta = chunk.choices.first?.delta?.content, !delta.isEmpty
                            {
                                continuation.yield(delta)
                            }
                        }
                    }
                    continuation.finish()
                } catch let error as SealgateError {
                    continuation.finish(throwing: error)
                } catch let refused as UpstreamRefused {
                    continuation.finish(throwing: SealgateError(refused.code, refused.message))
                } catch {
                    continuation.finish(throwing: SealgateError(.modelUnavailable, "upstream stream failed"))
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// Splits a `text/event-stream` body into the `data:` payloads of its events.
struct ServerSentEventParser {
    var buffer = Data()
    var data: [String] = []

    mutating func feed(_ bytes: Data) -> [String] {
        buffer.append(bytes)
        var events: [String] = []
        while let newline = buffer.firstIndex(of: 10) {
            var line = buffer[buffer.startIndex..<newline]
            buffer = Data(buffer[(newline + 1)...])
            if line.last == 13 { line = line.dropLast() }
            let text = String(decoding: line, as: UTF8.self)
            if text.isEmpty {
                if !data.isEmpty { events.append(data.joined(separator: "\n")) }
                data = []
            } else if text.hasPrefix("data:") {
                data.append(String(text.dropFirst(5)).trimmingCharacters(in: .whitespaces))
            }
        }
        return events
    }
}
