import Foundation
import Sigstore
import Testing

@Suite("Sigstore: the prepared trusted root and its chain link cache")
struct PreparedRootTests {
    @Test("One prepared root per trusted root, reused for every case and twice per case, gives each case's manifest verdict and the reason of a fresh verifier", .enabled(if: SigstoreVectors.present, "../shared/vectors/sigstore is absent: the prepared-root tests need its real bundles and roots"))
    func sameVerdicts() throws {
        let reasons = Dictionary(uniqueKeysWithValues: ManifestCaseTests.reasons)
        var shared: [String: BundleVerifier] = [:]
        let cache = ChainLinkCache()
        var compared = 0
        for c in try SigstoreVectors.cases() where c.kind != "oms" {
            let rootPath = c.trustedRoot ?? ""
            let root = try SigstoreVectors.root(rootPath)
            let reused = shared[rootPath] ?? BundleVerifier(prepared: PreparedTrustedRoot(root, linkCache: cache))
            shared[rootPath] = reused
            let bundle = try SigstoreVectors.data(c.bundle)
            let input: ArtifactInput = try c.digest.flatMap(ArtifactInput.init(digest:)) ?? .bytes(try SigstoreVectors.data(c.artifact ?? ""))
            let policy = SignerPolicy.identity(try IdentityPolicy(identity: .exact(c.identity ?? ""), issuer: .exact(c.issuer ?? "")))
            let fresh = BundleVerifier(trustedRoot: root).verify(bundleJSON: bundle, artifact: input, policy: policy).refusal?.reason
            let first = reused.verify(bundleJSON: bundle, artifact: input, policy: policy).refusal?.reason
            let second = reused.verify(bundleJSON: bundle, artifact: input, policy: policy).refusal?.reason
            #expect(first == fresh && second == fresh, "\(c.name): fresh \(String(describing: fresh)), reused \(String(describing: first)) then \(String(describing: second))")
            #expect((fresh == nil) == c.expectOK, "\(c.name): expected \(c.expectOK ? "ok" : "fail"), got \(String(describing: fresh))")
            if let expected = reasons[c.name] { #expect(fresh == expected, "\(c.name)") }
            compared += 1
        }
        #expect(compared >= 30, "the manifest's bundle cases ran")
        #expect(cache.statistics.hits > 0, "reused verifiers served chain links from their cache")
    }

    @Test("Only the Fulcio intermediate → root link is cached: the bundle's own certificate is verified every time", .enabled(if: SigstoreVectors.present, "../shared/vectors/sigstore is absent: the prepared-root tests need its real bundles and roots"))
    func leafNeverCached() throws {
        let cache = ChainLinkCache()
        let verifier = BundleVerifier(prepared: PreparedTrustedRoot(try SigstoreVectors.root("roots/trusted_root.staging.json"), linkCache: cache))
        let (bundle, artifact, policy) = try Self.rekor1()
        #expect(verifier.verify(bundleJSON: bundle, artifact: artifact, policy: policy).refusal == nil)
        #expect((cache.statistics.entries, cache.statistics.hits) == (1, 0))
        #expect(verifier.verify(bundleJSON: bundle, artifact: artifact, policy: policy).refusal == nil)
        #expect((cache.statistics.entries, cache.statistics.hits) == (1, 1))
        // Another artifact under the same bundle: the link is reused, the artifact signature is not.
        let other = verifier.verify(bundleJSON: bundle, artifact: .bytes(Data("another artifact".utf8)), policy: policy)
        #expect(other.refusal?.reason == .digestMismatch || other.refusal?.reason == .signatureInvalid)
    }

    @Test("A tampered intermediate (other bytes, same name and key) is not served from a shared cache: refused, and not cached", .enabled(if: SigstoreVectors.present, "../shared/vectors/sigstore is absent: the prepared-root tests need its real bundles and roots"))
    func tamperedIntermediate() throws {
        let cache = ChainLinkCache()
        let rootJSON = try SigstoreVectors.data("roots/trusted_root.staging.json")
        let good = BundleVerifier(prepared: PreparedTrustedRoot(try TrustedRoot(json: rootJSON), linkCache: cache))
        let (bundle, artifact, policy) = try Self.rekor1()
        #expect(good.verify(bundleJSON: bundle, artifact: artifact, policy: policy).refusal == nil)
        #expect(cache.statistics.entries == 1)

        let tampered = try TrustedRoot(json: try Self.tamper(rootJSON, list: "certificateAuthorities", index: 0))
        let bad = BundleVerifier(prepared: PreparedTrustedRoot(tampered, linkCache: cache))
        let refusal = bad.verify(bundleJSON: bundle, artifact: artifact, policy: policy).refusal
        #expect(refusal?.reason == .certificateUntrusted, "\(String(describing: refusal))")
        #expect((cache.statistics.entries, cache.statistics.hits) == (1, 0), "the tampered link was checked, failed and was not remembered")
        #expect(bad.verify(bundleJSON: bundle, artifact: artifact, policy: policy).refusal?.reason == .certificateUntrusted)
        #expect(good.verify(bundleJSON: bundle, artifact: artifact, policy: policy).refusal == nil)
        #expect((cache.statistics.entries, cache.statistics.hits) == (1, 1))
    }

    @Test("A tampered TSA certificate gives no verified time even after the genuine one was cached", .enabled(if: SigstoreVectors.present, "../shared/vectors/sigstore is absent: the prepared-root tests need its real bundles and roots"))
    func tamperedTimestampAuthority() throws {
        let cache = ChainLinkCache()
        let rootJSON = try SigstoreVectors.data("roots/trusted_root.staging.json")
        let bundle = try SigstoreVectors.data("blob/staging-rekor-v2.txt.sigstore.json")
        let artifact = ArtifactInput.bytes(try SigstoreVectors.data("blob/staging-rekor-v2.txt"))
        let policy = SignerPolicy.identity(try IdentityPolicy(identity: .exact("jku@goto.fi"), issuer: .exact("https://github.com/login/oauth")))
        let good = BundleVerifier(prepared: PreparedTrustedRoot(try TrustedRoot(json: rootJSON), linkCache: cache))
        #expect(good.verify(bundleJSON: bundle, artifact: artifact, policy: policy).refusal == nil)
        #expect(cache.statistics.entries == 2, "TSA → its CA and Fulcio intermediate → root")
        let tampered = try TrustedRoot(json: try Self.tamper(rootJSON, list: "timestampAuthorities", index: 0))
        let bad = BundleVerifier(prepared: PreparedTrustedRoot(tampered, linkCache: cache))
        #expect(bad.verify(bundleJSON: bundle, artifact: artifact, policy: policy).refusal?.reason == .noSignedTime)
    }

    /// The Rekor v1 staging bundle of the vectors, its artifact and identity.
    static func rekor1() throws -> (Data, ArtifactInput, SignerPolicy) {
        let policy = try IdentityPolicy(identity: .exact("william@yossarian.net"), issuer: .exact("https://github.com/login/oauth"))
        return (
            try SigstoreVectors.data("blob/bundle_v3.txt.sigstore"), .bytes(try SigstoreVectors.data("blob/bundle_v3.txt")),
            .identity(policy)
        )
    }

    /// The root with the last byte of the first certificate of `list[index]` changed: the certificate still parses,
    /// with the same subject, issuer and key, but its signature no longer verifies.
    static func tamper(_ rootJSON: Data, list: String, index: Int) throws -> Data {
        var root = try #require(try JSONSerialization.jsonObject(with: rootJSON) as? [String: Any])
        var authorities = try #require(root[list] as? [[String: Any]])
        var chain = try #require(authorities[index]["certChain"] as? [String: Any])
        var certificates = try #require(chain["certificates"] as? [[String: String]])
        var der = try #require(Data(base64Encoded: certificates[0]["rawBytes"] ?? ""))
        der[der.count - 1] ^= 0x01
        certificates[0]["rawBytes"] = der.base64EncodedString()
        chain["certificates"] = certificates
        authorities[index]["certChain"] = chain
        root[list] = authorities
        return try JSONSerialization.data(withJSONObject: root)
    }
}
