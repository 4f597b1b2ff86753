import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SealgateConfig
import Synchronization
import Testing

@testable import SealgateServer

/// A fake OpenAI-compatible upstream on loopback: chat completions (plain and streamed) and embeddings.
/// Request bodies the fake upstream received.
final class Seen: Sendable {
    let bodies = Mutex<[String]>([])
    /// The `Accept-Encoding` field of each chat request (nil: none sent).
    let acceptEncodings = Mutex<[String?]>([])
    var last: String? { bodies.withLock { $0.last } }
}

func fakeUpstream(seen: Seen) -> some ApplicationProtocol {
    let router = Router()
    router.post("/v1/chat/completions") { request, _ -> Response in
        let body = try await request.body.collect(upTo: 1 << 20)
        let text = String(buffer: body)
        seen.bodies.withLock { $0.append(text) }
        seen.acceptEncodings.withLock { $0.append(request.headers[.acceptEncoding]) }
        let reply = "Reach jane.doe@example.com for help."
        if text.contains("\"stream\":true") {
            let pieces = ["Reach ", "jane.d", "oe@exam", "ple.com", " for help."]
            var out = ""
            for piece in pieces {
                out += "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\(piece)\"}}]}\n\n"
            }
            out += "data: [DONE]\n\n"
            return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: .init(byteBuffer: ByteBuffer(string: out)))
        }
        let json = "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"\(reply)\"},\"finish_reason\":\"stop\"}]}"
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }
    // A model endpoint that moved: it redirects to the real one, which a model client must not follow.
    router.post("/moved/v1/chat/completions") { _, _ -> Response in
        Response(status: .temporaryRedirect, headers: [.location: "/v1/chat/completions"])
    }
    // An embeddings endpoint that moved: the embedder must not re-send the texts to the location it names.
    router.post("/moved/v1/embeddings") { _, _ -> Response in
        Response(status: .temporaryRedirect, headers: [.location: "/v1/embeddings"])
    }
    router.post("/v1/embeddings") { request, _ -> Response in
        let body = try await request.body.collect(upTo: 1 << 20)
        seen.bodies.withLock { $0.append(String(buffer: body)) }
        let object = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
        let inputs = object?["input"] as? [String] ?? []
        // Deterministic 16-dimensional bag-of-letters vectors.
        let data = inputs.enumerated().map { i, text -> [String: Any] in
            var v = [Double](repeating: 0, count: 16)
            for scalar in text.lowercased().unicodeScalars where scalar.properties.isAlphabetic { v[Int(scalar.value % 16)] += 1 }
            return ["index": i, "embedding": v, "object": "embedding"]
        }
        let json = try JSONSerialization.data(withJSONObject: ["object": "list", "data": data])
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }
    return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
}

@Suite("OpenAI-compatible upstream model and embedder over real HTTP")
struct UpstreamTests {
    static func config(port: Int, embedder: Bool) -> String {
        testConfiguration(
            extraModels: """
              - id: upstream
                type: openai
                base_url: http://127.0.0.1:\(port)/v1
                insecure_unattested: true
                model: fake-llm
                timeout_seconds: 5
                retries: 0
              - id: upstream-redacted
                type: openai
                base_url: http://127.0.0.1:\(port)/v1
                insecure_unattested: true
                model: fake-llm
                timeout_seconds: 5
                retries: 0
                redact_prompt: true
              - id: moved
                type: openai
                base_url: http://127.0.0.1:\(port)/moved/v1
                insecure_unattested: true
                model: fake-llm
                timeout_seconds: 5
                retries: 0
              - id: broken
                type: openai
                base_url: http://127.0.0.1:1/v1
                insecure_unattested: true
                model: nothing-listens-here
                timeout_seconds: 2
                retries: 1
            """,
            extraClassModels: ", upstream, upstream-redacted, moved, broken",
            retrieval: embedder ? """
                retrieval:
                  embedder:
                    type: openai
                    base_url: http://127.0.0.1:\(port)/v1
                    model: fake-embed
                    dimensions: 16
                    allowed_data_classes: [public, internal]
                """ : "")
    }

