import Foundation
import ReleasePolicy
import Testing

@testable import Attestation

/// `image.digest`, `image.signed_by` and `model.digest`: what a policy sees, and the rule and reason that decide.
@Suite("Release policies over image and model digests")
struct ImagePolicyTests {
    static let image = "sha256:" + String(repeating: "1f", count: 32)
    static let model = "sha256:" + String(repeating: "2e", count: 32)
    static let builder = "https://github.com/acme/gateway/.github/workflows/release.yml@refs/tags/v1.4.0"

    static func result(signedBy: String?, digest: String? = image) -> AttestationResult {
        var result = Fixtures.result()
        result.image = digest.map { ImageClaims(digest: $0, signedBy: signedBy) }
        return result
    }

    static let policyJSON = """
        {"id": "acme-signed-gateway", "applies_to": {"tenant": "acme"},
         "rule": {"allOf": [
            {"field": "status", "equals": "affirming"},
            {"field": "image.signed_by", "equals": "\(builder)", "name": "release-workflow"}]}}
        """

    @Test("A policy on image.signed_by allows the signed image and names the condition that denies another signer")
    func signedBy() throws {
        let policy = try #require(try ReleasePolicyLoader.decode(Data(Self.policyJSON.utf8)).first)
        let allowed = try Fixtures.decide(policy, Fixtures.request(Self.result(signedBy: Self.builder)))
        #expect(allowed.allowed)
        #expect(allowed.reason == "granted")

        let other = try Fixtures.decide(policy, Fixtures.request(Self.result(signedBy: "mallory@example.com")))
        #expect(!other.allowed)
        #expect(other.rule == "acme-signed-gateway/release-workflow")
        #expect(other.reason == "image_signer_not_allowed")
        let step = try #require(other.trace.first { $0.field == "image.signed_by" })
        #expect(step.actual == .string("mallory@example.com"))

        // Unsigned (pinned only) and image-less results have no signer: the condition fails, it does not pass by absence.
        for result in [Self.result(signedBy: nil), Self.result(signedBy: nil, digest: nil)] {
            let decision = try Fixtures.decide(policy, Fixtures.request(result))
            #expect(!decision.allowed)
            #expect(decision.reason == "image_signer_not_allowed")
        }
    }

    @Test("image.digest and model.digest are compared as given; a missing model digest denies with model_not_allowed")
    func digests() throws {
        let json = """
            {"id": "model-key", "applies_to": {"resource_type": "model"},
             "rule": {"allOf": [{"field": "image.digest", "in": ["\(Self.image)"]}, {"field": "model.digest", "equals": "\(Self.model)"}]}}
            """
        let policy = try #require(try ReleasePolicyLoader.decode(Data(json.utf8)).first)
        let path = "acme/model/llama"
        var request = Fixtures.request(Self.result(signedBy: nil), path)
        request.modelDigest = Self.model
        #expect(try Fixtures.decide(policy, request).allowed)

        request.modelDigest = nil
        let missing = try Fixtures.decide(policy, request)
        #expect(!missing.allowed)
        #expect(missing.reason == "model_not_allowed")
        #expect(missing.rule == "model-key/allOf[1]/model.digest")

        request.modelDigest = Self.model
        request.result = Self.result(signedBy: nil, digest: "sha256:" + String(repeating: "00", count: 32))
        let wrongImage = try Fixtures.decide(policy, request)
        #expect(wrongImage.reason == "image_not_allowed")
    }

    @Test("Results without an image keep their encoding; with one, image.digest and image.signed_by round-trip")
    func encoding() throws {
        let plain = try JSONEncoder().encode(Fixtures.result())
        #expect(!String(decoding: plain, as: UTF8.self).contains("image"))
        let signed = Self.result(signedBy: Self.builder)
        let decoded = try JSONDecoder().decode(AttestationResult.self, from: try JSONEncoder().encode(signed))
        #expect(decoded.image == ImageClaims(digest: Self.image, signedBy: Self.builder))
    }
}
