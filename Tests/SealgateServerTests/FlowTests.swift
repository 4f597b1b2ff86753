import AsyncHTTPClient
import Foundation
import NIOCore
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import SealgateServer

@Suite("End-to-end request path over HTTP")
struct FlowTests {
    @Test("Demo mode seeds both tenants idempotently and writes their credentials")
    func demoSeedIsIdempotent() async throws {
        let fixture = try Fixture(config: "")
        try FileManager.default.removeItem(atPath: fixture.dir + "/sealgate.yaml")
        defer { fixture.remove() }
        try await withLiveGateway(fixture, options: fixture.options(demo: true)) { _, client in
            let creds = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture.dir + "/demo-credentials.json"))) as? [String: Any]
            let tenants = creds?["tenants"] as? [String: [String: String]]
            let acme = try #require(tenants?["acme"]?["api_key"])
            #expect(tenants?["globex"]?["api_key"] != nil)
            let listing = try await client.send(.get, "/v1/collections/handbook/documents", key: acme)
            #expect(listing.status == .ok)
            #expect((listing.object["documents"] as? [[String: Any]])?.count == 2)
            let answer = try await client.send(.post, "/v1/query", key: acme, json: queryJSON("How many remote days per week?"))
            #expect(answer.status == .ok)
            #expect((answer.object["answer"] as? String)?.contains("three days per week") == true)
        }
        // A second start seeds nothing new and keeps the same keys.
        let before = try String(contentsOfFile: fixture.dir + "/demo-credentials.json", encoding: .utf8)
        try await withLiveGateway(fixture, options: fixture.options(demo: true)) { instance, _ in
            let docs = await instance.gateway.documents.hasDocument(tenant: .init(unchecked: "acme"), collection: .init(unchecked: "clinical"), id: .init(unchecked: "sepsis-protocol"))
            #expect(docs)
        }
        #expect(try String(contentsOfFile: fixture.dir + "/demo-credentials.json", encoding: .utf8) == before)
        let ingests = try fixture.auditRecords().filter { ($0["record"] as? [String: Any])?["kind"] as? String == "ingest" }
        #expect(ingests.count == 5)
    }

    @Test("Demo documents are seeded once; a class whose key is withheld is skipped without a refused ingest")
    func demoSeededOnce() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await withLiveGateway(fixture, options: fixture.options(demo: true)) { instance, _ in
            let seeder = DemoSeeder(gateway: instance.gateway, configuration: instance.configuration)
            let first = try await seeder.seedOnce()
            #expect(first == 0)  // the start-up already stored them all
            // One demo document gone, then every key lost: seeding it again would write a refused ingest.
            let caller = try #require(instance.gateway.credentials.identity(for: Keys.acme))
            let deleted = await instance.gateway.documents.delete(
                id: .init(unchecked: "sepsis-protocol"), collection: .init(unchecked: "clinical"), caller: caller, requestID: "t")
            #expect((try? deleted.get()) != nil)
            let records = try fixture.auditRecords().count
            await instance.leases.drop()
            let second = DemoSeeder(gateway: instance.gateway, configuration: instance.configuration)
            await instance.gateway.index.clear()
            #expect(try await second.seedOnce() == 0)
            #expect(try await seeder.seedOnce() == 0)
            let after = try fixture.auditRecords().compactMap { $0["record"] as? [String: Any] }
            #expect(after.count == records, "seeding without keys wrote records")
            #expect(!after.contains { $0["kind"] as? String == "ingest" && $0["outcome"] as? String == "denied" })
        }
    }

    @Test("Ingest, list, query with citations and audit index, delete")
    func documentLifecycle() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { _, client in
            let text = "The cafeteria opens at 7:30 and serves vegetarian lunch every Thursday. Parking permits are issued by facilities."
            let created = try await client.send(.post, "/v1/collections/handbook/documents", key: Keys.acme, json: documentJSON(id: "cafeteria", title: "Cafeteria", text: text))
            #expect(created.status == .created)
            #expect(created.object["chunks"] as? Int == 1)
            #expect(created.object["kek_version"] as? Int == 1)
            #expect(created.auditIndex != nil)

            let listing = try await client.send(.get, "/v1/collections/handbook/documents", key: Keys.acme)
            let docs = listing.object["documents"] as? [[String: Any]]
            #expect(docs?.map { $0["id"] as? String } == ["cafeteria"])
            #expect(docs?.first?["title"] as? String == "Cafeteria")

            let answer = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("When is vegetarian lunch served?"))
            #expect(answer.status == .ok)
            #expect((answer.object["answer"] as? String)?.contains("vegetarian lunch every Thursday") == true)
            let citations = answer.object["citations"] as? [[String: Any]]
            #expect(citations?.first?["document_id"] as? String == "cafeteria")
            #expect(citations?.first?["chunk_index"] as? Int == 0)
            let retrieved = answer.object["retrieved"] as? [[String: Any]]
            #expect(retrieved?.first?["document_id"] as? String == "cafeteria")
            let index = try #require(answer.auditIndex)
            #expect((answer.object["audit"] as? [String: Any])?["index"] as? Int == index)
            let record = try #require(try fixture.auditRecord(index))
            #expect(record["kind"] as? String == "query")
            #expect(record["outcome"] as? String == "allowed")
            #expect(record["keyIDs"] as? [String] == ["acme/kek/internal#1"])
            #expect(record["attestationStatus"] as? String == "warning")

            let none = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("Which submarine colour is preferred?"))
            #expect((none.object["answer"] as? String)?.hasPrefix("I found nothing relevant") == true)

            let deleted = try await client.send(.delete, "/v1/collections/handbook/documents/cafeteria", key: Keys.acme)
            #expect(deleted.status == .noContent)
            let after = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("When is vegetarian lunch served?"))
            #expect((after.object["citations"] as? [Any])?.isEmpty == true)
            #expect((after.object["retrieved"] as? [Any])?.isEmpty == true)
            let again = try await client.send(.delete, "/v1/collections/handbook/documents/cafeteria", key: Keys.acme)
            #expect(again.problemType == "urn:sealgate:problem:document_not_found")
        }
    }

    @Test("`retrieved` lists at most top_k passages, best first, and includes every cited one")
    func retrievedPassages() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { _, client in
            let texts = [
                "lunch": "Vegetarian lunch is served in the cafeteria every Thursday at noon.",
                "lunch-menu": "The cafeteria lunch menu changes weekly; vegetarian dishes are marked.",
                "parking": "Parking permits for the garage are issued by facilities once a year.",
                "badges": "Visitor badges are printed at reception; lunch guests need one too.",
            ]
            for (id, text) in texts.sorted(by: { $0.key < $1.key }) {
                let created = try await client.send(.post, "/v1/collections/handbook/documents", key: Keys.acme, json: documentJSON(id: id, title: id, text: text))
                #expect(created.status == .created)
            }
            let answer = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("When is vegetarian lunch served in the cafeteria?", topK: 2))
            #expect(answer.status == .ok)
            let retrieved = try #require(answer.object["retrieved"] as? [[String: Any]])
            #expect(retrieved.count == 2)
            let scores = retrieved.compactMap { $0["score"] as? Double }
            #expect(scores.count == 2 && scores == scores.sorted(by: >))
            #expect(Set(retrieved.compactMap { $0["document_id"] as? String }) == ["lunch", "lunch-menu"])
            let cited = (answer.object["citations"] as? [[String: Any]] ?? []).compactMap { $0["document_id"] as? String }
            #expect(!cited.isEmpty)
            #expect(cited.allSatisfy { id in retrieved.contains { $0["document_id"] as? String == id } })
            #expect(retrieved.allSatisfy { $0["text"] == nil })

            let wide = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("When is vegetarian lunch served in the cafeteria?", topK: 50))
            let all = (wide.object["retrieved"] as? [[String: Any]] ?? []).compactMap { $0["document_id"] as? String }
            #expect(Array(all.prefix(2)) == retrieved.compactMap { $0["document_id"] as? String })
            #expect(all.count <= texts.count)
        }
    }

    @Test("Each chunk is embedded with its document's title in front; passages and answers hold the chunk text alone")
    func titleHeader() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { _, client in
            // The same text under two titles: without the header both chunks embed alike and tie (broken by document
            // id, "a-canteen" first); with it, the question that names only "bicycle storage" ranks "b-bikes" first and
            // strictly higher.
            let text = "Racks stand behind building C; bring your own lock."
            for (id, title) in [("a-canteen", "Cafeteria"), ("b-bikes", "Bicycle storage")] {
                let created = try await client.send(.post, "/v1/collections/handbook/documents", key: Keys.acme, json: documentJSON(id: id, title: title, text: text))
                #expect(created.status == .created)
            }
            let byTitle = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("Where is the bicycle storage?", topK: 50))
            #expect(byTitle.status == .ok)
            let retrieved = byTitle.object["retrieved"] as? [[String: Any]] ?? []
            #expect(retrieved.compactMap { $0["document_id"] as? String } == ["b-bikes", "a-canteen"])
            let scores = retrieved.compactMap { ($0["score"] as? NSNumber)?.doubleValue }
            #expect(scores.count == 2 && scores[0] > scores[1], "\(scores)")
            // The stored chunk is the text alone: the answer quotes it without the title.
            let byText = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("Where do the racks stand?", topK: 1))
            let answer = byText.object["answer"] as? String ?? ""
            #expect(answer.contains("Racks stand behind building C"))
            #expect(!answer.contains("Bicycle storage"))
        }
    }

    @Test("Chat completions answer in OpenAI's shape, streamed and not, with redaction")
    func chatCompletions() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { _, client in
            let text = "Badge problems are handled by the front desk. Write to frontdesk@acme.example or call +1 415 555 0188 for a replacement badge."
            try await client.send(.post, "/v1/collections/handbook/documents", key: Keys.acme, json: documentJSON(id: "badges", text: text))
            let body = #"{"model":"extractive","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"Who handles a replacement badge?"}]}"#
            let headers: HTTPFields = [HTTPField.Name("Sealgate-Data-Class")!: "internal", HTTPField.Name("Sealgate-Scope")!: "handbook"]
            let plain = try await client.send(.post, "/v1/chat/completions", key: Keys.acme, json: body, headers: headers)
            #expect(plain.status == .ok)
            #expect(plain.object["object"] as? String == "chat.completion")
            let choice = (plain.object["choices"] as? [[String: Any]])?.first
            let content = try #require((choice?["message"] as? [String: Any])?["content"] as? String)
            #expect(content.contains("[EMAIL]") && content.contains("[PHONE]"))
            #expect(!content.contains("frontdesk@acme.example"))
            #expect(plain.auditIndex != nil)
            let sealgate = plain.object["sealgate"] as? [String: Any]
            #expect((sealgate?["redactions"] as? [String: Int])?["EMAIL"] == 1)

            let streamBody = body.replacingOccurrences(of: #""messages""#, with: #""stream":true,"messages""#)
            let streamed = try await client.send(.post, "/v1/chat/completions", key: Keys.acme, json: streamBody, headers: headers)
            #expect(streamed.status == .ok)
            #expect(streamed.headers[.contentType] == "text/event-stream")
            #expect(streamed.auditIndex != nil)
            let events = streamed.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.last == "data: [DONE]")
            var joined = ""
            for event in events.dropLast() {
                let payload = try #require(event.hasPrefix("data: ") ? String(event.dropFirst(6)) : nil)
                let chunk = try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any]
                #expect(chunk?["object"] as? String == "chat.completion.chunk")
                let delta = (chunk?["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any]
                joined += delta?["content"] as? String ?? ""
            }
            #expect(joined == content)
            let records = try fixture.auditRecords().compactMap { $0["record"] as? [String: Any] }
            #expect(records.contains { $0["kind"] as? String == "chat_completion" && ($0["redactions"] as? [String: Int])?["PHONE"] == 1 })

            let models = try await client.send(.get, "/v1/models", key: Keys.acme)
            #expect((models.object["data"] as? [[String: Any]])?.map { $0["id"] as? String } == ["extractive"])
            // The hashing embedder has no sealed artifact: named, without a digest; no profile pins a model digest.
            let embedder = models.object["embedder"] as? [String: Any]
            #expect((embedder?["id"] as? String)?.hasPrefix("sealgate-hash-v1-") == true && embedder?["digest"] == nil)
            #expect((models.object["data"] as? [[String: Any]])?.allSatisfy { $0["digest"] == nil } == true)
        }
    }

    @Test("Health, readiness and Prometheus metrics")
    func probes() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { _, client in
            #expect(try await client.send(.get, "/healthz", key: nil).status == .ok)
            let ready = try await client.send(.get, "/readyz", key: nil)
            #expect(ready.status == .ok)
            #expect(ready.object["status"] as? String == "ready")
            try await client.send(.post, "/v1/query", key: "wrong", json: queryJSON("x"))
            let metrics = try await client.send(.get, "/metrics", key: nil)
            #expect(metrics.text.contains(#"sealgate_denials_total{reason="invalid_credentials""#))
            #expect(metrics.text.contains(#"sealgate_key_release_total{tenant="acme",resource_type="kek",decision="granted",reason="granted",tee="mock"}"#))
        }
    }
}

@Suite("Concurrency")
struct ConcurrencyTests {
    @Test("Concurrent ingests and queries all succeed and every document is stored")
    func concurrentIngest() async throws {
        let fixture = try Fixture(config: testConfiguration(bodyLimit: 1 << 20))
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { instance, client in
            let port = try #require(client.port)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for n in 0..<24 {
                    group.addTask {
                        let text = String(repeating: "Item \(n) is stored in aisle \(n) next to the loading dock. ", count: 40)
                        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/collections/stock/documents")
                        request.method = .POST
                        request.headers.add(name: "Authorization", value: "Bearer \(Keys.acme)")
                        request.body = .bytes(ByteBuffer(string: documentJSON(id: "item-\(n)", text: text)))
                        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                        _ = try await response.body.collect(upTo: 1 << 20)
                        #expect(response.status.code == 201)
                    }
                }
                try await group.waitForAll()
            }
            let listing = try await client.send(.get, "/v1/collections/stock/documents", key: Keys.acme)
            #expect((listing.object["documents"] as? [Any])?.count == 24)
            _ = instance
        }
    }
}

