import Attestation
import Crypto
import Foundation
import SealgateCore

/// The key broker's error: malformed input and failed dependencies only. Denials are ``ReleaseDecision`` values.
public struct KeyBrokerError: Error, Sendable, CustomStringConvertible {
    public let reason: BrokerReason
    public let message: String
    public init(_ reason: BrokerReason, _ message: String) {
        self.reason = reason
        self.message = message
    }
    public var description: String { "\(reason.rawValue): \(message)" }
}

/// Stable reason codes for broker decisions.
public struct BrokerReason: Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public static let granted = BrokerReason("granted")
    public static let unknownSession = BrokerReason("unknown_session")
    public static let nonceMismatch = BrokerReason("nonce_mismatch")
    public static let attestationContraindicated = BrokerReason("attestation_contraindicated")
    public static let tokenInvalid = BrokerReason("token_invalid")
    public static let tokenExpired = BrokerReason("token_expired")
    public static let unknownResource = BrokerReason("unknown_resource")
    public static let mockEvidenceNotPermitted = BrokerReason("mock_evidence_not_permitted")
    public static let statusNotAccepted = BrokerReason("status_not_accepted")
    public static let malformedRequest = BrokerReason("malformed_request")
    public static let storeUnavailable = BrokerReason("store_unavailable")
}

/// A P-256 public key as a JWK (the `tee-pubkey` of the KBS protocol).
public struct ECPublicJWK: Codable, Sendable, Equatable {
    public var kty: String
    public var crv: String
    public var x: String
    public var y: String

    /// The JWK of a key-agreement public key.
    public init(_ key: P256.KeyAgreement.PublicKey) {
        let (x, y) = CompactJWS.coordinates(x963: key.x963Representation)
        self.kty = "EC"
        self.crv = "P-256"
        self.x = x
        self.y = y
    }

    /// The key, or `nil` when the coordinates are not a P-256 point.
    public var publicKey: P256.KeyAgreement.PublicKey? {
        guard kty == "EC", crv == "P-256", let xd = Base64URL.decode(x), let yd = Base64URL.decode(y),
            xd.count == 32, yd.count == 32
        else { return nil }
        return try? P256.KeyAgreement.PublicKey(x963Representation: Data([4]) + xd + yd)
    }
}

/// The runtime data a TEE binds into its evidence: the broker's nonce and the TEE's ephemeral public key.
public struct RuntimeData: Codable, Sendable, Equatable {
    public var nonce: String
    public var teePublicKey: ECPublicJWK

    enum CodingKeys: String, CodingKey {
        case nonce
        case teePublicKey = "tee-pubkey"
    }

    public init(nonce: String, teePublicKey: ECPublicJWK) {
        self.nonce = nonce
        self.teePublicKey = teePublicKey
    }

    /// REPORT_DATA: SHA-512 over the runtime data's sorted-key JSON encoding (64 bytes).
    public var reportData: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(self)) ?? Data()
        return Data(SHA512.hash(data: json))
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
}

/// A decision about attestation or release: a value naming what decided and why.
public struct ReleaseDecision: Sendable, Equatable {
    public let allowed: Bool
    public let reason: BrokerReason
    /// The rule that decided, e.g. `release.acme.restricted.mock_evidence`.
    public let rule: String
    public let result: AttestationResult?

    public init(allowed: Bool, reason: BrokerReason, rule: String, result: AttestationResult?) {
        self.allowed = allowed
        self.reason = reason
        self.rule = rule
        self.result = result
    }
}

/// The outcome of `attest`: a token, or a denial.
public enum AttestOutcome: Sendable {
    case token(String, AttestationResult)
    case denied(ReleaseDecision)
}

/// Key material released to one TEE: every active KEK version, HPKE-sealed to the TEE's key.
public struct WrappedRelease: Sendable, Equatable {
    public let resource: String
    /// HPKE encapsulated key (P256_SHA256_AES_GCM_256).
    public let encapsulatedKey: Data
    /// HPKE ciphertext of the JSON `{"versions": [{"version": n, "key": b64url}]}`.
    public let ciphertext: Data
}

/// The outcome of a release request.
public enum ReleaseOutcome: Sendable {
    case released(WrappedRelease, ReleaseDecision)
    case denied(ReleaseDecision)
}

/// Per tenant × data class release rule.
public struct ReleaseRule: Sendable, Equatable {
    /// Whether `warning` results from mock evidence may receive this key (development only).
    public var allowMockEvidence: Bool
    public init(allowMockEvidence: Bool) { self.allowMockEvidence = allowMockEvidence }
}

/// The HPKE suite and info string both sides use for releases.
public enum ReleaseHPKE {
    public static let suite = HPKE.Ciphersuite.P256_SHA256_AES_GCM_256
    /// Info binds the resource path so a release cannot be replayed for another resource.
    public static func info(resource: String) -> Data { Data("sealgate-kek-release-v1|\(resource)".utf8) }

    /// The plaintext inside a release.
    public struct Payload: Codable, Sendable {
        public struct Version: Codable, Sendable {
            public var version: Int
            public var key: String
        }
        public var versions: [Version]
    }
}
