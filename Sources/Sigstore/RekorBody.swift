import Crypto
import Foundation

/// What a log entry's body must describe: this bundle's signature, signer and signed digest.
struct LoggedSignature: Sendable {
    /// The signer as the body names it: a certificate (DER) or a public key (DER SubjectPublicKeyInfo).
    enum Signer: Sendable {
        case certificate(Data)
        case key(Data)
    }

    let signature: Data
    /// SHA-256 of what was signed: the artifact for a message signature, PAE(type, payload) for DSSE.
    let signedDigest: Data
    /// SHA-256 of the DSSE payload (DSSE bundles only).
    let payloadDigest: Data?
    let signer: Signer
}

/// The canonicalized bodies of Rekor entries this verifier knows: `hashedrekord` 0.0.1 (Rekor v1) and 0.0.2
/// (Rekor v2), `dsse` 0.0.1 and 0.0.2.
enum RekorBody {
    /// Requires that the body is of the entry's kind and version and describes `expected` (CVE-2022-36056: an
    /// entry that verifies but belongs to another signing event is refused here).
    /// - Throws: ``SigstoreError`` `tlog_body_mismatch` or `unsupported_entry_kind`.
    static func check(_ entry: TlogEntry, matches expected: LoggedSignature) throws {
        guard let body = try? JSONSerialization.jsonObject(with: entry.canonicalizedBody) as? [String: Any],
            let spec = body["spec"] as? [String: Any]
        else { throw SigstoreError(.tlogBodyMismatch, "the log entry body is not JSON") }
        guard body["kind"] as? String == entry.kind, body["apiVersion"] as? String == entry.version else {
            throw SigstoreError(.tlogBodyMismatch, "the log entry body's kind or version differs from kindVersion")
        }
        let matches: Bool
        switch (entry.kind, entry.version) {
        case ("hashedrekord", "0.0.1"): matches = hashedRekordV1(spec, expected)
        case ("hashedrekord", "0.0.2"): matches = hashedRekordV2(spec, expected)
        case ("dsse", "0.0.1"): matches = dsseV1(spec, expected)
        case ("dsse", "0.0.2"): matches = dsseV2(spec, expected)
        default: throw SigstoreError(.unsupportedEntryKind, "log entry kind \(entry.kind) \(entry.version) is not supported")
        }
        guard matches else {
            throw SigstoreError(.tlogBodyMismatch, "the log entry does not record this bundle's signature, signer and digest")
        }
    }

    private static func hashedRekordV1(_ spec: [String: Any], _ e: LoggedSignature) -> Bool {
        guard let data = spec["data"] as? [String: Any], let hash = data["hash"] as? [String: Any],
            hash["algorithm"] as? String == "sha256", (hash["value"] as? String)?.lowercased() == e.signedDigest.hexString,
            let sig = spec["signature"] as? [String: Any], base64(sig["content"]) == e.signature,
            let key = sig["publicKey"] as? [String: Any]
        else { return false }
        return pemSigner(base64(key["content"]), e.signer)
    }

    private static func hashedRekordV2(_ spec: [String: Any], _ e: LoggedSignature) -> Bool {
        guard let v2 = spec["hashedRekordV002"] as? [String: Any], let data = v2["data"] as? [String: Any],
            data["algorithm"] as? String == "SHA2_256", base64(data["digest"]) == e.signedDigest,
            let sig = v2["signature"] as? [String: Any], base64(sig["content"]) == e.signature
        else { return false }
        return verifierSigner(sig["verifier"], e.signer)
    }

    private static func dsseV1(_ spec: [String: Any], _ e: LoggedSignature) -> Bool {
        guard let payloadDigest = e.payloadDigest, let hash = spec["payloadHash"] as? [String: Any],
            hash["algorithm"] as? String == "sha256", (hash["value"] as? String)?.lowercased() == payloadDigest.hexString,
            let sigs = spec["signatures"] as? [[String: Any]], sigs.count == 1
        else { return false }
        return base64(sigs[0]["signature"]) == e.signature && pemSigner(base64(sigs[0]["verifier"]), e.signer)
    }

    private static func dsseV2(_ spec: [String: Any], _ e: LoggedSignature) -> Bool {
        guard let payloadDigest = e.payloadDigest, let v2 = spec["dsseV002"] as? [String: Any],
            let hash = v2["payloadHash"] as? [String: Any], hash["algorithm"] as? String == "SHA2_256",
            base64(hash["digest"]) == payloadDigest, let sigs = v2["signatures"] as? [[String: Any]], sigs.count == 1
        else { return false }
        return base64(sigs[0]["content"]) == e.signature && verifierSigner(sigs[0]["verifier"], e.signer)
    }

    private static func base64(_ value: Any?) -> Data? { (value as? String).flatMap { Data(base64Encoded: $0) } }

    /// Rekor v1 names the signer as a PEM certificate or public key.
    private static func pemSigner(_ pem: Data?, _ signer: LoggedSignature.Signer) -> Bool {
        guard let pem, let text = String(data: pem, encoding: .utf8) else { return false }
        switch signer {
        case .certificate(let der): return PEM.blocks(text, label: "CERTIFICATE").first == der
        case .key(let spki): return PEM.blocks(text, label: "PUBLIC KEY").first == spki
        }
    }

    /// Rekor v2 names the signer as `{x509Certificate: {rawBytes}}` or `{publicKey: {rawBytes}}`.
    private static func verifierSigner(_ value: Any?, _ signer: LoggedSignature.Signer) -> Bool {
        guard let verifier = value as? [String: Any] else { return false }
        switch signer {
        case .certificate(let der): return base64((verifier["x509Certificate"] as? [String: Any])?["rawBytes"]) == der
        case .key(let spki): return base64((verifier["publicKey"] as? [String: Any])?["rawBytes"]) == spki
        }
    }
}
