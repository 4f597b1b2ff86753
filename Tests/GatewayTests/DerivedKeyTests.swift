import Crypto
import Foundation
import Gateway
import KeyBroker
import SealgateCore
import SealgateTestSupport
import Synchronization
import Testing

/// Issue #17 item 4: the keys derived from a tenant's leased secret (audit and question digests, redaction hash
/// tokens) and the tenant's redactor are kept across requests — and never outlive the secret they came from: a secret
/// replaced under the same name, a shredded tenant and a dropped lease each take them away.
@Suite("Derived tenant keys and redactors: cached, and gone with their secret")
struct DerivedKeyTests {
    /// A factory that records the token key of every redactor it builds.
    final class RecordingRedactors: RedactorFactory {
        let built = Mutex<[Data?]>([])
        func hasProfile(_ name: String) -> Bool { true }
        func redactor(tenant: TenantID, tokenKey: Data?) -> any OutputRedactor {
            built.withLock { $0.append(tokenKey) }
            return NoRedaction()
        }
        var keys: [Data?] { built.withLock { $0 } }
    }

    static func derived(_ secret: Data, _ use: String) -> Data {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: secret), salt: Data("sealgate-tenant-secret-v2".utf8), info: Data(use.utf8), outputByteCount: 32
        ).withUnsafeBytes { Data($0) }
    }

    static func questionDigest(_ question: String, key: Data) -> String {
        "hmac-sha256:" + Hex.encode(HMAC<SHA256>.authenticationCode(for: Data(question.utf8), using: SymmetricKey(data: key)))
    }

    static let secretPath = "acme/secret/\(KeyRing.tenantSecretName)"

    @Test("Three answers build one redactor; a secret replaced under the same name changes the question key, the digests and the token key")
    func replacedSecret() async throws {
        let factory = RecordingRedactors()
        let h = try await Harness.make(redactors: factory)
        defer { Task { await h.close() } }
        #expect(await h.lease())
        _ = try await h.ingest("wifi", "The guest Wi-Fi password rotates every Monday.").get()
        let secret = try #require(await h.leases.secret(Self.secretPath))
        #expect(await h.gateway.keyRing.questionKey(for: Harness.acme) == Self.derived(secret, "question-digest"))
        for _ in 0..<3 { #expect(await h.retrieved("When does the Wi-Fi password rotate?")?.isEmpty == false) }
        #expect(factory.keys == [Self.derived(secret, "redaction-token")])
        let question = "When does the Wi-Fi password rotate?"
        #expect(h.audit.all.last?.questionDigest == Self.questionDigest(question, key: Self.derived(secret, "question-digest")))

        let admin = try await h.broker.authenticate(try #require(try await h.broker.bootstrapAdmin())).get()
        let replacement = Data((0..<32).map { UInt8($0) &* 7 &+ 1 })
        _ = try await h.broker.putSecret(tenant: "acme", name: KeyRing.tenantSecretName, value: replacement, by: admin).get()
        #expect(await h.lease())
        #expect(await h.leases.secret(Self.secretPath) == replacement)
        #expect(await h.gateway.keyRing.questionKey(for: Harness.acme) == Self.derived(replacement, "question-digest"))
        #expect(await h.retrieved(question)?.isEmpty == false)
        #expect(h.audit.all.last?.questionDigest == Self.questionDigest(question, key: Self.derived(replacement, "question-digest")))
        #expect(factory.keys == [Self.derived(secret, "redaction-token"), Self.derived(replacement, "redaction-token")])
    }

    @Test("Shredding a tenant takes its derived keys at the next lease; the other tenant keeps answering")
    func shredded() async throws {
        let h = try await Harness.make(twoTenants: true)
        defer { Task { await h.close() } }
        #expect(await h.lease())
        _ = try await h.ingest("wifi", "The guest Wi-Fi password rotates every Monday.").get()
        #expect(await h.retrieved("Wi-Fi password")?.isEmpty == false)
        #expect(await h.gateway.keyRing.questionKey(for: Harness.acme) != nil)
        let admin = try await h.broker.authenticate(try #require(try await h.broker.bootstrapAdmin())).get()
        _ = try await h.broker.shred(tenant: "acme", by: admin).get()
        #expect(await h.lease())  // globex's keys are still released
        #expect(await h.gateway.keyRing.questionKey(for: Harness.acme) == nil)
        #expect(await h.gateway.keyRing.questionKey(for: Harness.globex) != nil)
        #expect(await h.retrieved("Wi-Fi password") == nil)
        #expect(h.audit.all.last?.outcome == .denied)
        #expect(h.audit.all.last?.reason == ReasonCode.releaseDenied.rawValue)
    }

    @Test("A dropped lease takes the derived keys with it")
    func dropped() async throws {
        let h = try await Harness.make()
        defer { Task { await h.close() } }
        #expect(await h.lease())
        #expect(await h.gateway.keyRing.questionKey(for: Harness.acme) != nil)
        await h.leases.drop()
        #expect(await h.gateway.keyRing.questionKey(for: Harness.acme) == nil)
        #expect(await h.retrieved("anything") == nil)
        #expect(h.audit.all.last?.reason == ReasonCode.keyLeaseUnavailable.rawValue)
    }
}
