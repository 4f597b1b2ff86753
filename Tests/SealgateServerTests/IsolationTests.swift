import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import SealgateServer

@Suite("Tenant isolation and plaintext confinement")
struct IsolationTests {
    @Test("No request of one tenant retrieves, cites, lists or deletes another tenant's documents")
    func tenantIsolation() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { _, client in
            let secret = "The Zephyr merger closes on the ninth of March and the escrow agent is Harrowgate Trust."
            let created = try await client.send(.post, "/v1/collections/deals/documents", key: Keys.acme, json: documentJSON(id: "zephyr", title: "Zephyr merger", text: secret, dataClass: "confidential"))
            #expect(created.status == .created)
            try await client.send(.post, "/v1/collections/deals/documents", key: Keys.globex, json: documentJSON(id: "own", title: "Globex deal", text: "Globex buys paper clips in bulk every spring.", dataClass: "confidential"))

            let probe = try await client.send(.post, "/v1/query", key: Keys.globex, json: queryJSON("When does the Zephyr merger close and who is the escrow agent?", dataClass: "restricted", scope: ["deals"]))
            #expect(probe.status == .ok)
            let citations = probe.object["citations"] as? [[String: Any]] ?? []
            #expect(!citations.contains { $0["document_id"] as? String == "zephyr" })
            let retrieved = probe.object["retrieved"] as? [[String: Any]] ?? []
            #expect(!retrieved.contains { $0["document_id"] as? String == "zephyr" })
            #expect(!(probe.object["answer"] as? String ?? "").contains("Harrowgate"))

            let listing = try await client.send(.get, "/v1/collections/deals/documents", key: Keys.globex)
            #expect((listing.object["documents"] as? [[String: Any]])?.map { $0["id"] as? String } == ["own"])

            let delete = try await client.send(.delete, "/v1/collections/deals/documents/zephyr", key: Keys.globex)
            #expect(delete.problemType == "urn:sealgate:problem:document_not_found")
            let still = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("Who is the escrow agent for Zephyr?", dataClass: "confidential", scope: ["deals"]))
            #expect((still.object["answer"] as? String)?.contains("Harrowgate Trust") == true)
        }
    }

    @Test("After ingesting a canary, no file in the data directory and no log line contains it")
    func canaryNeverLeavesMemory() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let canary = "CANARY-7f3a9c1e-plaintext-must-not-persist"
        try await withLiveGateway(fixture) { _, client in
            let text = "Quarterly results mention \(canary) in the outlook section. Revenue grew in every region."
            let created = try await client.send(
                .post, "/v1/collections/reports/documents", key: Keys.acme,
                json: documentJSON(id: "q1", title: "Report \(canary)", text: text, dataClass: "restricted"))
            #expect(created.status == .created)
            let answer = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("What does the outlook section mention?", dataClass: "restricted", scope: ["reports"]))
            #expect((answer.object["answer"] as? String)?.contains(canary) == true)
            let chat = #"{"model":"extractive","stream":true,"messages":[{"role":"user","content":"What does the outlook section mention? \#(canary)"}]}"#
            let headers: HTTPFields = [HTTPField.Name("Sealgate-Data-Class")!: "restricted", HTTPField.Name("Sealgate-Scope")!: "reports"]
            #expect(try await client.send(.post, "/v1/chat/completions", key: Keys.acme, json: chat, headers: headers).status == .ok)
        }
        let needle = Data(canary.utf8)
        let enumerator = FileManager.default.enumerator(atPath: fixture.dir)
        var scanned = 0
        while let relative = enumerator?.nextObject() as? String {
            let path = fixture.dir + "/" + relative
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else { continue }
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            scanned += 1
            #expect(data.range(of: needle) == nil, "canary found in \(relative)")
        }
        #expect(scanned >= 4)
        #expect(!fixture.logs.all.isEmpty)
        #expect(!fixture.logs.all.contains(canary))
        #expect(!fixture.logs.all.contains(Keys.acme))
    }
}
