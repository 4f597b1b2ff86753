import Attestation
import Crypto
import Foundation
import JOSE
import SealgateCore

// The KBS RCAR protocol's vocabulary (`protocol.md`): what the gateway side and the broker side exchange.
// The gateway (`KeyLease`, `Gateway`, `BrokerClientHTTP`) depends on this target only, never on the broker.

/// Stable reason codes for broker decisions (release-policy reasons pass through unchanged).
public struct BrokerReason: StringCode {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public static let granted = BrokerReason("granted")
    /// A dashboard data request named a time range the broker does not keep.
    public static let unknownTimeRange = BrokerReason("unknown_time_range")
    /// A dashboard data request asked for fewer than one bucket or more than one per minute of the range.
    public static let bucketCountOutOfRange = BrokerReason("bucket_count_out_of_range")
    /// No session cookie or token was presented.
    public static let unauthenticated = BrokerReason("unauthenticated")
    public static let unknownSession = BrokerReason("unknown_session")
    public static let sessionExpired = BrokerReason("session_expired")
    /// `attest` was called again on a session whose nonce was already consumed.
    public static let nonceReplayed = BrokerReason("nonce_replayed")
    public static let nonceMismatch = BrokerReason("nonce_mismatch")
    public static let unsupportedVersion = BrokerReason("unsupported_protocol_version")
    public static let unsupportedTEE = BrokerReason("unsupported_tee")
    public static let malformedJWK = BrokerReason("malformed_jwk")
    public static let attestationContraindicated = BrokerReason("attestation_contraindicated")
    public static let tokenInvalid = BrokerReason("token_invalid")
    public static let tokenExpired = BrokerReason("token_expired")
    public static let unknownResource = BrokerReason("unknown_resource")
    public static let tenantShredded = BrokerReason("tenant_shredded")
    public static let mockEvidenceNotPermitted = BrokerReason("mock_evidence_not_permitted")
    public static let statusNotAccepted = BrokerReason("status_not_accepted")
    public static let malformedRequest = BrokerReason("malformed_request")
    /// Reference values were refused: a pinned image digest's Sigstore bundle is missing or does not verify under
    /// the set's `signed_by` (the rule names the set and the bundle's reason).
    public static let imageSignatureRefused = BrokerReason("image_signature_refused")
    public static let storageUnavailable = BrokerReason("storage_unavailable")
    public static let encryptionFailed = BrokerReason("encryption_failed")
    public static let tokenIssueFailed = BrokerReason("token_issue_failed")
    /// Admin API: no or unknown admin credential.
    public static let adminUnauthenticated = BrokerReason("admin_unauthenticated")
    /// Admin API: the credential lacks the role the call needs.
    public static let roleMissing = BrokerReason("role_missing")
    public static let alreadyExists = BrokerReason("already_exists")
    public static let conflict = BrokerReason("conflict")
    /// The master key (file or environment) is unusable: wrong length, not hex, or a file others may read.
    public static let masterKeyRefused = BrokerReason("master_key_refused")
    /// A workload certificate was asked for a key the attested evidence did not bind.
    public static let workloadKeyNotBound = BrokerReason("workload_key_not_bound")
    /// A workload certificate was asked for a workload class the broker has no enrolment for.
    public static let workloadNotEnrolled = BrokerReason("workload_not_enrolled")
    /// The workload CA could not sign (no usable CA key).
    public static let certificateIssueFailed = BrokerReason("certificate_issue_failed")
    /// The broker requires a workload certificate on the TLS connection (`--require-client-cert`) and none was presented.
    public static let clientCertificateRequired = BrokerReason("client_certificate_required")
    /// The TLS client certificate's key is not the workload key the token's evidence bound.
    public static let clientCertificateMismatch = BrokerReason("client_certificate_mismatch")
    /// The operations policy needs a quorum for this action: propose it (`sealgate keys propose`) instead.
    public static let quorumRequired = BrokerReason("quorum_required")
    /// A proposer may not approve its own proposal.
    public static let proposalSelfApproval = BrokerReason("proposal_self_approval")
    /// The approving credential was created after the proposal: it cannot count towards that proposal's quorum.
    public static let proposalApproverTooNew = BrokerReason("proposal_approver_too_new")
    /// Too many requests from one source address (`POST /kbs/v0/auth`: 20 a second, bursts of 100).
    public static let rateLimited = BrokerReason("rate_limited")
    /// This credential already approved the proposal.
    public static let proposalAlreadyApproved = BrokerReason("proposal_already_approved")
    /// The proposal's approval window has passed.
    public static let proposalExpired = BrokerReason("proposal_expired")
    /// The digest approved is not the digest of the proposal's current content.
    public static let proposalDigestMismatch = BrokerReason("proposal_digest_mismatch")
    /// The proposal was already executed, failed or expired.
    public static let proposalClosed = BrokerReason("proposal_closed")
    /// A revoked admin credential was presented.
    public static let credentialRevoked = BrokerReason("credential_revoked")
    /// The credential is not named in the operations policy's break-glass list, or the duration is out of range.
    public static let breakGlassNotPermitted = BrokerReason("break_glass_not_permitted")
}

