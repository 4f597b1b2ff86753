import Crypto
import Foundation
import Sigstore
import Testing
import _CryptoExtras

/// Keyed bundles made here with real keys of every supported type: the verifier accepts exactly the right
/// signature over exactly the right artifact.
@Suite("Sigstore: keyed bundles (ECDSA P-256/P-384, Ed25519, RSA PKCS#1 v1.5 and PSS)")
struct KeyedBundleTests {
    static let artifact = Data("the artifact\n".utf8)
    static let other = Data("another artifact\n".utf8)

    /// A signer: its public key PEM and a signing function.
    struct Signer: Sendable, CustomStringConvertible {
        let description: String
        let pem: String
        let sign: @Sendable (Data) throws -> Data
    }

    static func pem(_ der: Data) -> String {
        "-----BEGIN PUBLIC KEY-----\n\(der.base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed]))\n-----END PUBLIC KEY-----\n"
    }

    static let signers: [Signer] = {
        let p256 = P256.Signing.PrivateKey()
        let p384 = P384.Signing.PrivateKey()
        let ed = Curve25519.Signing.PrivateKey()
        let edSPKI = Data([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]) + ed.publicKey.rawRepresentation
        var out = [
            Signer(description: "ECDSA P-256", pem: p256.publicKey.pemRepresentation) { try p256.signature(for: $0).derRepresentation },
            Signer(description: "ECDSA P-384", pem: p384.publicKey.pemRepresentation) { try p384.signature(for: $0).derRepresentation },
            Signer(description: "Ed25519", pem: pem(edSPKI)) { try ed.signature(for: $0) },
        ]
        if let rsa = try? _RSA.Signing.PrivateKey(keySize: .bits2048) {
            out.append(Signer(description: "RSA PKCS#1 v1.5", pem: rsa.publicKey.pemRepresentation) {
                try rsa.signature(for: SHA256.hash(data: $0), padding: .insecurePKCS1v1_5).rawRepresentation
            })
            out.append(Signer(description: "RSA PSS", pem: rsa.publicKey.pemRepresentation) {
                try rsa.signature(for: SHA256.hash(data: $0), padding: .PSS).rawRepresentation
            })
        }
        return out
    }()

    static func messageBundle(signature: Data, digest: Data?, extraMaterial: String = "") -> Data {
        let digestField = digest.map { ",\"messageDigest\":{\"algorithm\":\"SHA2_256\",\"digest\":\"\($0.base64EncodedString())\"}" } ?? ""
        return Data("""
            {"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",
             "verificationMaterial":{"publicKey":{"hint":"test"}\(extraMaterial),"tlogEntries":[]},
             "messageSignature":{"signature":"\(signature.base64EncodedString())"\(digestField)}}
            """.utf8)
    }

    static func dsseBundle(statement: Data, signature: Data) -> Data {
        Data("""
            {"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",
             "verificationMaterial":{"publicKey":{"hint":"test"},"tlogEntries":[]},
             "dsseEnvelope":{"payload":"\(statement.base64EncodedString())","payloadType":"application/vnd.in-toto+json",
               "signatures":[{"sig":"\(signature.base64EncodedString())","keyid":""}]}}
            """.utf8)
    }

    static let verifier: BundleVerifier = {
        // Keyed bundles without log entries need no trusted root content; the staging root stands in.
        BundleVerifier(trustedRoot: (try? PublicGoodRoot.trustedRoot(.staging))!)
    }()

    @Test("A keyed message signature verifies over its artifact and nothing else", arguments: signers)
    func messageSignature(_ signer: Signer) throws {
        let key = try SigstoreKey(pem: signer.pem)
        let signature = try signer.sign(Self.artifact)
        let digest = Data(SHA256.hash(data: Self.artifact))
        let bundle = Self.messageBundle(signature: signature, digest: digest)
        guard case .verified(let verified) = Self.verifier.verify(bundleJSON: bundle, artifact: .bytes(Self.artifact), policy: .key(key)) else {
            Issue.record("\(signer) did not verify")
            return
        }
        #expect(verified.artifactDigest == digest && verified.signingTimes.isEmpty && verified.identities.isEmpty)
        let wrong = Self.verifier.verify(bundleJSON: bundle, artifact: .bytes(Self.other), policy: .key(key))
        #expect(wrong.refusal?.reason == .digestMismatch)
        let undigested = Self.messageBundle(signature: signature, digest: nil)
        let unsigned = Self.verifier.verify(bundleJSON: undigested, artifact: .bytes(Self.other), policy: .key(key))
        #expect(unsigned.refusal?.reason == .signatureInvalid)
        var flipped = signature
        flipped[flipped.count / 2] ^= 0x01
        let bad = Self.verifier.verify(bundleJSON: Self.messageBundle(signature: flipped, digest: digest), artifact: .bytes(Self.artifact), policy: .key(key))
        #expect(bad.refusal?.reason == .signatureInvalid)
    }

