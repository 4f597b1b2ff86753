import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import SealgateServer

@Suite("Edge cases at the HTTP edge: bearer forms, chat headers and roles")
struct EdgeCaseTests {
    @Test("Bearer scheme in any case is accepted; two Authorization fields are refused as invalid and audited")
    func bearerForms() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { _, client in
            let lower = try await client.executeRequest(
                uri: "/v1/models", method: .get, headers: [.authorization: "bearer \(Keys.acme)"], body: nil)
            #expect(lower.status == .ok)
            var two = HTTPFields()
            two.append(HTTPField(name: .authorization, value: "Bearer \(Keys.acme)"))
            two.append(HTTPField(name: .authorization, value: "Bearer \(Keys.acme)"))
            let doubled = try await client.executeRequest(uri: "/v1/models", method: .get, headers: two, body: nil)
            #expect(doubled.status == .unauthorized)
            #expect(doubled.problemType == "urn:sealgate:problem:invalid_credentials")
            let index = try #require(doubled.auditIndex)
            let record = try #require(try fixture.auditRecord(index))
            #expect(record["kind"] as? String == "models" && record["reason"] as? String == "invalid_credentials")
            let spaced = try await client.executeRequest(
                uri: "/v1/models", method: .get, headers: [.authorization: "Bearer \(Keys.acme) extra"], body: nil)
            #expect(spaced.problemType == "urn:sealgate:problem:invalid_credentials")
        }
    }

    @Test("An empty Sealgate-Model-Policy header counts as absent: the body's model is read (and an unknown one refused)")
    func emptyModelHeader() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { _, client in
            let headers: HTTPFields = [
                HTTPField.Name("Sealgate-Data-Class")!: "internal", HTTPField.Name("Sealgate-Scope")!: "handbook",
                HTTPField.Name("Sealgate-Model-Policy")!: "",
            ]
            let body = #"{"model":"not-a-profile","messages":[{"role":"user","content":"remote work?"}]}"#
            let response = try await client.send(.post, "/v1/chat/completions", key: Keys.acme, json: body, headers: headers)
            #expect(response.status == .badRequest)
            #expect(response.problemType == "urn:sealgate:problem:unknown_model_profile")
        }
    }

    @Test("A chat message role outside OpenAI's is a malformed request")
    func unknownRole() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { _, client in
            let headers: HTTPFields = [HTTPField.Name("Sealgate-Data-Class")!: "internal", HTTPField.Name("Sealgate-Scope")!: "handbook"]
            let body = #"{"model":"extractive","messages":[{"role":"wizard","content":"hi"}]}"#
            let response = try await client.send(.post, "/v1/chat/completions", key: Keys.acme, json: body, headers: headers)
            #expect(response.status == .badRequest)
            #expect(response.problemType == "urn:sealgate:problem:malformed_request")
        }
    }
}
