import ArgumentParser
import Foundation
import Sigstore

/// Who must have signed and which trusted root to use: the options `sigstore verify-bundle`, `model verify` and
/// `image verify` share (cosign's and the sigstore-conformance protocol's names).
struct SignerOptions: ParsableArguments {
    @Flag(help: "Use Sigstore's public-good staging instance instead of production.") var staging = false
    @Option(name: .customLong("certificate-identity"), help: "The signing certificate's SAN must equal this.")
    var identity: String?
    @Option(name: .customLong("certificate-identity-regexp"), help: "The SAN must match this regular expression (whole value).")
    var identityRegexp: String?
    @Option(name: .customLong("certificate-oidc-issuer"), help: "The Fulcio OIDC issuer extension must equal this.")
    var issuer: String?
    @Option(name: .customLong("certificate-oidc-issuer-regexp"), help: "The OIDC issuer must match this regular expression.")
    var issuerRegexp: String?
    @Option(help: "A PEM public key (ECDSA P-256/P-384, Ed25519, RSA) instead of a certificate identity.") var key: String?
    @Option(name: .customLong("trusted-root"), help: "A Sigstore trusted_root.json instead of the embedded public-good root.")
    var trustedRoot: String?
    @Option(
        name: .customLong("certificate-chain"), parsing: .singleValue,
        help: "model verify only: PEM CA certificate(s) a certificate-signed model must chain to (repeatable).")
    var certificateChain: [String] = []
    @Flag(
        name: .customLong("insecure-ignore-tlog"),
        help: "With --key: accept a bundle without a transparency log entry or RFC 3161 timestamp (cosign's flag of that name).")
    var ignoreTlog = false

    func validate() throws {
        let identityGiven = identity != nil || identityRegexp != nil
        let issuerGiven = issuer != nil || issuerRegexp != nil
        if identity != nil && identityRegexp != nil { throw ValidationError("give --certificate-identity or --certificate-identity-regexp, not both") }
        if issuer != nil && issuerRegexp != nil { throw ValidationError("give --certificate-oidc-issuer or --certificate-oidc-issuer-regexp, not both") }
        let chosen = [key != nil, identityGiven || issuerGiven, !certificateChain.isEmpty].filter { $0 }.count
        if chosen != 1 || (identityGiven != issuerGiven) {
            throw ValidationError("give --certificate-identity(-regexp) with --certificate-oidc-issuer(-regexp), or --key")
        }
    }

    /// The signer policy the options name (not for `--certificate-chain`, which the caller handles).
    func policy() throws -> SignerPolicy {
        if let key {
            let pem = try readText(key, what: "key")
            do {
                let key = try SigstoreKey(pem: pem)
                return ignoreTlog ? .key(key) : .loggedKey(key)
            } catch {
                throw RuntimeFailure("\(key) holds no usable PEM public key (ECDSA P-256/P-384, Ed25519 or RSA 'PUBLIC KEY')")
            }
        }
        let san: IdentityPolicy.Matcher = identity.map { .exact($0) } ?? .regex(identityRegexp ?? "")
        let oidc: IdentityPolicy.Matcher = issuer.map { .exact($0) } ?? .regex(issuerRegexp ?? "")
        do { return .identity(try IdentityPolicy(identity: san, issuer: oidc)) } catch {
            throw RuntimeFailure("\(error); fix the regular expression")
        }
    }

    /// The trusted root: `--trusted-root`, else the embedded public-good root (`--staging` for staging).
    func root() throws -> TrustedRoot {
        guard let trustedRoot else { return try PublicGoodRoot.trustedRoot(staging ? .staging : .production) }
        let data = try readData(trustedRoot, what: "trusted root")
        do { return try TrustedRoot(json: data) } catch {
            throw RuntimeFailure("\(trustedRoot): \(error); give a Sigstore trusted_root.json")
        }
    }
}

/// A file's bytes, or a failure naming it.
func readData(_ path: String, what: String, limit: Int? = nil) throws -> Data {
    let url = URL(fileURLWithPath: path)
    if let limit, let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > limit {
        throw RuntimeFailure("\(path): the \(what) is \(size) bytes, above the limit of \(limit)")
    }
    guard let data = try? Data(contentsOf: url, options: .mappedIfSafe) else {
        throw RuntimeFailure("cannot read the \(what) \(path); check the path and its permissions")
    }
    return data
}

func readText(_ path: String, what: String) throws -> String { String(decoding: try readData(path, what: what), as: UTF8.self) }

/// A refusal as the one-line failure the CLI prints (exit 1).
func refusalFailure(_ error: SigstoreError) -> RuntimeFailure {
    RuntimeFailure("refused (\(error.reason.rawValue)): \(error.detail)")
}

/// Prints what a verified bundle proves.
func printVerified(_ verified: VerifiedBundle, subject: String) {
    var line = "OK: \(subject) sha256:\(verified.artifactDigest.map { String(format: "%02x", $0) }.joined())"
    if let identity = verified.identities.first { line += " signed by \(identity)" }
    if let issuer = verified.issuer { line += " (issuer \(issuer))" }
    if let time = verified.signingTimes.first { line += " at \(ISO8601DateFormatter().string(from: time))" }
    print(line)
}
