import Crypto
import Foundation
import SealgateCore

/// What a gateway's evidence binds for a client that asked `GET /v1/attestation?nonce=…`: the client's nonce and
/// the SHA-256 of the SubjectPublicKeyInfo (DER) of the TLS key the gateway serves with. REPORT_DATA is SHA-512 of
/// the canonical JSON (sorted keys, no whitespace, `/` unescaped):
///
/// ```
/// {"nonce":"<base64url of 32 bytes>","tls-pubkey-sha256":"<64 hex>"}
/// ```
///
/// A client that compares `tls-pubkey-sha256` with the key of its own TLS connection knows the evidence speaks for
/// the endpoint it is talking to, and the nonce makes the evidence fresh.
public struct ClientAttestationBinding: Codable, Sendable, Equatable {
    public var nonce: String
    public var tlsPublicKeySHA256: String

    enum CodingKeys: String, CodingKey {
        case nonce
        case tlsPublicKeySHA256 = "tls-pubkey-sha256"
    }

    public init(nonce: String, tlsPublicKeySHA256: String) {
        self.nonce = nonce
        self.tlsPublicKeySHA256 = tlsPublicKeySHA256
    }

    /// The canonical encoding.
    public var canonicalJSON: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data()
    }

    /// REPORT_DATA: SHA-512 over ``canonicalJSON`` (64 bytes).
    public var reportData: Data { Data(SHA512.hash(data: canonicalJSON)) }

    /// Whether `nonce` is the canonical base64url (no padding) of exactly 32 bytes.
    public static func isValidNonce(_ nonce: String) -> Bool {
        guard nonce.count == 43, let bytes = Base64URL.decode(nonce), bytes.count == 32 else { return false }
        return Base64URL.encode(bytes) == nonce
    }
}

/// The body of `GET /v1/attestation`.
public struct GatewayAttestation: Codable, Sendable, Equatable {
    /// The evidence type (`mock`, `snp`, `tdx`, …).
    public var tee: String
    /// base64url of the evidence bytes.
    public var evidence: String
    /// `true`: fresh evidence binding the client's nonce (``ClientAttestationBinding``); `false`: the cached evidence
    /// of the gateway's last attestation to its broker, binding the broker's runtime data (``RuntimeData``, whose
    /// `workload-pubkey` is the TLS key under attested TLS).
    public var fresh: Bool
    /// The JSON whose SHA-512 is the evidence's REPORT_DATA, exactly as hashed.
    public var runtimeData: String
    /// SHA-256 (hex) of the SubjectPublicKeyInfo of the TLS key the gateway serves with now; absent on plain HTTP.
    public var tlsPublicKeySHA256: String?
    /// The TLS certificate chain (PEM, leaf first), when serving TLS.
    public var certificateChain: [String]
    /// The attestation token (EAR) the broker issued at the last attestation, if any.
    public var earToken: String?
    /// The gateway's measurement and policy digest (hex).
    public var measurement: String
    public var policyDigest: String
    /// The audit log's verifier key (signed-note format).
    public var auditKey: String

    enum CodingKeys: String, CodingKey {
        case tee, evidence, fresh, measurement
        case runtimeData = "runtime_data"
        case tlsPublicKeySHA256 = "tls_pubkey_sha256"
        case certificateChain = "certificate_chain"
        case earToken = "ear_token"
        case policyDigest = "policy_digest"
        case auditKey = "audit_key"
    }

    public init(
        tee: String, evidence: String, fresh: Bool, runtimeData: String, tlsPublicKeySHA256: String?, certificateChain: [String], earToken: String?,
        measurement: String, policyDigest: String, auditKey: String
    ) {
        self.tee = tee
        self.evidence = evidence
        self.fresh = fresh
        self.runtimeData = runtimeData
        self.tlsPublicKeySHA256 = tlsPublicKeySHA256
        self.certificateChain = certificateChain
        self.earToken = earToken
        self.measurement = measurement
        self.policyDigest = policyDigest
        self.auditKey = auditKey
    }
}
