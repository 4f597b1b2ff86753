import Crypto
import Foundation
import Sigstore
import Testing

/// A keyed bundle observed by a transparency log: a Rekor v1 `hashedrekord` entry of a log made here (its SET,
/// a one-leaf inclusion proof and a signed checkpoint), under a trusted root that names that log. It verifies under
/// `SignerPolicy.loggedKey` (what `sigstore verify-bundle --key` uses); the entry is checked as a certificate
/// bundle's is.
@Suite("Sigstore: keyed bundles with a transparency log entry")
struct LoggedKeyTests {
    static let artifact = Data("observed artifact\n".utf8)
    static let time = 1_800_000_000

    static func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }

    /// The bundle, signed by `signer`, with an entry of the log `log` (optionally recording `recorded` as the
    /// artifact's digest, and with its SET made over another index).
    static func bundle(
        signer: P256.Signing.PrivateKey, log: P256.Signing.PrivateKey, recorded: Data? = nil, setIndex: Int = 0
    ) throws -> Data {
        let digest = Data(SHA256.hash(data: artifact))
        let signature = try signer.signature(for: artifact).derRepresentation
        let pem = Data(signer.publicKey.pemRepresentation.utf8)
        let body = Data(
            #"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":"\#(hex(recorded ?? digest))"}},"signature":{"content":"\#(signature.base64EncodedString())","publicKey":{"content":"\#(pem.base64EncodedString())"}}}}"#
                .utf8)
        let logID = Data(SHA256.hash(data: log.publicKey.derRepresentation))
        let setPayload = "{\"body\":\"\(body.base64EncodedString())\",\"integratedTime\":\(time),\"logID\":\"\(hex(logID))\",\"logIndex\":\(setIndex)}"
        let set = try log.signature(for: Data(setPayload.utf8)).derRepresentation
        var leaf = Data([0x00])
        leaf.append(body)
        let root = Data(SHA256.hash(data: leaf))
        let text = "test.log - 1\n1\n\(root.base64EncodedString())\n"
        let noteSignature = Data(logID.prefix(4)) + (try log.signature(for: Data(text.utf8)).derRepresentation)
        let note = text + "\n\u{2014} test.log \(noteSignature.base64EncodedString())\n"
        let noteJSON = String(decoding: try JSONEncoder().encode(note), as: UTF8.self)
        return Data("""
            {"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",
             "verificationMaterial":{"publicKey":{"hint":"k"},"tlogEntries":[{"logIndex":"0","logId":{"keyId":"\(logID.base64EncodedString())"},
               "kindVersion":{"kind":"hashedrekord","version":"0.0.1"},"integratedTime":"\(time)",
               "inclusionPromise":{"signedEntryTimestamp":"\(set.base64EncodedString())"},
               "inclusionProof":{"logIndex":"0","rootHash":"\(root.base64EncodedString())","treeSize":"1","hashes":[],"checkpoint":{"envelope":\(noteJSON)}},
               "canonicalizedBody":"\(body.base64EncodedString())"}]},
             "messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"\(digest.base64EncodedString())"},"signature":"\(signature.base64EncodedString())"}}
            """.utf8)
    }

    /// A trusted root naming only `log` (valid from 2020).
    static func root(_ log: P256.Signing.PrivateKey) throws -> TrustedRoot {
        let spki = log.publicKey.derRepresentation
        let json = #"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":[{"baseUrl":"https://test.log","hashAlgorithm":"SHA2_256","publicKey":{"rawBytes":"\#(spki.base64EncodedString())","keyDetails":"PKIX_ECDSA_P256_SHA_256","validFor":{"start":"2020-01-01T00:00:00Z"}},"logId":{"keyId":"\#(Data(SHA256.hash(data: spki)).base64EncodedString())"}}]}"#
        return try TrustedRoot(json: Data(json.utf8))
    }

    @Test("Logged by a known log: verified under loggedKey, with the integrated time; another log, a SET over other data or an entry for another digest are refused")
    func logged() throws {
        let signer = P256.Signing.PrivateKey()
        let log = P256.Signing.PrivateKey()
        let key = try SigstoreKey(pem: signer.publicKey.pemRepresentation)
        let verifier = BundleVerifier(trustedRoot: try Self.root(log))
        let bundle = try Self.bundle(signer: signer, log: log)
        switch verifier.verify(bundleJSON: bundle, artifact: .bytes(Self.artifact), policy: .loggedKey(key)) {
        case .verified(let verified):
            #expect(verified.signingTimes == [Date(timeIntervalSince1970: TimeInterval(Self.time))])
        case .refused(let error):
            Issue.record("refused: \(error)")
        }
        let unknownLog = BundleVerifier(trustedRoot: try Self.root(P256.Signing.PrivateKey()))
        #expect(unknownLog.verify(bundleJSON: bundle, artifact: .bytes(Self.artifact), policy: .loggedKey(key)).refusal?.reason == .unknownTlog)
        let badSET = try Self.bundle(signer: signer, log: log, setIndex: 1)
        #expect(verifier.verify(bundleJSON: badSET, artifact: .bytes(Self.artifact), policy: .loggedKey(key)).refusal?.reason == .setInvalid)
        let otherDigest = try Self.bundle(signer: signer, log: log, recorded: Data(SHA256.hash(data: Data("other".utf8))))
        #expect(verifier.verify(bundleJSON: otherDigest, artifact: .bytes(Self.artifact), policy: .loggedKey(key)).refusal?.reason == .tlogBodyMismatch)
        // Another signer's key: the signature fails before the log is looked at.
        let stranger = try SigstoreKey(pem: P256.Signing.PrivateKey().publicKey.pemRepresentation)
        #expect(verifier.verify(bundleJSON: bundle, artifact: .bytes(Self.artifact), policy: .loggedKey(stranger)).refusal?.reason == .signatureInvalid)
    }
}
