import Attestation
import Crypto
import Foundation
import KBSProtocol
import KeyBroker
import Logging
import ReferenceImages
import ReleasePolicy
import SealgateCore
import SealgateTestSupport
import StorageSQLite
import Testing

@Suite("Signed images in reference values: init-data names the image, bundles verified at load, results carry the signer")
struct ImageReferenceTests {
    static let imageA = "sha256:" + Hex.encode(SHA256.hash(data: Data("gateway image a".utf8)))
    static let imageB = "sha256:" + Hex.encode(SHA256.hash(data: Data("gateway image b".utf8)))
    static let measurement = MockMeasurement(executableDigest: String(repeating: "aa", count: 48), policyDigest: String(repeating: "bb", count: 32))

    static func initData(_ digest: String) -> InitData {
        InitData(format: "toml", body: "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data]\nimage_digest = \"\(digest)\"\n\"aa.toml\" = '''\n[token_configs]\n'''\n")
    }

    static func values(_ tee: MockTEE, image: ImageRequirement?) -> ReferenceValues {
        ReferenceValues(
            sets: [ReferenceValueSet(id: "gw", tee: .mock, measurements: [tee.measurement.measurement], minSVN: 1, image: image)],
            acceptMockEvidence: true, mockSigners: [tee.signingKey.publicKey.pemRepresentation])
    }

    static func tee(_ initData: InitData?) -> MockTEE {
        MockTEE(signingKey: P256.Signing.PrivateKey(), measurement: measurement, initDataDigest: initData?.digest(for: .mock))
    }

    // MARK: Appraisal

    @Test("Appraisal: the pinned, signed image passes and is recorded; another image, none, a forged init-data or an unverified signature fail")
    func appraisal() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let reportData = Data(repeating: 3, count: 64)
        let rule = ImageRequirement(digests: [Self.imageA], signedBy: [ImageSigner(key: "unused here")])
        func appraise(teeInit: InitData?, sent: InitData?, signers: [String: [String: String]]) throws -> AttestationResult {
            let tee = Self.tee(teeInit)
            let appraiser = Appraiser(
                referenceValues: Self.values(tee, image: rule), verifiers: [MockEvidenceVerifier(trustedSigners: [tee.signingKey.publicKey])],
                imageSigners: VerifiedImageSigners(signers))
            return appraiser.appraise(
                try tee.evidence(reportData: reportData, initDataDigest: tee.initDataDigest, now: now), reportData: .equals(reportData),
                initDataDigest: sent?.digest(for: .mock), imageDigest: try sent?.imageDigest(), now: now)
        }
        let signed = ["gw": [Self.imageA: "builder@example.com"]]
        let a = Self.initData(Self.imageA)
        let ok = try appraise(teeInit: a, sent: a, signers: signed)
        #expect(ok.status == .warning)  // mock evidence is at best a warning
        #expect(ok.failures.isEmpty)
        #expect(ok.image == ImageClaims(digest: Self.imageA, signedBy: "builder@example.com"))

        let b = Self.initData(Self.imageB)
        let other = try appraise(teeInit: b, sent: b, signers: signed)
        #expect(other.status == .contraindicated)
        #expect(other.failures.map(\.reason) == [.imageNotAllowed])
        #expect(other.image?.signedBy == nil)

        let none = try appraise(teeInit: nil, sent: nil, signers: signed)
        #expect(none.failures.map(\.reason) == [.imageDigestMissing])

        // The TEE was started with B's init-data but presents A's: the digest check fails and A is not believed.
        let forged = try appraise(teeInit: b, sent: a, signers: signed)
        #expect(forged.failures.map(\.reason) == [.initDataMismatch, .imageDigestMissing])

