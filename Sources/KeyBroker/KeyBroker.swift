import Attestation
import Crypto
import Foundation
import SealgateCore

/// The key broker: checks attestation evidence and releases tenant KEKs only to TEEs that passed.
///
/// It follows the KBS "RCAR" exchange: ``auth(tee:)`` gives a nonce; ``attest(sessionID:runtimeData:evidence:)``
/// appraises evidence that must bind the nonce and the TEE's public key and returns a short-lived token;
/// ``release(token:resource:)`` evaluates the tenant's release rule over the token's attestation result and
/// returns the KEKs HPKE-sealed to the attested key.
public actor KeyBroker {
    struct Session {
        let nonce: String
        let tee: TEEType
        let expires: Date
    }

    let appraiser: Appraiser
    let store: any KEKStore
    let masterKey: MasterKey
    let tokenKey: P256.Signing.PrivateKey
    let rules: @Sendable (TenantID, DataClass) -> ReleaseRule?
    let tokenTTL: TimeInterval
    let now: @Sendable () -> Date
    var sessions: [String: Session] = [:]

    /// Creates a broker.
    /// - Parameters:
    ///   - rules: the release rule for a tenant × class, or `nil` when the resource does not exist.
    ///   - tokenTTL: how long an attestation token (and so a release) is valid.
    public init(
        appraiser: Appraiser, store: any KEKStore, masterKey: MasterKey, tokenKey: P256.Signing.PrivateKey,
        tokenTTL: TimeInterval = 300, now: @escaping @Sendable () -> Date = { Date() },
        rules: @escaping @Sendable (TenantID, DataClass) -> ReleaseRule?
    ) {
        self.appraiser = appraiser
        self.store = store
        self.masterKey = masterKey
        self.tokenKey = tokenKey
        self.rules = rules
        self.tokenTTL = tokenTTL
        self.now = now
    }

    /// The public key that verifies the broker's tokens.
    public var tokenPublicKey: P256.Signing.PublicKey { tokenKey.publicKey }

    /// Creates version 1 of a tenant × class KEK if none exists.
    public func provision(tenant: TenantID, dataClass: DataClass) async throws {
        let existing = try await store.keks(tenant: tenant, dataClass: dataClass)
        guard existing.isEmpty else { return }
        let kek = SymmetricKey(size: .bits256)
        let sealed = try masterKey.seal(kek, tenant: tenant, dataClass: dataClass, version: 1)
        try await store.insert(
            StoredKEK(tenant: tenant, dataClass: dataClass, version: 1, sealedKey: sealed, createdAt: now()))
    }

    /// Starts an exchange: returns a session id and a fresh nonce.
    public func auth(tee: TEEType) -> AuthChallenge {
        let current = now()
        sessions = sessions.filter { $0.value.expires > current }
        let id = Base64URL.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
        let nonce = Base64URL.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
        sessions[id] = Session(nonce: nonce, tee: tee, expires: current.addingTimeInterval(120))
        return AuthChallenge(sessionID: id, nonce: nonce)
    }

    /// Appraises evidence for a session. The session's nonce is consumed whatever the outcome.
    public func attest(sessionID: String, runtimeData: RuntimeData, evidence: Evidence) -> AttestOutcome {
        guard let session = sessions.removeValue(forKey: sessionID), session.expires > now() else {
            return .denied(ReleaseDecision(allowed: false, reason: .unknownSession, rule: "session", result: nil))
        }
        guard runtimeData.nonce == session.nonce else {
            return .denied(ReleaseDecision(allowed: false, reason: .nonceMismatch, rule: "session.nonce", result: nil))
        }
        guard evidence.tee == session.tee, runtimeData.teePublicKey.publicKey != nil else {
            return .denied(ReleaseDecision(allowed: false, reason: .malformedRequest, rule: "session.tee", result: nil))
        }
        let result = appraiser.appraise(evidence, reportData: .equals(runtimeData.reportData), now: now())
        guard result.status != .contraindicated else {
            return .denied(
                ReleaseDecision(
                    allowed: false, reason: .attestationContraindicated, rule: "appraisal", result: result))
        }
        let claims = TokenClaims(
            iss: "sealgate-broker", iat: Int(now().timeIntervalSince1970),
            exp: Int(now().addingTimeInterval(tokenTTL).timeIntervalSince1970), teePublicKey: runtimeData.teePublicKey,
            result: result)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let token = try CompactJWS.sign(
                payload: try encoder.encode(claims), header: ["typ": "JWT"], key: tokenKey)
            return .token(token, result)
        } catch {
            return .denied(ReleaseDecision(allowed: false, reason: .tokenInvalid, rule: "token.sign", result: result))
        }
    }

    /// Decides a release and, when allowed, seals every KEK version of the resource to the token's TEE key.
    public func release(token: String, resource: ResourcePath) async -> ReleaseOutcome {
        guard let parsed = try? CompactJWS.parse(token), CompactJWS.isValid(parsed, key: tokenKey.publicKey),
            let claims = try? JSONDecoder().decode(TokenClaims.self, from: parsed.payload),
            let teeKey = claims.teePublicKey.publicKey
        else { return .denied(ReleaseDecision(allowed: false, reason: .tokenInvalid, rule: "token", result: nil)) }
        let result = claims.result
        guard Double(claims.exp) > now().timeIntervalSince1970 else {
            return .denied(ReleaseDecision(allowed: false, reason: .tokenExpired, rule: "token.exp", result: result))
        }
        guard let rule = rules(resource.tenant, resource.dataClass) else {
            return .denied(ReleaseDecision(allowed: false, reason: .unknownResource, rule: "resource", result: result))
        }
        let ruleName = "release.\(resource.tenant).\(resource.dataClass)"
        switch result.status {
        case .affirming:
            break
        case .warning where result.tee == .mock:
            guard rule.allowMockEvidence else {
                return .denied(
                    ReleaseDecision(
                        allowed: false, reason: .mockEvidenceNotPermitted, rule: ruleName + ".allow_mock_evidence",
                        result: result))
            }
        default:
            return .denied(
                ReleaseDecision(allowed: false, reason: .statusNotAccepted, rule: ruleName + ".status", result: result))
        }
        do {
            let stored = try await store.keks(tenant: resource.tenant, dataClass: resource.dataClass)
            guard !stored.isEmpty else {
                return .denied(
                    ReleaseDecision(allowed: false, reason: .unknownResource, rule: "resource", result: result))
            }
            var payload = ReleaseHPKE.Payload(versions: [])
            for kek in stored {
                let key = try masterKey.open(kek)
                payload.versions.append(
                    .init(version: kek.version, key: Base64URL.encode(key.withUnsafeBytes { Data($0) })))
            }
            var sender = try HPKE.Sender(
                recipientKey: teeKey, ciphersuite: ReleaseHPKE.suite, info: ReleaseHPKE.info(resource: resource.description))
            let ciphertext = try sender.seal(JSONEncoder().encode(payload))
            let wrapped = WrappedRelease(
                resource: resource.description, encapsulatedKey: sender.encapsulatedKey, ciphertext: ciphertext)
            return .released(wrapped, ReleaseDecision(allowed: true, reason: .granted, rule: ruleName, result: result))
        } catch {
            return .denied(
                ReleaseDecision(allowed: false, reason: .storeUnavailable, rule: "store", result: result))
        }
    }
}

/// The claims of a broker token.
struct TokenClaims: Codable {
    var iss: String
    var iat: Int
    var exp: Int
    var teePublicKey: ECPublicJWK
    var result: AttestationResult

    enum CodingKeys: String, CodingKey {
        case iss, iat, exp
        case teePublicKey = "tee-pubkey"
        case result = "ear"
    }
}