/// The runtime data a TEE binds into its evidence: the broker's nonce and the TEE's public key (a JWK), and — for a
/// TEE that will ask for a workload certificate — the public key it generated for that certificate.
public struct RuntimeData: Codable, Sendable, Equatable {
    public var nonce: String
    public var teePublicKey: JWK
    /// A Sealgate extension: the public key (EC P-256 or P-384) of a workload certificate the TEE will request.
    /// Omitted from the JSON when `nil`, so runtime data of plain KBS clients is unchanged.
    public var workloadPublicKey: JWK?
    /// A Sealgate extension: the digest (`sha256:<hex>`, the OMS manifest digest) of the sealed model this workload
    /// serves (`tee-proxy --model`). Bound into the evidence like the keys, so the broker can certify it in the
    /// workload certificate (``WorkloadExtension/modelDigest``). Omitted from the JSON when `nil`.
    public var modelDigest: String?

    enum CodingKeys: String, CodingKey {
        case nonce
        case teePublicKey = "tee-pubkey"
        case workloadPublicKey = "workload-pubkey"
        case modelDigest = "model-digest"
    }

    public init(nonce: String, teePublicKey: JWK, workloadPublicKey: JWK? = nil, modelDigest: String? = nil) {
        self.nonce = nonce
        self.teePublicKey = teePublicKey
        self.workloadPublicKey = workloadPublicKey
        self.modelDigest = modelDigest
    }

    /// The canonical encoding: JSON with sorted keys, no insignificant whitespace, slashes unescaped.
    public var canonicalJSON: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data()
    }

    /// REPORT_DATA: SHA-512 over ``canonicalJSON`` (64 bytes).
    public var reportData: Data { Data(SHA512.hash(data: canonicalJSON)) }
}

/// Init-data a guest was started with (KBS `init-data`): its digest must be in the evidence.
public struct InitData: Codable, Sendable, Equatable {
    /// `toml` or `json`.
    public var format: String
    public var body: String

    public init(format: String, body: String) {
        self.format = format
        self.body = body
    }

    /// The digest the evidence carries: SHA-384 for TDX (MRCONFIGID), SHA-256 otherwise (HOST_DATA, mock).
    public func digest(for tee: TEEType) -> Data {
        tee == .tdx ? Data(SHA384.hash(data: Data(body.utf8))) : Data(SHA256.hash(data: Data(body.utf8)))
    }
}

/// A KBS resource path naming a tenant's KEK for one data class: `<tenant>/kek/<data-class>`.
public struct ResourcePath: Sendable, Hashable, CustomStringConvertible {
    public let tenant: TenantID
    public let dataClass: DataClass

    public init(tenant: TenantID, dataClass: DataClass) {
        self.tenant = tenant
        self.dataClass = dataClass
    }

    /// Parses `<tenant>/kek/<data-class>`.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[1] == "kek", let tenant = TenantID(parts[0]), let dataClass = DataClass(parts[2])
        else { return nil }
        self.init(tenant: tenant, dataClass: dataClass)
    }

    public var description: String { "\(tenant)/kek/\(dataClass)" }
}

/// The broker's answer to `auth`.
public struct AuthChallenge: Sendable, Equatable {
    public let sessionID: String
    public let nonce: String
    public let expires: Date

    public init(sessionID: String, nonce: String, expires: Date) {
        self.sessionID = sessionID
        self.nonce = nonce
        self.expires = expires
    }
}

/// The body of `attest`.
public struct AttestRequest: Sendable, Equatable {
    public var runtimeData: RuntimeData
    public var initData: InitData?
    public var evidence: Evidence

    public init(runtimeData: RuntimeData, initData: InitData? = nil, evidence: Evidence) {
        self.runtimeData = runtimeData
        self.initData = initData
        self.evidence = evidence
    }
}

