import Attestation
import Crypto
import Foundation
import KBSProtocol
import KeyBroker
import KeyLease
import Logging
import ReleasePolicy
import SealgateCore
import SealgateTestSupport
import StorageSQLite
import Testing

/// The broker's attest and resource calls with reference values pinning a signed image, and the admin call that
/// replaces them: the RCAR exchange as a gateway runs it (LeaseManager over the in-process client).
@Suite("Key broker: signed images in attest, image.signed_by in release policies, bundles verified when values are put")
struct ImageBrokerTests {
    static let acme = ResourcePath(tenant: TenantID(unchecked: "acme"), dataClass: DataClass(unchecked: "internal"))

    /// A broker on a real SQLite file whose reference set `gw` pins image A signed by `signer`, with a policy on
    /// acme's KEK that requires that signer.
    static func withBroker(signer: KeyedImageSigner, requiredSigner: String, _ body: (KeyBroker, MockTEE) async throws -> Void) async throws {
        let tee = MockTEE(
            signingKey: P256.Signing.PrivateKey(), measurement: ImageReferenceTests.measurement,
            initDataDigest: ImageReferenceTests.initData(ImageReferenceTests.imageA).digest(for: .mock))
        let rule = ImageRequirement(
            digests: [ImageReferenceTests.imageA], signedBy: [ImageSigner(key: signer.pem)],
            bundles: [ImageReferenceTests.imageA: try signer.bundle(subject: ImageReferenceTests.imageA)])
        let values = try KeyBroker.verifiedReferenceValues(ImageReferenceTests.values(tee, image: rule), baseDirectory: nil)
        let policy = """
            [{"id": "acme-signed-image", "applies_to": {"tenant": "acme"},
              "rule": {"field": "image.signed_by", "equals": "\(requiredSigner)", "name": "signed-by-release-key"}}]
            """
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("image-broker-\(UUID().uuidString)").path
        let store = try await SQLiteBrokerStore(path: path + "/broker.sqlite", logger: Logger(label: "test"))
        let broker = KeyBroker(
            verifiers: [], referenceValues: values, policies: try PolicySet(try ReleasePolicyLoader.decode(Data(policy.utf8))), store: store,
            protector: try MasterKey(raw: Data(repeating: 9, count: 32)), tokenKey: P256.Signing.PrivateKey(), tokenTTL: 60)
        try await broker.provision(tenant: acme.tenant, dataClass: acme.dataClass)
        do { try await body(broker, tee) } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    static func leases(_ broker: KeyBroker, _ tee: MockTEE, initData: InitData?) -> LeaseManager {
        LeaseManager(client: InProcessBrokerClient(broker: broker), attester: tee, logger: Logger(label: "test"), initData: initData)
    }

    @Test("A TEE started with the signed image's init-data gets the KEK; the token's result names the image and its signer")
    func signedImageReleases() async throws {
        let signer = KeyedImageSigner()
        try await Self.withBroker(signer: signer, requiredSigner: signer.name) { broker, tee in
            let leases = Self.leases(broker, tee, initData: ImageReferenceTests.initData(ImageReferenceTests.imageA))
            #expect(await leases.acquire(resources: [Self.acme]))
            #expect(await leases.keys(for: Self.acme)?.count == 1)
            let result = try #require(await leases.result)
            #expect(result.image == ImageClaims(digest: ImageReferenceTests.imageA, signedBy: signer.name))
            #expect(result.referenceValueSet == "gw")
        }
    }

    @Test("A policy requiring another signer denies the KEK with its rule and image_signer_not_allowed")
    func otherSignerDenied() async throws {
        let signer = KeyedImageSigner()
        try await Self.withBroker(signer: signer, requiredSigner: KeyedImageSigner().name) { broker, tee in
            let leases = Self.leases(broker, tee, initData: ImageReferenceTests.initData(ImageReferenceTests.imageA))
            #expect(await !leases.acquire(resources: [Self.acme]))
            let failure = try #require(await leases.lastFailure)
            #expect(failure.reason == BrokerReason("image_signer_not_allowed"))
            #expect(failure.rule == "acme-signed-image/signed-by-release-key")
            #expect(failure.byPolicy)
        }
    }

    @Test("Without init-data, or with init-data the evidence does not carry, attestation is contraindicated with the reason")
    func missingOrForgedInitData() async throws {
        let signer = KeyedImageSigner()
        try await Self.withBroker(signer: signer, requiredSigner: signer.name) { broker, tee in
            for (initData, cause) in [
                (nil, AttestationReason.imageDigestMissing), (ImageReferenceTests.initData(ImageReferenceTests.imageB), .initDataMismatch),
            ] as [(InitData?, AttestationReason)] {
                let leases = Self.leases(broker, tee, initData: initData)
                #expect(await !leases.acquire(resources: [Self.acme]))
                let failure = try #require(await leases.lastFailure)
                #expect(failure.reason == .attestationContraindicated)
                #expect(failure.causes.contains(cause))
            }
            // Init-data that cannot be read is a malformed request, refused before appraisal.
            let leases = Self.leases(broker, tee, initData: InitData(format: "json", body: #"{"image_digest": 1}"#))
            #expect(await !leases.acquire(resources: [Self.acme]))
            #expect(await leases.lastFailure?.reason == .malformedRequest)
        }
    }

    @Test("Admin: reference values whose bundle does not verify are refused with the bundle's reason and change nothing")
    func adminRefusesUnverifiedBundle() async throws {
        let signer = KeyedImageSigner()
        try await Self.withBroker(signer: signer, requiredSigner: signer.name) { broker, tee in
            let admin = AdminCredential(name: "admin", tokenSHA256: "", roles: [.admin], createdAt: Date())
            let before = await broker.referenceValues
            let forged = ImageRequirement(
                digests: [ImageReferenceTests.imageB], signedBy: [ImageSigner(key: signer.pem)],
                bundles: [ImageReferenceTests.imageB: try KeyedImageSigner().bundle(subject: ImageReferenceTests.imageB)])
            let outcome = await broker.setReferenceValues(ImageReferenceTests.values(tee, image: forged), by: admin)
            guard case .failure(let denial) = outcome else {
                Issue.record("reference values with a forged bundle were accepted")
                return
            }
            #expect(denial.reason == .imageSignatureRefused)
            #expect(denial.rule == "admin.reference_values.sets[gw].image.signature_invalid")
            #expect(await broker.referenceValues == before)
            // The values in force still release to the signed image.
            let leases = Self.leases(broker, tee, initData: ImageReferenceTests.initData(ImageReferenceTests.imageA))
            #expect(await leases.acquire(resources: [Self.acme]))
        }
    }

    @Test("Model keys: released with the recorded model.digest as policy input; a policy pinning another digest denies; secrets do not list them")
    func modelKeys() async throws {
        let signer = KeyedImageSigner()
        let model = "sha256:" + String(repeating: "2e", count: 32)
        try await Self.withBroker(signer: signer, requiredSigner: signer.name) { broker, tee in
            let admin = AdminCredential(name: "admin", tokenSHA256: "", roles: [.admin], createdAt: Date())
            let info = try await broker.createModelKey(
                resource: "acme/model/llama", digest: model.uppercased().replacingOccurrences(of: "SHA256", with: "sha256"), by: admin
            ).get()
            #expect(info == ModelKeyInfo(resource: "acme/model/llama", digest: model))
            let bare = try await broker.createModelKey(resource: "acme/model/bare", by: admin).get()
            #expect(bare == ModelKeyInfo(resource: "acme/model/bare", digest: nil))
            #expect(try await broker.modelKeys(tenant: "acme").sorted { $0.resource < $1.resource } == [bare, info])
            #expect(try await broker.secretNames(tenant: "acme").allSatisfy { !$0.hasPrefix("model") })
            for bad in ["md5:00", "sha256:12"] {
                guard case .failure(let denial) = await broker.createModelKey(resource: "acme/model/x", digest: bad, by: admin) else {
                    Issue.record("digest \(bad) accepted")
                    continue
                }
                #expect(denial.rule == "admin.model.digest")
                guard case .failure(let refused) = await broker.setModelDigest(resource: "acme/model/llama", digest: bad, by: admin) else {
                    Issue.record("digest \(bad) set")
                    continue
                }
                #expect(refused.rule == "admin.model.digest")
            }
            #expect(try await broker.modelKeys(tenant: "acme").contains(info))
            guard case .failure(let absent) = await broker.setModelDigest(resource: "acme/model/mistral", digest: model, by: admin) else {
                Issue.record("a digest was set on a model key that does not exist")
                return
            }
            #expect(absent.reason == .unknownResource)

            func release(_ path: String) async throws -> ReleaseOutcome {
                let challenge = try await broker.auth(version: "0.1.0", tee: .mock).get()
                let ephemeral = P256.KeyAgreement.PrivateKey()
                let runtime = RuntimeData(nonce: challenge.nonce, teePublicKey: .ec(ephemeral.publicKey))
                let evidence = try tee.evidence(reportData: runtime.reportData, initDataDigest: nil, now: Date())
                let initData = ImageReferenceTests.initData(ImageReferenceTests.imageA)
                guard case .token(let token, _) = await broker.attest(
                    sessionID: challenge.sessionID, AttestRequest(runtimeData: runtime, initData: initData, evidence: evidence))
                else { throw KeyBrokerError(.attestationContraindicated, "attestation refused") }
                return await broker.resource(.token(token), path: path)
            }
            guard case .released(_, _, let keyIDs) = try await release("acme/model/llama") else {
                Issue.record("the model key was not released")
                return
            }
            #expect(keyIDs == ["acme/model/llama"])
            let pinned = "sha256:" + String(repeating: "3d", count: 32)

            let pinning = try ReleasePolicyLoader.decode(Data("""
                [{"id": "llama-weights", "applies_to": {"resource_type": "model"},
                  "rule": {"field": "model.digest", "equals": "sha256:\(String(repeating: "3d", count: 32))", "name": "approved-model"}}]
                """.utf8))
            _ = try await broker.putPolicies(pinning, by: admin).get()
            guard case .denied(let denial) = try await release("acme/model/llama") else {
                Issue.record("a model key registered with another digest was released")
                return
            }
            #expect(denial.reason == BrokerReason("model_not_allowed"))
            #expect(denial.rule == "llama-weights/approved-model")
            // An unknown model key: the digest is absent, so the same policy denies it the same way.
            guard case .denied(let unknown) = try await release("acme/model/mistral") else {
                Issue.record("an unknown model key was released")
                return
            }
            #expect(unknown.reason == BrokerReason("model_not_allowed"))
            // Recording the pinned digest on the key (the key itself unchanged) releases it under the same policy.
            #expect(try await broker.setModelDigest(resource: "acme/model/llama", digest: pinned, by: admin).get().digest == pinned)
            guard case .released = try await release("acme/model/llama") else {
                Issue.record("the model key was not released once its digest matched the policy")
                return
            }
        }
    }
}
