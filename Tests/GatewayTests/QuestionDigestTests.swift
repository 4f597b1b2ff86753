import Foundation
import Gateway
import SealgateCore
import Testing

/// Review finding: without the tenant's secret (a broker that never provisioned it, or a release policy covering
/// only KEKs) an answered question was recorded as its plain SHA-256, which anyone reading the audit log could
/// confirm a guess against.
@Suite("Audit: a question's digest is keyed or absent")
struct QuestionDigestTests {
    @Test("With the tenant's secret leased the question, scope and chunk-id digests are HMACs; with only its KEKs leased there are none")
    func keyedOrAbsent() async throws {
        for secretLeased in [true, false] {
            let h = try await Harness.make()
            defer { Task { await h.close() } }
            #expect(await h.leases.acquire(resources: h.gateway.keyRing.resources, secrets: secretLeased ? h.gateway.keyRing.secretResources : []))
            _ = await h.ingest("doc", "The lantern festival starts at dusk.")
            #expect(await h.retrieved("When does the lantern festival start?", topK: 1) == ["doc"])
            let record = try #require(h.audit.all.last { $0.kind == .query })
            for digest in [record.questionDigest, record.scopeDigest, record.chunkIDsDigest] {
                if secretLeased {
                    #expect(digest?.hasPrefix("hmac-sha256:") == true)
                } else {
                    #expect(digest == nil, "\(digest ?? "")")
                }
            }
        }
    }
}