/// A decision about attestation or release: a value naming what decided and why.
/// Also an `Error`, so broker calls can return `Result<_, ReleaseDecision>`.
public struct ReleaseDecision: Error, Sendable, Equatable {
    public let allowed: Bool
    public let reason: BrokerReason
    /// The rule that decided, e.g. `acme-restricted-hardware/allOf[1]/not` or `session.nonce`.
    public let rule: String
    public let result: AttestationResult?
    /// Whether a release policy decided (its reason code is the policy author's, never a transport or store code).
    public let byPolicy: Bool

    /// Attestation failure reasons a remote broker reported without its full result (over HTTP).
    let reportedCauses: [AttestationReason]

    public init(
        allowed: Bool, reason: BrokerReason, rule: String, result: AttestationResult?, byPolicy: Bool = false,
        reportedCauses: [AttestationReason] = []
    ) {
        self.allowed = allowed
        self.reason = reason
        self.rule = rule
        self.result = result
        self.byPolicy = byPolicy
        self.reportedCauses = reportedCauses
    }

    /// Why the evidence did not appraise, as stable codes (`measurement_unknown`, `unknown_signer`, …): from the
    /// result when there is one, else what the broker reported.
    public var causes: [AttestationReason] {
        guard let result else { return reportedCauses }
        var seen: [AttestationReason] = []
        for failure in result.failures where !seen.contains(failure.reason) { seen.append(failure.reason) }
        return seen
    }

    /// Whether the request presented no valid credential (no session, token or cookie that this broker issued):
    /// such refusals are counted but not written to the audit log, so unauthenticated traffic cannot grow it.
    public var isUnauthenticated: Bool {
        !allowed && [.unauthenticated, .unknownSession, .sessionExpired, .tokenInvalid, .tokenExpired, .nonceReplayed, .adminUnauthenticated].contains(reason)
    }
}

/// The outcome of `attest`: a token, or a denial.
public enum AttestOutcome: Sendable {
    case token(String, AttestationResult)
    case denied(ReleaseDecision)
}

/// How a resource request proves attestation: the session cookie of an attested session, or the token itself.
public enum BrokerCredential: Sendable, Equatable {
    case session(String)
    case token(String)
    /// Nothing was presented.
    case none
}

/// The outcome of a resource request.
public enum ReleaseOutcome: Sendable {
    /// The resource, encrypted to the attested TEE key; `keyIDs` names released KEK versions (`acme/kek/internal#2`).
    case released(FlattenedJWE, ReleaseDecision, keyIDs: [String])
    case denied(ReleaseDecision)
}

/// The plaintext of a released KEK resource (inside the JWE).
public struct KEKRelease: Codable, Sendable, Equatable {
    public struct Version: Codable, Sendable, Equatable {
        public var version: Int
        /// base64url of the 32 key bytes.
        public var key: String
        /// `active` (newest: wraps new DEKs) or `decrypt_only` (older: unwraps until retired).
        public var state: String

        public init(version: Int, key: String, state: String) {
            self.version = version
            self.key = key
            self.state = state
        }
    }
    public var resource: String
    /// The version new DEKs are wrapped under.
    public var current: Int
    public var versions: [Version]

    public init(resource: String, current: Int, versions: [Version]) {
        self.resource = resource
        self.current = current
        self.versions = versions
    }
}

/// The claims of a broker token (a JWT, ES256).
public struct TokenClaims: Codable, Sendable, Equatable {
    public var iss: String
    public var iat: Int
    public var exp: Int
    public var jti: String
    /// The attested TEE key resources are encrypted to.
    public var teePublicKey: JWK
    /// The EAR-shaped attestation result.
    public var result: AttestationResult
    /// The workload-certificate key the evidence bound (``RuntimeData/workloadPublicKey``), if any.
    public var workloadPublicKey: JWK?
    /// The model digest the evidence bound (``RuntimeData/modelDigest``), if any.
    public var modelDigest: String?

    public init(
        iss: String, iat: Int, exp: Int, jti: String, teePublicKey: JWK, result: AttestationResult, workloadPublicKey: JWK? = nil,
        modelDigest: String? = nil
    ) {
        self.iss = iss
        self.iat = iat
        self.exp = exp
        self.jti = jti
        self.teePublicKey = teePublicKey
        self.result = result
        self.workloadPublicKey = workloadPublicKey
        self.modelDigest = modelDigest
    }

    enum CodingKeys: String, CodingKey {
        case iss, iat, exp, jti
        case teePublicKey = "tee-pubkey"
        case result = "ear"
        case workloadPublicKey = "workload-pubkey"
        case modelDigest = "model-digest"
    }
}
