import Foundation
import HTTPTypes
import HummingbirdTesting
import SealgateConfig
import Testing

@testable import SealgateServer

@Suite("Redaction configured per data class and tenant")
struct RedactionConfigTests {
    static let redaction = """
        redaction:
          profiles:
            - name: finance
              actions: {CREDIT_CARD: partial_mask, EMAIL: hash_token, PROJECT: mask, TICKET: drop}
          tenants:
            - tenant: acme
              dictionaries: [{label: PROJECT, terms: [Zephyr, Bluebird]}]
              patterns: [{label: TICKET, pattern: "INV\\\\d{8}"}]
        """

    static func config() -> String {
        testConfiguration(retrieval: redaction).replacingOccurrences(
            of: "  - name: confidential\n    models: [extractive]\n    redaction_profile: all",
            with: "  - name: confidential\n    models: [extractive]\n    redaction_profile: finance")
    }

    @Test("A class's configured profile applies its actions; tenant dictionaries and patterns apply to that tenant only")
    func profilesAndTenantDetectors() async throws {
        let fixture = try Fixture(config: Self.config())
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { _, client in
            let text = "Project Zephyr billing: card 4111 1111 1111 1111 for ticket INV12345678, contact ops@acme.example about Zephyr billing."
            for key in [Keys.acme, Keys.globex] {
                try await client.send(.post, "/v1/collections/deals/documents", key: key, json: documentJSON(id: "z", text: text, dataClass: "confidential"))
            }
            let acme = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("What about Zephyr billing card ticket contact?", dataClass: "confidential", scope: ["deals"]))
            let answer = try #require(acme.object["answer"] as? String)
            #expect(answer.contains("**** **** **** 1111"), "\(answer)")
            #expect(!answer.contains("Zephyr"))
            #expect(answer.contains("[PROJECT]"))
            #expect(!answer.contains("INV12345678"))
            #expect(!answer.contains("ops@acme.example"))
            let token = try #require(answer.range(of: #"\[EMAIL:[0-9a-f]{8}\]"#, options: .regularExpression).map { String(answer[$0]) })
            let again = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("What about Zephyr billing card ticket contact?", dataClass: "confidential", scope: ["deals"]))
            #expect((again.object["answer"] as? String)?.contains(token) == true, "hash tokens are stable for correlation")
            let counts = acme.object["redactions"] as? [String: Int]
            #expect(counts?["PROJECT"] == 2 && counts?["TICKET"] == 1 && counts?["CREDIT_CARD"] == 1 && counts?["EMAIL"] == 1)

            let globex = try await client.send(.post, "/v1/query", key: Keys.globex, json: queryJSON("What about Zephyr billing card ticket contact?", dataClass: "confidential", scope: ["deals"]))
            let other = try #require(globex.object["answer"] as? String)
            #expect(other.contains("Zephyr"), "acme's dictionary is not globex's")
            #expect(!other.contains(token), "hash tokens are keyed per tenant")
        }
    }

    @Test("A tenant pattern that does not compile stops start-up with an error naming it")
    func badPattern() throws {
        let config = testConfiguration(retrieval: "redaction:\n  tenants:\n    - tenant: acme\n      patterns: [{label: X, pattern: \"[A-Z\"}]\n")
        let fixture = try Fixture(config: config)
        defer { fixture.remove() }
        let parsed = try ConfigLoader.parse(config, knownRedactionProfiles: Sealgate.redactionProfiles)
        do {
            try Sealgate.checkComponents(parsed)
            Issue.record("a bad pattern was accepted")
        } catch let error as ConfigError {
            #expect(error.issues.first?.path == "redaction.tenants[0].patterns[0].pattern")
            #expect(error.description.contains("[A-Z"))
        }
    }
}
