// Sigstore: every input as a bundle (parsed, then verified against the staging and production roots with a
// certificate identity, and with a key), as a model signature, as a trusted root, as an RFC 3161 response, as a
// public key, and as the leaf certificate of a real bundle (so the certificate parser and the chain, SCT and
// identity checks run on it). A refusal must be a SigstoreError with a snake_case reason.
import Foundation
import FuzzSupport
import Sigstore

@main
enum FuzzSigstore {
    static func main() {
        let vectors = Vectors()
        let typed: (any Error) -> Bool = { $0 is SigstoreError }
        let roots = [PublicGoodRoot.Instance.staging, .production].compactMap { try? PublicGoodRoot.trustedRoot($0) }
        let verifiers = roots.map(BundleVerifier.init(trustedRoot:))
        let identity = try? IdentityPolicy(identity: .exact("william@yossarian.net"), issuer: .exact("https://github.com/login/oauth"))
        let artifact = vectors.data("sigstore/blob/bundle_v3.txt") ?? Data("x".utf8)
        let template = vectors.data("sigstore/blob/bundle_v3.txt.sigstore").flatMap { String(data: $0, encoding: .utf8) }
        let key = try? SigstoreKey(pem: vectors.data("sigstore/oms/key-ok/signer.pub.pem").map { String(decoding: $0, as: UTF8.self) } ?? "")
        if identity == nil || key == nil || template == nil || roots.count != 2 {
            Fuzz.log("FuzzSigstore: shared vectors or roots missing; some checks are skipped")
        }

        func check(_ site: String, _ outcome: SigstoreOutcome) {
            if let refusal = outcome.refusal { Fuzz.rejection(site, reasons: [refusal.reason.rawValue]) }
        }

        Fuzz.run("FuzzSigstore") { data in
            _ = Fuzz.typed("SigstoreBundle.init", typed) { try SigstoreBundle(json: data) }
            for verifier in verifiers {
                if let identity { check("verify identity", verifier.verify(bundleJSON: data, artifact: .bytes(artifact), policy: .identity(identity))) }
                if let key { check("verify key", verifier.verify(bundleJSON: data, artifact: .bytes(artifact), policy: .key(key))) }
            }
            if let key { _ = Fuzz.typed("ModelSignatureVerifier.manifest", typed) { try ModelSignatureVerifier(trust: .key(key)).manifest(bundleJSON: data) } }
            _ = Fuzz.typed("TrustedRoot.init", typed) { try TrustedRoot(json: data) }
            _ = Fuzz.typed("RFC3161Timestamp.init", typed) { try RFC3161Timestamp(der: data) }
            _ = Fuzz.typed("SigstoreKey.init", typed) { try SigstoreKey(spki: data) }
            if let template, let identity, let verifier = verifiers.first,
                let start = template.range(of: "\"rawBytes\": \""), let end = template[start.upperBound...].firstIndex(of: "\"")
            {
                let bundle = template.replacingCharacters(in: start.upperBound..<end, with: data.base64EncodedString())
                check("verify fuzzed certificate", verifier.verify(bundleJSON: Data(bundle.utf8), artifact: .bytes(artifact), policy: .identity(identity)))
            }
        }
    }
}
