import Audit
import Crypto
import Foundation
import Gateway
import HTTPTypes
import HummingbirdTesting
import SealgateCore
import Testing

@testable import SealgateServer

/// Per-response receipts: every answer names its record, and the record's proof verifies offline.
@Suite("Receipts: Sealgate-Receipt on answers, tlog-proofs from GET /v1/receipts/{index}")
struct ReceiptTests {
    static let auditor = "sg_test_auditor_key_0123456789"
    static let receiptField = HTTPField.Name("Sealgate-Receipt")!

    static func fixture() throws -> Fixture {
        var config = testConfiguration()
        config += "\naudit:\n  origin: test.sealgate/audit\n  auditor_api_key_sha256: [\(Gateway.hashAPIKey(auditor))]\n"
        return try Fixture(config: config)
    }

    /// Fetches the proof of `receipt`'s record (retrying while no checkpoint covers it) and verifies it offline.
    static func verify(_ receipt: Receipt, key: NoteVerifier, client: any TestClientProtocol, as apiKey: String) async throws -> VerifiedReceipt {
        let answer = try await client.send(.get, "/v1/receipts/\(receipt.index)", key: apiKey)
        #expect(answer.status == .ok, "\(answer.text)")
        #expect(answer.headers[.contentType]?.hasPrefix("text/plain") == true)
        let proof = try TlogProof(parsing: answer.text)
        #expect(proof.encoded == answer.text)
        return try AuditVerifier.verifyReceipt(proof, log: key, receipt: receipt)
    }

