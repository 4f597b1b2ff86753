import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import SealgateServer

@Suite("Every denial has its problem type, an audit record and a metric, and changes nothing stored")
struct DenialTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let method: HTTPRequest.Method
        let uri: String
        let key: String?
        let body: String?
        let type: String
        let status: HTTPResponse.Status
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "missing API key", method: .post, uri: "/v1/query", key: nil, body: queryJSON("q"), type: "missing_credentials", status: .unauthorized),
        Case(name: "wrong API key", method: .post, uri: "/v1/query", key: "sg_not_a_key", body: queryJSON("q"), type: "invalid_credentials", status: .unauthorized),
        Case(name: "malformed JSON", method: .post, uri: "/v1/query", key: Keys.acme, body: "{\"question\": ", type: "malformed_request", status: .badRequest),
        Case(name: "wrong JSON shape", method: .post, uri: "/v1/query", key: Keys.acme, body: "{\"question\": 3}", type: "malformed_request", status: .badRequest),
        Case(name: "unknown data class", method: .post, uri: "/v1/query", key: Keys.acme, body: queryJSON("q", dataClass: "top-secret"), type: "unknown_data_class", status: .badRequest),
        Case(name: "unknown model profile", method: .post, uri: "/v1/query", key: Keys.acme, body: queryJSON("q", model: "gpt-unknown"), type: "unknown_model_profile", status: .badRequest),
        Case(name: "empty question", method: .post, uri: "/v1/query", key: Keys.acme, body: queryJSON("   "), type: "empty_question", status: .badRequest),
        Case(name: "scope the principal may not read", method: .post, uri: "/v1/query", key: Keys.acmeReader, body: queryJSON("q", scope: ["handbook", "clinical"]), type: "scope_not_permitted", status: .forbidden),
        Case(name: "data class the principal may not use", method: .post, uri: "/v1/query", key: Keys.acmeReader, body: queryJSON("q", dataClass: "restricted"), type: "data_class_not_permitted", status: .forbidden),
        Case(name: "empty scope", method: .post, uri: "/v1/query", key: Keys.acme, body: queryJSON("q", scope: []), type: "scope_not_permitted", status: .forbidden),
        Case(name: "write without write grant", method: .post, uri: "/v1/collections/handbook/documents", key: Keys.acmeReader, body: documentJSON(text: "x"), type: "write_not_permitted", status: .forbidden),
        Case(name: "ingest with unknown class", method: .post, uri: "/v1/collections/handbook/documents", key: Keys.acme, body: documentJSON(text: "x", dataClass: "nope"), type: "unknown_data_class", status: .badRequest),
        Case(name: "empty document", method: .post, uri: "/v1/collections/handbook/documents", key: Keys.acme, body: documentJSON(text: " "), type: "empty_document", status: .badRequest),
        Case(name: "body over the limit", method: .post, uri: "/v1/collections/handbook/documents", key: Keys.acme, body: documentJSON(text: String(repeating: "lorem ipsum ", count: 600)), type: "body_too_large", status: .contentTooLarge),
        Case(name: "chat without data class header", method: .post, uri: "/v1/chat/completions", key: Keys.acme, body: #"{"model":"extractive","messages":[{"role":"user","content":"hi"}]}"#, type: "unknown_data_class", status: .badRequest),
    ]

    @Test("Denied request", arguments: cases)
    func denial(_ c: Case) async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { _, client in
            let seed = try await client.send(.post, "/v1/collections/handbook/documents", key: Keys.acme, json: documentJSON(id: "keep", text: "The archive room is on the third floor."))
            #expect(seed.status == .created)
            let response = try await client.send(c.method, c.uri, key: c.key, json: c.body)
            #expect(response.status == c.status)
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(response.problemType == "urn:sealgate:problem:\(c.type)")
            #expect(response.object["status"] as? Int == Int(c.status.code))
            let index = try #require(response.auditIndex)
            let record = try #require(try fixture.auditRecord(index))
            #expect(record["outcome"] as? String == "denied")
            #expect(record["reason"] as? String == c.type)
            let metrics = try await client.send(.get, "/metrics", key: nil)
            #expect(metrics.text.contains("sealgate_denials_total{reason=\"\(c.type)\""))
            let listing = try await client.send(.get, "/v1/collections/handbook/documents", key: Keys.acme)
            #expect((listing.object["documents"] as? [[String: Any]])?.map { $0["id"] as? String } == ["keep"])
        }
    }

    @Test("Unknown routes get a problem document")
    func unknownRoute() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { _, client in
            let response = try await client.send(.get, "/v2/nothing", key: Keys.acme)
            #expect(response.status == .notFound)
            #expect(response.problemType == "urn:sealgate:problem:not_found")
        }
    }
}