        let unverified = try appraise(teeInit: a, sent: a, signers: [:])
        #expect(unverified.failures.map(\.reason) == [.imageSignatureUnverified])
    }

    @Test("Init-data: image_digest is read from JSON and TOML (top level or [data]); duplicates, non-strings and other formats are refused")
    func initDataParsing() throws {
        #expect(try Self.initData(Self.imageA).imageDigest() == Self.imageA)
        #expect(try InitData(format: "json", body: #"{"image_digest": "\#(Self.imageB)"}"#).imageDigest() == Self.imageB)
        #expect(try InitData(format: "json", body: #"{"data": {"image_digest": "\#(Self.imageB)"}}"#).imageDigest() == Self.imageB)
        #expect(try InitData(format: "toml", body: "version = \"0.1.0\"\n").imageDigest() == nil)
        #expect(try InitData(format: "toml", body: "[other]\nimage_digest = \"x\"\n").imageDigest() == nil)
        for bad in [
            InitData(format: "json", body: #"{"image_digest": "a", "data": {"image_digest": "b"}}"#),
            InitData(format: "json", body: #"{"image_digest": 3}"#), InitData(format: "json", body: "[]"),
            InitData(format: "toml", body: "image_digest = 3\n"), InitData(format: "toml", body: "image_digest = \"a\"\n[data]\nimage_digest = \"b\"\n"),
            InitData(format: "toml", body: "x = '''\nopen\n"), InitData(format: "yaml", body: "image_digest: a"),
        ] {
            #expect(throws: ReleaseDecision.self) { try bad.imageDigest() }
        }
    }

    // MARK: Verifying bundles when values are loaded

    @Test("Keyed bundles: the signer is recorded; a bundle for another digest, by another key, missing, or a path without a base is refused")
    func keyedBundles() throws {
        let signer = KeyedImageSigner()
        let tee = Self.tee(nil)
        func verify(_ bundles: [String: String], signedBy: [ImageSigner]? = nil, base: URL? = nil) throws -> ReferenceImages.Verified {
            let rule = ImageRequirement(digests: [Self.imageA], signedBy: signedBy ?? [ImageSigner(key: signer.pem)], bundles: bundles)
            return try ReferenceImages.verify(Self.values(tee, image: rule), baseDirectory: base)
        }
        func reason(_ body: () throws -> Void) -> String? {
            do { try body() } catch let error as ReferenceImageError { return error.reason } catch { return "unexpected \(error)" }
            return nil
        }
        let verified = try verify([Self.imageA: try signer.bundle(subject: Self.imageA)])
        #expect(verified.signers.signer(set: "gw", digest: Self.imageA) == signer.name)

        // Two signers listed: the second one's key signed it.
        let other = KeyedImageSigner()
        let second = try verify([Self.imageA: try signer.bundle(subject: Self.imageA)], signedBy: [ImageSigner(key: other.pem), ImageSigner(key: signer.pem)])
        #expect(second.signers.signer(set: "gw", digest: Self.imageA) == signer.name)

        #expect(reason { _ = try verify([Self.imageA: try signer.bundle(subject: Self.imageB)]) } == "digest_mismatch")
        #expect(reason { _ = try verify([Self.imageA: try other.bundle(subject: Self.imageA)]) } == "signature_invalid")
        #expect(reason { _ = try verify([:]) } == "bundle_missing")
        #expect(reason { _ = try verify([Self.imageA: "{not json"]) } == "malformed_bundle")
        #expect(reason { _ = try verify([Self.imageA: "bundle.json"]) } == "unreadable_input")

        // From a values file's directory, a relative path is read and inlined.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("images-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(try signer.bundle(subject: Self.imageA).utf8).write(to: dir.appendingPathComponent("bundle.json"))
        let fromFile = try verify([Self.imageA: "bundle.json"], base: dir)
        #expect(fromFile.signers.signer(set: "gw", digest: Self.imageA) == signer.name)
        #expect(fromFile.values.sets[0].image?.bundles[Self.imageA]?.hasPrefix("{") == true)

        // Pinned digests without signed_by need no bundle.
        let pinned = try ReferenceImages.verify(Self.values(tee, image: ImageRequirement(digests: [Self.imageA])), baseDirectory: nil)
        #expect(pinned.signers.signers.isEmpty)
    }

    static let vectorCase = (
        digest: "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf",
        identity: "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
        issuer: "https://token.actions.githubusercontent.com")

    @Test("A real certificate bundle (../shared/vectors/sigstore, staging, Rekor v2): the identity is recorded; another identity is refused",
          .enabled(if: TSMVectors.present, "shared/vectors is absent: the signed-image test verifies a real Sigstore bundle from shared/vectors/sigstore"))
    func certificateBundle() throws {
        let base = try #require(TSMVectors.root).appendingPathComponent("sigstore")
        let tee = Self.tee(nil)
        func rule(_ signer: ImageSigner) -> ImageRequirement {
            ImageRequirement(
                digests: [Self.vectorCase.digest], signedBy: [signer],
                bundles: [Self.vectorCase.digest: "dsse/a.dsse.staging-rekor-v2.txt.sigstore.json"], trustedRoot: "roots/trusted_root.staging.json")
        }
        for signer in [
            ImageSigner(identity: Self.vectorCase.identity, issuer: Self.vectorCase.issuer),
            ImageSigner(identityRegexp: "https://github.com/sigstore-conformance/.*@refs/heads/main", issuer: Self.vectorCase.issuer),
        ] {
            let verified = try ReferenceImages.verify(Self.values(tee, image: rule(signer)), baseDirectory: base)
            #expect(verified.signers.signer(set: "gw", digest: Self.vectorCase.digest) == Self.vectorCase.identity)
        }
        let wrong = ImageSigner(identity: "https://github.com/acme/gateway/.github/workflows/release.yml@refs/heads/main", issuer: Self.vectorCase.issuer)
        #expect(throws: ReferenceImageError.self) { try ReferenceImages.verify(Self.values(tee, image: rule(wrong)), baseDirectory: base) }
        do { _ = try ReferenceImages.verify(Self.values(tee, image: rule(wrong)), baseDirectory: base) } catch let error as ReferenceImageError {
            #expect(error.reason == "identity_mismatch")
        }
        // The embedded production root does not vouch for a staging signature.
        var production = rule(ImageSigner(identity: Self.vectorCase.identity, issuer: Self.vectorCase.issuer))
        production.trustedRoot = nil
        #expect(throws: ReferenceImageError.self) { try ReferenceImages.verify(Self.values(tee, image: production), baseDirectory: base) }
    }

    @Test("Reference values decode image rules strictly: one signer kind, an issuer with identities, sha256 digests")
    func decoding() throws {
        func decode(_ image: String) throws -> ReferenceValueSet {
            try JSONDecoder().decode(ReferenceValueSet.self, from: Data(#"{"id": "s", "tee": "mock", "measurements": [], "image": \#(image)}"#.utf8))
        }
        let set = try decode(#"{"digests": ["\#(Self.imageA.uppercased().replacingOccurrences(of: "SHA256", with: "sha256"))"], "signed_by": [{"identity": "a@b", "issuer": "https://i"}]}"#)
        #expect(set.image?.signedBy == [ImageSigner(identity: "a@b", issuer: "https://i")])
        for bad in [
            #"{"digests": []}"#, #"{"digests": ["sha512:00"]}"#, #"{"digests": ["\#(Self.imageA)"], "signed_by": [{"identity": "a@b"}]}"#,
            #"{"digests": ["\#(Self.imageA)"], "signed_by": [{"identity": "a@b", "key": "k", "issuer": "i"}]}"#,
            #"{"digests": ["\#(Self.imageA)"], "signed_by": [{}]}"#,
        ] {
            #expect(throws: DecodingError.self) { try decode(bad) }
        }
    }
}