    @Test("Observed keys: without a log entry or timestamp a keyed bundle is refused tlog_entry_missing under loggedKey, verified under key")
    func observation() throws {
        let signer = try #require(Self.signers.first)
        let key = try SigstoreKey(pem: signer.pem)
        let bundle = Self.messageBundle(signature: try signer.sign(Self.artifact), digest: nil)
        #expect(Self.verifier.verify(bundleJSON: bundle, artifact: .bytes(Self.artifact), policy: .loggedKey(key)).refusal?.reason == .tlogEntryMissing)
        #expect(Self.verifier.verify(bundleJSON: bundle, artifact: .bytes(Self.artifact), policy: .key(key)).refusal == nil)
        // A bad signature is still a bad signature, whatever the observation rule.
        #expect(Self.verifier.verify(bundleJSON: bundle, artifact: .bytes(Self.other), policy: .loggedKey(key)).refusal?.reason == .signatureInvalid)
    }

    @Test("Another key of the same type does not verify")
    func wrongKey() throws {
        let signature = try P256.Signing.PrivateKey().signature(for: Self.artifact).derRepresentation
        let other = try SigstoreKey(pem: P256.Signing.PrivateKey().publicKey.pemRepresentation)
        let bundle = Self.messageBundle(signature: signature, digest: nil)
        #expect(Self.verifier.verify(bundleJSON: bundle, artifact: .bytes(Self.artifact), policy: .key(other)).refusal?.reason == .signatureInvalid)
    }

    @Test("A P-256 signature verifies over the artifact's digest alone (sha256:<hex>)")
    func digestInput() throws {
        let key = P256.Signing.PrivateKey()
        let bundle = Self.messageBundle(signature: try key.signature(for: Self.artifact).derRepresentation, digest: nil)
        let digest = try #require(ArtifactInput(digest: "sha256:" + SHA256.hash(data: Self.artifact).map { String(format: "%02x", $0) }.joined()))
        let policy = SignerPolicy.key(try SigstoreKey(pem: key.publicKey.pemRepresentation))
        #expect(Self.verifier.verify(bundleJSON: bundle, artifact: digest, policy: policy).refusal == nil)
        #expect(ArtifactInput(digest: "sha256:xyz") == nil && ArtifactInput(digest: "sha512:" + String(repeating: "0", count: 64)) == nil)
    }

    @Test("A keyed DSSE in-toto statement verifies and must name the artifact as a subject")
    func dsse() throws {
        let key = P256.Signing.PrivateKey()
        let hex = SHA256.hash(data: Self.artifact).map { String(format: "%02x", $0) }.joined()
        let statement = Data(#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"\#(hex)"}}],"predicateType":"https://example.com/p","predicate":{}}"#.utf8)
        let pae = Data("DSSEv1 28 application/vnd.in-toto+json \(statement.count) ".utf8) + statement
        let bundle = Self.dsseBundle(statement: statement, signature: try key.signature(for: pae).derRepresentation)
        let policy = SignerPolicy.key(try SigstoreKey(pem: key.publicKey.pemRepresentation))
        guard case .verified(let verified) = Self.verifier.verify(bundleJSON: bundle, artifact: .bytes(Self.artifact), policy: policy) else {
            Issue.record("the DSSE bundle did not verify")
            return
        }
        #expect(verified.statement?.subjects.first?.name == "a")
        #expect(Self.verifier.verify(bundleJSON: bundle, artifact: .bytes(Self.other), policy: policy).refusal?.reason == .digestMismatch)
    }
}
