import Foundation
import Sigstore

/// The shared Sigstore vectors, `../shared/vectors/sigstore` beside the package (or `$SEALGATE_VECTORS/sigstore`).
enum SigstoreVectors {
    static let directory: URL = {
        if let env = ProcessInfo.processInfo.environment["SEALGATE_VECTORS"] {
            return URL(fileURLWithPath: env).appendingPathComponent("sigstore")
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/vectors/sigstore")
    }()

    static var present: Bool { FileManager.default.fileExists(atPath: directory.appendingPathComponent("manifest.json").path) }

    static func data(_ relative: String) throws -> Data { try Data(contentsOf: directory.appendingPathComponent(relative)) }

    static func root(_ relative: String) throws -> TrustedRoot { try TrustedRoot(json: try data(relative)) }

    /// One case of `manifest.json`.
    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let kind: String
        let artifact: String?
        let digest: String?
        let bundle: String
        let identity: String?
        let issuer: String?
        let key: String?
        let certChain: String?
        let trustedRoot: String?
        let expectOK: Bool
        var description: String { name }
    }

    static func cases() throws -> [Case] {
        let object = try JSONSerialization.jsonObject(with: try data("manifest.json")) as? [String: Any]
        return (object?["cases"] as? [[String: Any]] ?? []).compactMap { c in
            guard let name = c["name"] as? String, let verify = c["verify"] as? [String: Any] else { return nil }
            return Case(
                name: name, kind: c["kind"] as? String ?? "", artifact: c["artifact"] as? String, digest: c["digest"] as? String,
                bundle: c["bundle"] as? String ?? "", identity: verify["identity"] as? String, issuer: verify["issuer"] as? String,
                key: verify["key"] as? String, certChain: verify["cert_chain"] as? String, trustedRoot: c["trusted_root"] as? String,
                expectOK: c["expect"] as? String == "ok")
        }
    }

    /// Runs a case through the public API; nil when it verified, else the refusal.
    static func run(_ c: Case) throws -> SigstoreError? { try runBundle(c, bundle: try data(c.bundle)) }

    /// Runs a case with other bundle bytes.
    static func runBundle(_ c: Case, bundle: Data) throws -> SigstoreError? {
        if c.kind == "oms" {
            let trust: ModelSignatureVerifier.Trust
            if let key = c.key {
                trust = .key(try SigstoreKey(pem: String(decoding: try data(key), as: UTF8.self)))
            } else {
                trust = .certificateRoots(PEM.blocks(String(decoding: try data(c.certChain ?? ""), as: UTF8.self), label: "CERTIFICATE"))
            }
            let dir = directory.appendingPathComponent(c.artifact ?? "")
            if case .refused(let e) = ModelSignatureVerifier(trust: trust).verify(bundleJSON: bundle, directory: dir) { return e }
            return nil
        }
        let input: ArtifactInput
        if let digest = c.digest.flatMap(ArtifactInput.init(digest:)) {
            input = digest
        } else {
            input = .bytes(try data(c.artifact ?? ""))
        }
        let policy = try IdentityPolicy(identity: .exact(c.identity ?? ""), issuer: .exact(c.issuer ?? ""))
        let verifier = BundleVerifier(trustedRoot: try root(c.trustedRoot ?? ""))
        return verifier.verify(bundleJSON: bundle, artifact: input, policy: .identity(policy)).refusal
    }
}
