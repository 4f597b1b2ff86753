import Crypto
import Foundation
import Sigstore
import SwiftASN1
import Testing
import X509

@Suite("Sigstore: bad input is refused with its reason, never a crash")
struct BadInputTests {
    static let key = P256.Signing.PrivateKey()
    static let policy = SignerPolicy.key((try? SigstoreKey(pem: key.publicKey.pemRepresentation))!)
    static let artifact = Data("x".utf8)

    static func refusal(_ json: Data) -> SigstoreReason? {
        KeyedBundleTests.verifier.verify(bundleJSON: json, artifact: .bytes(artifact), policy: policy).refusal?.reason
    }

    @Test("Not JSON, not a bundle, oversized, unknown media type, two verification materials, no content")
    func malformed() throws {
        #expect(Self.refusal(Data("not json".utf8)) == .malformedBundle)
        #expect(Self.refusal(Data()) == .malformedBundle)
        #expect(Self.refusal(Data("[1,2]".utf8)) == .malformedBundle)
        #expect(Self.refusal(Data(repeating: 0x20, count: SigstoreBundle.maximumSize + 1)) == .malformedBundle)
        let good = KeyedBundleTests.messageBundle(signature: try Self.key.signature(for: Self.artifact).derRepresentation, digest: nil)
        #expect(Self.refusal(good) == nil)
        let text = String(decoding: good, as: UTF8.self)
        #expect(Self.refusal(Data(text.replacingOccurrences(of: "bundle.v0.3+json", with: "bundle.v0.4+json").utf8)) == .unknownMediaType)
        let two = KeyedBundleTests.messageBundle(signature: Data([1]), digest: nil, extraMaterial: #","certificate":{"rawBytes":"AAAA"}"#)
        #expect(Self.refusal(two) == .invalidVerificationMaterial)
        let none = text.replacingOccurrences(of: "\"messageSignature\"", with: "\"other\"")
        #expect(Self.refusal(Data(none.utf8)) == .malformedBundle)
        #expect(Self.refusal(Data(text.replacingOccurrences(of: "\"SHA2_256\"", with: "\"SHA2_512\"").utf8)) == nil, "no digest field to rename")
    }

    /// A CA and a leaf made here, the leaf optionally with an extra critical extension and with `keyUsage` (Fulcio's
    /// digitalSignature by default; nil: none).
    static func chain(criticalOID: ASN1ObjectIdentifier?, keyUsage: KeyUsage? = KeyUsage(digitalSignature: true)) throws -> (
        leaf: Certificate, root: Certificate
    ) {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let rootKey = P256.Signing.PrivateKey()
        let rootName = try DistinguishedName { CommonName("Sigstore test root") }
        let root = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(rootKey.publicKey), notValidBefore: now - 3600,
            notValidAfter: now + 3600, issuer: rootName, subject: rootName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true))
            }, issuerPrivateKey: .init(rootKey))
        var extensions = try Certificate.Extensions { Critical(try ExtendedKeyUsage([.codeSigning])) }
        if let keyUsage { try extensions.append(try Critical(keyUsage).makeCertificateExtension()) }
        if let criticalOID { try extensions.append(Certificate.Extension(oid: criticalOID, critical: true, value: [0x05, 0x00])) }
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(P256.Signing.PrivateKey().publicKey), notValidBefore: now - 600,
            notValidAfter: now + 600, issuer: rootName, subject: try DistinguishedName { CommonName("leaf") },
            signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: .init(rootKey))
        return (leaf, root)
    }

    static func reason(_ body: () throws -> Void) -> SigstoreReason? {
        do { try body() } catch let error as SigstoreError { return error.reason } catch { return nil }
        return nil
    }

    @Test("A certificate with an unknown critical extension is refused; times outside validity are refused")
    func certificates() throws {
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        let plain = try Self.chain(criticalOID: nil)
        #expect(Self.reason { try CertificateChain.validate(leaf: plain.leaf, issuers: [plain.root], at: [at], usage: .codeSigning) } == nil)
        #expect(Self.reason { try CertificateChain.validate(leaf: plain.leaf, issuers: [plain.root], at: [at + 601], usage: .codeSigning) } == .certificateExpiredAtSigning)
        #expect(Self.reason { try CertificateChain.validate(leaf: plain.leaf, issuers: [plain.root], at: [at - 601], usage: .codeSigning) } == .certificateExpiredAtSigning)
        #expect(Self.reason { try CertificateChain.validate(leaf: plain.leaf, issuers: [plain.root], at: [at], usage: .timeStamping) } == .certificateUntrusted)
        let other = try Self.chain(criticalOID: nil)
        #expect(Self.reason { try CertificateChain.validate(leaf: plain.leaf, issuers: [other.root], at: [at], usage: .codeSigning) } == .certificateUntrusted)
        // A signing certificate without the digitalSignature key usage, or one that may sign certificates, is refused
        // (sigstore-python and sigstore-go require the first; RFC 5280 forbids the second in an end entity).
        for usage in [nil, KeyUsage(keyEncipherment: true), KeyUsage(digitalSignature: true, keyCertSign: true)] {
            let odd = try Self.chain(criticalOID: nil, keyUsage: usage)
            #expect(Self.reason { try CertificateChain.validate(leaf: odd.leaf, issuers: [odd.root], at: [at], usage: .codeSigning) } == .certificateUntrusted, "\(String(describing: usage))")
        }
        let critical = try Self.chain(criticalOID: [1, 3, 6, 1, 4, 1, 99999, 1])
        #expect(Self.reason { try CertificateChain.validate(leaf: critical.leaf, issuers: [critical.root], at: [at], usage: .codeSigning) } == .unknownCriticalExtension)
    }

    /// A manifest case run against a root edited by `edit`.
    static func withEditedRoot(_ name: String, _ edit: (inout [String: Any]) -> Void) throws -> SigstoreError? {
        let c = try #require(try SigstoreVectors.cases().first { $0.name == name })
        var root = try #require(try JSONSerialization.jsonObject(with: try SigstoreVectors.data(c.trustedRoot ?? "")) as? [String: Any])
        edit(&root)
        let verifier = BundleVerifier(trustedRoot: try TrustedRoot(json: try JSONSerialization.data(withJSONObject: root)))
        let policy = try IdentityPolicy(identity: .exact(c.identity ?? ""), issuer: .exact(c.issuer ?? ""))
        let input = try c.digest.flatMap(ArtifactInput.init(digest:)) ?? .bytes(try SigstoreVectors.data(c.artifact ?? ""))
        return verifier.verify(bundleJSON: try SigstoreVectors.data(c.bundle), artifact: input, policy: .identity(policy)).refusal
    }

    static func setWindow(_ list: String, _ index: Int, start: String, in root: inout [String: Any], nestedInKey: Bool) {
        guard var items = root[list] as? [[String: Any]], index < items.count else { return }
        if nestedInKey, var key = items[index]["publicKey"] as? [String: Any] {
            key["validFor"] = ["start": start]
            items[index]["publicKey"] = key
        } else {
            items[index]["validFor"] = ["start": start]
        }
        root[list] = items
    }

    @Test("Timestamps outside a TSA's or a log's validity window are refused", .enabled(if: SigstoreVectors.present, "../shared/vectors/sigstore is absent: the Sigstore vector cases cannot run"))
    func validityWindows() throws {
        let late = "2099-01-01T00:00:00Z"
        // A token from a TSA outside its window gives no time; on Rekor v2 it was the only one.
        let tsa = try Self.withEditedRoot("blob-v0.3-staging-rekor2-tsa-ok") { root in
            for i in 0..<4 { Self.setWindow("timestampAuthorities", i, start: late, in: &root, nestedInKey: false) }
        }
        #expect(tsa?.reason == .noSignedTime, "\(String(describing: tsa))")
        let log = try Self.withEditedRoot("blob-v0.3-staging-rekor2-tsa-ok") { root in
            for i in 0..<8 { Self.setWindow("tlogs", i, start: late, in: &root, nestedInKey: true) }
        }
        #expect(log?.reason == .unknownTlog, "\(String(describing: log))")
        let ca = try Self.withEditedRoot("blob-v0.3-staging-rekor1-ok") { root in
            for i in 0..<4 { Self.setWindow("certificateAuthorities", i, start: late, in: &root, nestedInKey: false) }
        }
        #expect(ca?.reason == .certificateExpiredAtSigning, "\(String(describing: ca))")
        let ct = try Self.withEditedRoot("blob-v0.3-staging-rekor1-ok") { root in root["ctlogs"] = [] }
        #expect(ct?.reason == .sctInvalid, "\(String(describing: ct))")
        let noTSA = try Self.withEditedRoot("blob-v0.3-staging-rekor2-tsa-ok") { root in root["timestampAuthorities"] = [] }
        #expect(noTSA?.reason == .timestampInvalid, "a bundle with timestamps and a root without TSAs is an error")
    }

    @Test("A checkpoint signed by another log is refused", .enabled(if: SigstoreVectors.present, "../shared/vectors/sigstore is absent: the Sigstore vector cases cannot run"))
    func foreignCheckpoint() throws {
        let c = try #require(try SigstoreVectors.cases().first { $0.name == "blob-v0.3-staging-rekor1-ok" })
        let v1 = String(decoding: try SigstoreVectors.data(c.bundle), as: UTF8.self)
        let v2 = String(decoding: try SigstoreVectors.data("blob/staging-rekor-v2.txt.sigstore.json"), as: UTF8.self)
        // The v1 note's signature (key hint and bytes) replaced by the v2 log's: a signer the entry's log is not.
        let v2Name = try #require(v2.range(of: #"\u2014 log2025-alpha1.rekor.sigstage.dev"#))
        let v2Signature = v2[v2Name.upperBound...].prefix { $0 != "\\" }
        let v1Name = try #require(v1.range(of: #"\u2014 rekor.sigstage.dev"#))
        let v1Signature = v1[v1Name.upperBound...].prefix { $0 != "\\" }
        let forged = v1.replacingOccurrences(of: String(v1[v1Name]) + v1Signature, with: String(v1[v1Name]) + v2Signature)
        #expect(forged != v1)
        #expect(try SigstoreVectors.runBundle(c, bundle: Data(forged.utf8))?.reason == .checkpointInvalid)
    }
}