    /// A live gateway whose upstream profiles point at a fresh fake upstream (with `embedder`, its embedder too).
    static func withUpstream(embedder: Bool, _ body: @Sendable (Seen, Fixture, any TestClientProtocol) async throws -> Void) async throws {
        let seen = Seen()
        try await fakeUpstream(seen: seen).test(.live) { upstream in
            let port = try #require(upstream.port)
            let fixture = try Fixture(config: Self.config(port: port, embedder: embedder))
            defer { fixture.remove() }
            try await withLiveGateway(fixture) { _, client in try await body(seen, fixture, client) }
        }
    }

    @Test("Upstream answers pass through redaction, streamed or not, and the upstream sees only retrieved passages")
    func upstreamModel() async throws {
        try await Self.withUpstream(embedder: false) { seen, fixture, client in
        try await client.send(.post, "/v1/collections/handbook/documents", key: Keys.acme, json: documentJSON(text: "Help desk questions go to the service team on floor two."))
        let answer = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("Where do help desk questions go?", model: "upstream"))
        #expect(answer.status == .ok)
        #expect(answer.object["answer"] as? String == "Reach [EMAIL] for help.")
        #expect(answer.object["model"] as? String == "upstream")
        #expect(seen.last?.contains("service team on floor two") == true)

        let headers: HTTPFields = [HTTPField.Name("Sealgate-Data-Class")!: "internal", HTTPField.Name("Sealgate-Scope")!: "handbook", HTTPField.Name("Sealgate-Model-Policy")!: "upstream"]
        let body = #"{"model":"ignored-when-header-set","stream":true,"messages":[{"role":"user","content":"Where do help desk questions go?"}]}"#
        let streamed = try await client.send(.post, "/v1/chat/completions", key: Keys.acme, json: body, headers: headers)
        #expect(streamed.status == .ok)
        #expect(!streamed.text.contains("jane"))
        #expect(!streamed.text.contains("oe@exam"))
        var joined = ""
        for event in streamed.text.components(separatedBy: "\n\n") where event.hasPrefix("data: {") {
            let chunk = try JSONSerialization.jsonObject(with: Data(event.dropFirst(6).utf8)) as? [String: Any]
            joined += ((chunk?["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String ?? ""
        }
        #expect(joined == "Reach [EMAIL] for help.")

        // A profile with redact_prompt never sees the entities of the passages or the question.
        try await client.send(.post, "/v1/collections/handbook/documents", key: Keys.acme, json: documentJSON(id: "contacts", text: "Help desk escalations go to lead.agent@acme.example on floor two."))
        _ = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("Where do help desk escalations go? Mail me at me@home.example", model: "upstream-redacted"))
        let sent = try #require(seen.last)
        #expect(sent.contains("floor two"))
        #expect(!sent.contains("lead.agent@acme.example") && !sent.contains("me@home.example"))
        #expect(sent.contains("[EMAIL]"))

        // The restricted class does not allow the upstream profile.
        let refused = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("x", dataClass: "restricted", model: "upstream"))
        #expect(refused.problemType == "urn:sealgate:problem:model_not_permitted")

        // An upstream that is down gives 502 model_unavailable, audited.
        let down = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("Where do help desk questions go?", model: "broken"))
        #expect(down.status == .badGateway)
        #expect(down.problemType == "urn:sealgate:problem:model_unavailable")
        #expect(try fixture.auditRecord(try #require(down.auditIndex))?["reason"] as? String == "model_unavailable")
        }
    }

    @Test("The upstream model's client follows no redirect and asks for no compressed answer; chat scope and usage words as defined")
    func upstreamClientSettings() async throws {
        try await Self.withUpstream(embedder: false) { seen, fixture, client in
        try await client.send(.post, "/v1/collections/handbook/documents", key: Keys.acme, json: documentJSON(text: "Help desk questions go to the service team on floor two."))
        // A 307 from the model's endpoint is a failed model call: the prompt is not re-sent to the new location.
        let before = seen.bodies.withLock { $0.count }
        let moved = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("Where do help desk questions go?", model: "moved"))
        #expect(moved.status == .badGateway)
        #expect(moved.problemType == "urn:sealgate:problem:model_unavailable")
        #expect(try fixture.auditRecord(try #require(moved.auditIndex))?["reason"] as? String == "model_unavailable")
        #expect(seen.bodies.withLock { $0.count } == before)

        // Scope: commas, spaces and tabs around names, empty members; usage: words however spaced, ASCII or not.
        for question in ["  Where do\thelp desk\r\nquestions   go? ", "Où vont les questions\u{00A0}du help desk\u{2003}?"] {
            let headers: HTTPFields = [
                HTTPField.Name("Sealgate-Data-Class")!: "internal", HTTPField.Name("Sealgate-Scope")!: " ,\thandbook  , ,",
                HTTPField.Name("Sealgate-Model-Policy")!: "upstream",
            ]
            let body = String(decoding: try JSONSerialization.data(withJSONObject: ["model": "upstream", "messages": [["role": "user", "content": question]]]), as: UTF8.self)
            let chat = try await client.send(.post, "/v1/chat/completions", key: Keys.acme, json: body, headers: headers)
            #expect(chat.status == .ok)
            let usage = try #require(chat.object["usage"] as? [String: Any])
            #expect(usage["prompt_tokens"] as? Int == question.split(whereSeparator: { $0.isWhitespace }).count)
            #expect(usage["completion_tokens"] as? Int == "Reach [EMAIL] for help.".split(whereSeparator: { $0.isWhitespace }).count)
            let citations = try #require((chat.object["sealgate"] as? [String: Any])?["citations"] as? [[String: Any]])
            #expect(citations.allSatisfy { $0["collection"] as? String == "handbook" })
            if question.utf8.allSatisfy({ $0 < 0x80 }) { #expect(!citations.isEmpty) }
        }
        #expect(seen.acceptEncodings.withLock { $0 }.count >= 2)
        #expect(seen.acceptEncodings.withLock { $0 }.allSatisfy { $0 == nil })
        }
    }

    @Test("The OpenAI-compatible embedder follows no redirect: a 307 fails the call and the texts go nowhere else")
    func embedderFollowsNoRedirect() async throws {
        let seen = Seen()
        let upstream = fakeUpstream(seen: seen)
        try await upstream.test(.live) { upstreamClient in
            let port = try #require(upstreamClient.port)
            var settings = EmbedderSettings()
            settings.type = .openai
            settings.baseURL = "http://127.0.0.1:\(port)/moved/v1"
            settings.model = "fake-embed"
            settings.dimensions = 16
            settings.timeoutSeconds = 5
            let embedder = try #require(try Sealgate.makeEmbedder(settings)).embedder
            await #expect(throws: (any Error).self) { _ = try await embedder.embed(["the question, in confidence"]) }
            #expect(seen.bodies.withLock { $0 }.isEmpty, "the texts were re-sent to the redirect's location")
            // The same embedder at the endpoint itself works (the redirect, not the client, failed the call).
            settings.baseURL = "http://127.0.0.1:\(port)/v1"
            let direct = try #require(try Sealgate.makeEmbedder(settings)).embedder
            #expect(try await direct.embed(["a text"]).first?.count == 16)
        }
    }

    @Test("An OpenAI-compatible embedder indexes permitted classes and is refused the others")
    func upstreamEmbedder() async throws {
        try await Self.withUpstream(embedder: true) { seen, fixture, client in
        let created = try await client.send(.post, "/v1/collections/handbook/documents", key: Keys.acme, json: documentJSON(id: "zoo", text: "Zebras and zebus live in the zoo."))
        #expect(created.status == .created)
        let answer = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("Which animals live in the zoo?"))
        #expect((answer.object["citations"] as? [[String: Any]])?.first?["document_id"] as? String == "zoo")
        let refused = try await client.send(.post, "/v1/collections/clinical/documents", key: Keys.acme, json: documentJSON(text: "Restricted notes.", dataClass: "restricted"))
        #expect(refused.problemType == "urn:sealgate:problem:model_not_permitted")
        // A question at a class the remote embedder may not see never leaves for it.
        let before = seen.bodies.withLock { $0.count }
        let question = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("secret restricted question", dataClass: "restricted", scope: ["handbook"]))
        #expect(question.problemType == "urn:sealgate:problem:model_not_permitted")
        #expect(seen.bodies.withLock { $0.count } == before)
        }
    }
}