    @Test("Query, chat and streamed chat each carry a receipt whose proof verifies and names the request and question")
    func answersCarryReceipts() async throws {
        let fixture = try Self.fixture()
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { _, client in
            try await client.send(
                .post, "/v1/collections/handbook/documents", key: Keys.acme, json: documentJSON(id: "p", text: "Visitors park on level two of the east garage."))
            let key = try NoteVerifier(encoded: try await client.send(.get, "/audit/key", key: nil).text)
            let keyAnswer = try await client.send(.get, "/v1/receipts/key", key: Keys.acme)
            #expect(keyAnswer.headers[.cacheControl] == "no-store")
            let keyText = try #require(keyAnswer.object["key"] as? String)
            let questionKey = try #require(Data(base64Encoded: keyText))

            let question = "Where do visitors park?"
            let query = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON(question))
            #expect(query.status == .ok)
            let header = try #require(query.headers[Self.receiptField])
            let receipt = try Receipt(header: header)
            #expect(receipt.origin == "test.sealgate/audit")
            #expect(UInt64(query.auditIndex ?? -1) == receipt.index)
            #expect((query.object["audit"] as? [String: Any])?["receipt"] as? String == header)
            let verified = try await Self.verify(receipt, key: key, client: client, as: Keys.acme)
            let record = try #require(verified.leaf?.record)
            #expect(record.kind == .query && record.outcome == .allowed && record.tenant == "acme")
            let expected = "hmac-sha256:" + Hex.encode(HMAC<SHA256>.authenticationCode(for: Data(question.utf8), using: SymmetricKey(data: questionKey)))
            #expect(record.questionDigest == expected)
            // An auditor may read it too.
            _ = try await Self.verify(receipt, key: key, client: client, as: Self.auditor)

            let headers: HTTPFields = [HTTPField.Name("Sealgate-Data-Class")!: "internal", HTTPField.Name("Sealgate-Scope")!: "handbook"]
            let body = #"{"model":"extractive","messages":[{"role":"user","content":"Where do visitors park?"}]}"#
            let chat = try await client.send(.post, "/v1/chat/completions", key: Keys.acme, json: body, headers: headers)
            let chatReceipt = try Receipt(header: try #require(chat.headers[Self.receiptField]))
            #expect(chat.object["id"] as? String == "chatcmpl-\(chatReceipt.requestID)")
            #expect(try await Self.verify(chatReceipt, key: key, client: client, as: Keys.acme).leaf?.record.kind == .chat)

            let streamed = try await client.send(
                .post, "/v1/chat/completions", key: Keys.acme, json: body.replacingOccurrences(of: #""messages""#, with: #""stream":true,"messages""#),
                headers: headers)
            let start = try Receipt(header: try #require(streamed.headers[Self.receiptField]))
            let chunks = streamed.text.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }.compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8))) as? [String: Any]
            }
            let closing = try #require(chunks.last)
            #expect((closing["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String == "stop")
            let trailer = try #require(((closing["sealgate"] as? [String: Any])?["audit"] as? [String: Any])?["receipt"] as? String)
            let end = try Receipt(header: trailer)
            #expect(end.index > start.index && end.requestID == start.requestID)
            let endRecord = try #require(try await Self.verify(end, key: key, client: client, as: Keys.acme).leaf?.record)
            #expect(endRecord.kind == .chatCompletion && endRecord.outcome == .allowed && endRecord.questionDigest == expected)
        }
    }

    @Test("Another tenant's record, an index beyond the log and a malformed index are the same 404; no credential is 401; each refusal is audited and counted")
    func refusals() async throws {
        let fixture = try Self.fixture()
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { _, client in
            let query = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("Anything?"))
            let receipt = try Receipt(header: try #require(query.headers[Self.receiptField]))
            let foreign = try await client.send(.get, "/v1/receipts/\(receipt.index)", key: Keys.globex)
            // Another principal of the same tenant (who holds the tenant's question key) does not get it either.
            let colleague = try await client.send(.get, "/v1/receipts/\(receipt.index)", key: Keys.acmeReader)
            #expect(colleague.status == .notFound && colleague.text == foreign.text)
            let beyond = try await client.send(.get, "/v1/receipts/99999", key: Keys.acme)
            let malformed = try await client.send(.get, "/v1/receipts/-1", key: Keys.acme)
            for answer in [foreign, beyond, malformed] {
                #expect(answer.status == .notFound)
                #expect(answer.problemType == "urn:sealgate:problem:not_found")
                #expect(answer.text == foreign.text)
            }
            let anonymous = try await client.send(.get, "/v1/receipts/\(receipt.index)", key: nil)
            #expect(anonymous.status == .unauthorized)
            let auditorKey = try await client.send(.get, "/v1/receipts/key", key: Self.auditor)
            #expect(auditorKey.status == .notFound)

            // Each refusal names the audit record written for it: kind audit_read, the reason, the caller's tenant
            // (none for an auditor or without a credential), and nothing of the record asked for.
            let expected: [(TestResponse, tenant: String, reason: String)] = [
                (foreign, "globex", "not_found"), (colleague, "acme", "not_found"), (beyond, "acme", "not_found"), (malformed, "acme", "not_found"),
                (anonymous, "-", "missing_credentials"), (auditorKey, "-", "not_found"),
            ]
            for (answer, tenant, reason) in expected {
                let index = try #require(answer.auditIndex, "no Sealgate-Audit-Index on a \(answer.status) refusal")
                let record = try #require(try fixture.auditRecord(index))
                #expect(record["kind"] as? String == "audit_read")
                #expect(record["outcome"] as? String == "denied")
                #expect(record["reason"] as? String == reason)
                #expect(record["tenant"] as? String == tenant)
                #expect(!String(describing: record).contains(receipt.requestID), "the refusal's record names the record it refused")
            }
            let metrics = try await client.send(.get, "/metrics", key: nil).text
            for line in [
                #"sealgate_denials_total{reason="not_found",tenant="globex",data_class="-",route="audit_read"} 1"#,
                #"sealgate_denials_total{reason="not_found",tenant="acme",data_class="-",route="audit_read"} 3"#,
                #"sealgate_denials_total{reason="not_found",tenant="-",data_class="-",route="audit_read"} 1"#,
                #"sealgate_denials_total{reason="missing_credentials",tenant="-",data_class="-",route="audit_read"} 1"#,
            ] {
                #expect(metrics.contains(line), "\(line) not in /metrics")
            }
        }
    }

    @Test("A proof that was tampered with, or shown for another receipt, does not verify")
    func tamperedProofsFail() async throws {
        let fixture = try Self.fixture()
        defer { fixture.remove() }
        try await withLiveGateway(fixture) { _, client in
            let key = try NoteVerifier(encoded: try await client.send(.get, "/audit/key", key: nil).text)
            var receipts: [Receipt] = []
            for n in 0..<5 {
                let query = try await client.send(.post, "/v1/query", key: Keys.acme, json: queryJSON("question \(n)"))
                receipts.append(try Receipt(header: try #require(query.headers[Self.receiptField])))
            }
            let text = try await client.send(.get, "/v1/receipts/\(receipts[2].index)", key: Keys.acme).text
            let proof = try TlogProof(parsing: text)
            _ = try AuditVerifier.verifyReceipt(proof, log: key, receipt: receipts[2])
            // Shown for another receipt.
            #expect(throws: AuditError.self) { try AuditVerifier.verifyReceipt(proof, log: key, receipt: receipts[3]) }
            // A flipped proof hash, another index, an edited entry, a checkpoint signed by another key.
            var hashes = proof.proof
            hashes[0] = Data(hashes[0].reversed())
            let entry = try #require(proof.extra)
            let edited = Data(String(decoding: entry, as: UTF8.self).replacingOccurrences(of: "\"acme\"", with: "\"acmf\"").utf8)
            let other = NoteSigner(name: "test.sealgate/audit", key: .init())
            let forged = try other.sign(try Checkpoint(body: try key.open(proof.checkpoint)).body)
            let tampered = [
                TlogProof(extra: proof.extra, index: proof.index, proof: hashes, checkpoint: proof.checkpoint),
                TlogProof(extra: proof.extra, index: proof.index + 1, proof: proof.proof, checkpoint: proof.checkpoint),
                TlogProof(extra: edited, index: proof.index, proof: proof.proof, checkpoint: proof.checkpoint),
                TlogProof(extra: proof.extra, index: proof.index, proof: proof.proof, checkpoint: forged),
            ]
            for bad in tampered {
                #expect(throws: AuditError.self) { try AuditVerifier.verifyReceipt(bad, log: key) }
            }
            #expect(throws: AuditError.self) { try TlogProof(parsing: text.replacingOccurrences(of: "index ", with: "index 0")) }
            #expect(throws: AuditError.self) { try Receipt(header: "log=\"x\", index=1") }
        }
    }
}
