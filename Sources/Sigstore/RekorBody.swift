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
        try StrictJSON.requireUniqueKeys(entry.canonicalizedBody, reason: .tlogBodyMismatch, what: "the log entry body")
        guard let body = try? JSONDecoder().decode(Body.self, from: entry.canonicalizedBody) else {
            throw SigstoreError(.tlogBodyMismatch, "the log entry body is not JSON")
        }
        guard body.kind == entry.kind, body.apiVersion == entry.version else {
            throw SigstoreError(.tlogBodyMismatch, "the log entry body's kind or version differs from kindVersion")
        }
        let matches: Bool
        switch (entry.kind, entry.version) {
        case ("hashedrekord", "0.0.1"): matches = body.spec.hashedRekordV1.map { hashedRekordV1($0, expected) } ?? false
        case ("hashedrekord", "0.0.2"): matches = body.spec.hashedRekordV2.map { hashedRekordV2($0, expected) } ?? false
        case ("dsse", "0.0.1"): matches = body.spec.dsseV1.map { dsseV1($0, expected) } ?? false
        case ("dsse", "0.0.2"): matches = body.spec.dsseV2.map { dsseV2($0, expected) } ?? false
        default: throw SigstoreError(.unsupportedEntryKind, "log entry kind \(entry.kind) \(entry.version) is not supported")
        }
        guard matches else {
            throw SigstoreError(.tlogBodyMismatch, "the log entry does not record this bundle's signature, signer and digest")
        }
    }

    private static func hashedRekordV1(_ spec: Body.HashedRekordV1, _ e: LoggedSignature) -> Bool {
        spec.data.hash.algorithm == "sha256" && spec.data.hash.value.lowercased() == e.signedDigest.hexString
            && base64(spec.signature.content) == e.signature && pemSigner(base64(spec.signature.publicKey.content), e.signer)
    }

    private static func hashedRekordV2(_ spec: Body.HashedRekordV2, _ e: LoggedSignature) -> Bool {
        spec.data.algorithm == "SHA2_256" && base64(spec.data.digest) == e.signedDigest && base64(spec.signature.content) == e.signature
            && verifierSigner(spec.signature.verifier, e.signer)
    }

    private static func dsseV1(_ spec: Body.DSSEV1, _ e: LoggedSignature) -> Bool {
        guard let payloadDigest = e.payloadDigest, spec.payloadHash.algorithm == "sha256",
            spec.payloadHash.value.lowercased() == payloadDigest.hexString, spec.signatures.count == 1
        else { return false }
        return base64(spec.signatures[0].signature) == e.signature && pemSigner(base64(spec.signatures[0].verifier), e.signer)
    }

    private static func dsseV2(_ spec: Body.DSSEV2, _ e: LoggedSignature) -> Bool {
        guard let payloadDigest = e.payloadDigest, spec.payloadHash.algorithm == "SHA2_256",
            base64(spec.payloadHash.digest) == payloadDigest, spec.signatures.count == 1
        else { return false }
        return base64(spec.signatures[0].content) == e.signature && verifierSigner(spec.signatures[0].verifier, e.signer)
    }

    private static func base64(_ value: String) -> Data? { Data(base64Encoded: value) }

    /// Rekor v1 names the signer as a PEM certificate or public key.
    private static func pemSigner(_ pem: Data?, _ signer: LoggedSignature.Signer) -> Bool {
        guard let pem, let text = String(data: pem, encoding: .utf8) else { return false }
        switch signer {
        case .certificate(let der): return PEM.blocks(text, label: "CERTIFICATE").first == der
        case .key(let spki): return PEM.blocks(text, label: "PUBLIC KEY").first == spki
        }
    }

    /// Rekor v2 names the signer as `{x509Certificate: {rawBytes}}` or `{publicKey: {rawBytes}}`.
    private static func verifierSigner(_ verifier: Body.Verifier, _ signer: LoggedSignature.Signer) -> Bool {
        switch signer {
        case .certificate(let der): return verifier.x509Certificate.flatMap { base64($0.rawBytes) } == der
        case .key(let spki): return verifier.publicKey.flatMap { base64($0.rawBytes) } == spki
        }
    }
}
