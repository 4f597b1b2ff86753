import Attestation
import Crypto
import Foundation
import JOSE
import ReferenceImages
import ReleasePolicy
import SealgateCore

/// Something the broker decided, for audit records, metrics and security events (never key material).
public struct BrokerEvent: Sendable {
    public enum Kind: String, Sendable { case attestation, release, admin }
    public let kind: Kind
    public let decision: ReleaseDecision
    /// The evidence type (`mock`, `snp`, …), or `-` for admin events.
    public let tee: String
    /// The tenant concerned, or `-`.
    public let tenant: String
    /// The resource path (`acme/kek/internal`) or the admin action's target.
    public let resource: String?
    /// `kek`, `secret`, `attestation` or the admin action (`rotate`, `shred`, …).
    public let resourceType: String
    /// KEK versions released (`acme/kek/internal#2`).
    public let keyIDs: [String]
    /// The admin credential's name, or `tee` for the KBS protocol.
    public let principal: String

    public init(
        kind: Kind, decision: ReleaseDecision, tee: String, tenant: String, resource: String?, resourceType: String, keyIDs: [String],
        principal: String
    ) {
        self.kind = kind
        self.decision = decision
        self.tee = tee
        self.tenant = tenant
        self.resource = resource
        self.resourceType = resourceType
        self.keyIDs = keyIDs
        self.principal = principal
    }
}

/// The key broker: appraises attestation evidence and releases tenant resources only to TEEs that passed, under
/// every applicable release policy.
///
/// It implements the Confidential Containers KBS "RCAR" exchange as a state machine over sessions: ``auth(version:tee:)``
/// issues a nonce; ``attest(sessionID:_:)`` appraises evidence that must bind the nonce and the TEE's public key
/// (and the init-data digest when given) and returns a short-lived token; ``resource(_:path:)`` evaluates the
/// release policies over the token's attestation result and returns the resource as a JWE for the attested key.
/// The same actor serves the embedded in-process default and the standalone `sealgate broker`.
public actor KeyBroker {
    let verifiers: [any AttestationVerifier]
    var appraiser: Appraiser
    var policySet: PolicySet
    /// The store, its release-controlling records sealed under ``protector`` (``SealedBrokerStore``).
    let store: SealedBrokerStore
    let protector: any KeyProtector
    let tokenKey: P256.Signing.PrivateKey
    /// The `iss` of this broker's tokens: names the token key, so a token from another broker never verifies here.
    public nonisolated let issuer: String
    let tokenTTL: TimeInterval
    let sessionTTL: TimeInterval
    let now: @Sendable () -> Date
    let onEvent: @Sendable (BrokerEvent) async -> Void
    /// RCAR sessions: in memory, or shared with other brokers through the database.
    let sessions: any SessionStore
    /// The workload CA versions (newest last), opened on first use; `nil` until then, and again when another broker
    /// on the store changed them (``refreshIfChanged()``).
    var workloadCAs: [WorkloadCA]?
    /// The stored value ``workloadCAs`` was opened from: a change is saved only if the store still holds it.
    var workloadCAsStored: Data?
    /// Serialises opening, creating and changing the workload CA versions across the actor's suspension points: two
    /// first certificate requests at once must not each create a version 1 (the loser's certificates would chain to a
    /// CA that is neither stored nor served).
    let caLock = AsyncMutex()
    /// Workload enrolments by class, read on first use; `nil` until then, and again when another broker changed them.
    var enrolmentCache: [WorkloadClass: WorkloadEnrolment]?
    /// Serialises credential changes across the actor's suspension points (check-then-act on the credential table).
    let credentialLock = AsyncMutex()
    /// Serialises proposal changes (read, approve, execute, write back).
    let proposalLock = AsyncMutex()
    /// The operational access policy: roles per admin action, quorum, break-glass.
    var operationsPolicy = OperationsPolicy.default
    /// Whether the policies and reference values come from the store (``load(overrideReferenceValues:unsealed:)``),
    /// and are reloaded when another broker changes them; `false` for a broker given them by its configuration (the
    /// gateway's embedded broker), which never takes them from the store.
    var configurationFromStore = false
    /// The store's ``generationSetting`` when this broker last loaded its policies and reference values.
    var loadedGeneration: Data?
    let maxSessions = 100_000

    /// The KBS protocol versions this broker speaks.
    public static let protocolVersions: Set<String> = ["0.1.0", "0.1.1", "0.2.0", "0.3.0", "0.4.0"]

    /// Creates a broker. Call ``load()`` to pick up policies and reference values persisted in the store.
    /// - Parameters:
    ///   - referenceValues: the reference values to start with (the store's, when ``load()`` finds some, win only
    ///     when these are `nil`).
    ///   - tokenTTL: how long an attestation token (and an attested session) lives.
    public init(
        verifiers: [any AttestationVerifier], referenceValues: ReferenceValues, policies: PolicySet, store: any BrokerStore,
        protector: any KeyProtector, tokenKey: P256.Signing.PrivateKey, tokenTTL: TimeInterval = 300,
        sessionTTL: TimeInterval = 120, now: @escaping @Sendable () -> Date = { Date() },
        sessions: any SessionStore = InMemorySessionStore(),
        onEvent: @escaping @Sendable (BrokerEvent) async -> Void = { _ in }
    ) {
        self.sessions = sessions
        self.verifiers = verifiers
        self.appraiser = Self.appraiser(referenceValues, verifiers: verifiers)
        self.policySet = policies
        self.store = SealedBrokerStore(base: store, protector: protector)
        self.protector = protector
        self.tokenKey = tokenKey
        self.issuer = "sealgate-broker:" + Base64URL.encode(Data(SHA256.hash(data: tokenKey.publicKey.x963Representation))).prefix(22)
        self.tokenTTL = tokenTTL
        self.sessionTTL = sessionTTL
        self.now = now
        self.onEvent = onEvent
    }

    /// The public key that verifies this broker's tokens.
    public var tokenPublicKey: P256.Signing.PublicKey { tokenKey.publicKey }

    /// The reference values in force.
    public var referenceValues: ReferenceValues { appraiser.referenceValues }

    /// The release policies in force.
    public var policies: [ReleasePolicyDocument] { policySet.policies }

    /// Checks the stored records (``establishStoredRecords(_:)``), then loads persisted policies, and persisted
    /// reference values unless `overrideReferenceValues` (they are then stored instead). From then on this broker
    /// takes its policies and reference values from the store, and reloads them when another broker changes them.
    /// - Parameter unsealed: what to do with records an earlier release left in clear.
    /// - Returns: what the check found and did.
    @discardableResult
    public func load(overrideReferenceValues: Bool, unsealed: UnsealedRecords = .refuse) async throws -> StoredRecordsReport {
        let report = try await establishStoredRecords(unsealed)
        configurationFromStore = true
        let stored = try await store.policies()
        if !stored.isEmpty {
            var documents: [ReleasePolicyDocument] = []
            for (_, json) in stored { documents += try ReleasePolicyLoader.decode(json) }
            policySet = try PolicySet(documents + policySet.policies.filter { p in !documents.contains { $0.id == p.id } })
        }
        if overrideReferenceValues {
            try await store.putReferenceValues(try Self.canonical(appraiser.referenceValues))
            try await publishGeneration()
            return report
        }
        if let (values, signers) = try await storedReferenceValues() { appraiser = Self.appraiser(values, verifiers: verifiers, images: signers) }
        loadedGeneration = try await store.setting(Self.generationSetting)
        return report
    }

    /// Checks reference values before a broker takes them: the mock signers are P-256 keys, and every pinned image
    /// digest that must be signed has a bundle verifying under the set's `signed_by` (offline, `ReferenceImages`).
    /// - Parameter baseDirectory: where relative bundle and trusted-root paths are read from (the values file's
    ///   directory); `nil` refuses paths.
    /// - Returns: the values with bundles and trusted roots inlined, as the broker stores them.
    /// - Throws: ``AttestationError`` for a bad mock signer, ``ReferenceImageError`` for an image signature.
    public static func verifiedReferenceValues(_ values: ReferenceValues, baseDirectory: URL?) throws -> ReferenceValues {
        _ = try values.parsedMockSigners()
        return try ReferenceImages.verify(values, baseDirectory: baseDirectory).values
    }

    /// An appraiser over the hardware verifiers plus a mock verifier trusting the reference values' mock signers.
    /// Without `images`, the values' image bundles are verified here; values that do not verify get no signer, so
    /// their signed-image sets refuse every image (`image_signature_unverified`).
    static func appraiser(_ values: ReferenceValues, verifiers: [any AttestationVerifier], images: VerifiedImageSigners? = nil) -> Appraiser {
        let signers = (try? values.parsedMockSigners()) ?? []
        let mock: [any AttestationVerifier] = signers.isEmpty ? [] : [MockEvidenceVerifier(trustedSigners: signers)]
        let images = images ?? (try? ReferenceImages.verify(values, baseDirectory: nil))?.signers ?? VerifiedImageSigners()
        return Appraiser(referenceValues: values, verifiers: verifiers.filter { $0.tee != .mock } + mock, imageSigners: images)
    }

    static func canonical<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    static func randomToken() -> String { Base64URL.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }) }

    /// Starts an exchange (`POST /kbs/v0/auth`): a session id and a fresh nonce, or a denial.
    public func auth(version: String, tee: TEEType) async -> Result<AuthChallenge, ReleaseDecision> {
        guard Self.protocolVersions.contains(version) else { return .failure(.deny(.unsupportedVersion, "auth.version")) }
        guard tee == .mock || verifiers.contains(where: { $0.tee == tee }) else {
            // Mock sessions are always opened; appraisal refuses mock evidence unless the reference values accept it.
            return .failure(.deny(.unsupportedTEE, "auth.tee"))
        }
        let current = now()
        let id = Self.randomToken()
        let nonce = Self.randomToken()
        let expires = current.addingTimeInterval(sessionTTL)
        do {
            let record = try sealSession(
                SessionState(nonce: nonce, tee: tee, expires: expires.timeIntervalSince1970), idDigest: BrokerSessionRecord.digest(id))
            guard try await sessions.open(record, now: current, limit: maxSessions) else {
                return .failure(.deny(.storageUnavailable, "auth.sessions"))
            }
        } catch {
            return .failure(.deny(.storageUnavailable, "auth.sessions.store"))
        }
        return .success(AuthChallenge(sessionID: id, nonce: nonce, expires: expires))
    }

    /// Appraises evidence for a session (`POST /kbs/v0/attest`). The nonce is single-use whatever the outcome.
    public func attest(sessionID: String, _ request: AttestRequest) async -> AttestOutcome {
        let decision = await attestDecision(sessionID: sessionID, request)
        switch decision {
        case .token(_, let result):
            await emit(.attestation, ReleaseDecision(allowed: true, reason: .granted, rule: "appraisal", result: result), tee: request.evidence.tee.rawValue)
        case .denied(let denial):
            await emit(.attestation, denial, tee: request.evidence.tee.rawValue)
        }
        return decision
    }

    private func attestDecision(sessionID: String, _ request: AttestRequest) async -> AttestOutcome {
        // Reference values changed at another broker on this store hold here too, before the nonce is taken.
        if let denial = await refreshIfChanged() { return .denied(denial) }
        let key = BrokerSessionRecord.digest(sessionID)
        // Consume the nonce before anything else can fail: taken from the store, so at most one broker gets it.
        let taken: BrokerSessionRecord?
        do { taken = try await sessions.takeChallenged(idDigest: key) } catch { return .denied(.deny(.storageUnavailable, "session.store")) }
        guard let taken else {
            // Not challenged: unknown, lapsed, or attested already (its nonce was used).
            switch await sessionState(sessionID) {
            case .failure(let denial): return .denied(denial)
            case .success: return .denied(.deny(.nonceReplayed, "session.nonce"))
            }
        }
        guard var session = openSession(taken) else { return .denied(.deny(.unknownSession, "session")) }
        guard session.expires > now().timeIntervalSince1970 else { return .denied(.deny(.sessionExpired, "session.expiry")) }
        guard session.nonce != nil, request.runtimeData.nonce == session.nonce else { return .denied(.deny(.nonceMismatch, "session.nonce")) }
        guard request.evidence.tee == session.tee else { return .denied(.deny(.malformedRequest, "session.tee")) }
        guard Self.canEncrypt(to: request.runtimeData.teePublicKey) else {
            return .denied(.deny(.malformedJWK, "runtime-data.tee-pubkey"))
        }
        if let workloadKey = request.runtimeData.workloadPublicKey, (try? Self.certificatePublicKey(workloadKey)) == nil {
            return .denied(.deny(.malformedJWK, "runtime-data.workload-pubkey"))
        }
        if let model = request.runtimeData.modelDigest, ImageRequirement.normalized(model) != model {
            return .denied(.deny(.malformedRequest, "runtime-data.model-digest"))
        }
        let imageDigest: String?
        do { imageDigest = try request.initData?.imageDigest() } catch let denial as ReleaseDecision { return .denied(denial) } catch {
            return .denied(.deny(.malformedRequest, "init-data"))
        }
        let result = appraiser.appraise(
            request.evidence, reportData: .equals(request.runtimeData.reportData),
            initDataDigest: request.initData?.digest(for: request.evidence.tee), imageDigest: imageDigest, now: now())
        guard result.status != .contraindicated else {
            return .denied(.deny(.attestationContraindicated, "appraisal", result))
        }
        let issued = now()
        let claims = TokenClaims(
            iss: issuer, iat: Int(issued.timeIntervalSince1970), exp: Int(issued.addingTimeInterval(tokenTTL).timeIntervalSince1970),
            jti: Self.randomToken(), teePublicKey: request.runtimeData.teePublicKey.publicJWK, result: result,
            workloadPublicKey: request.runtimeData.workloadPublicKey?.publicJWK, modelDigest: request.runtimeData.modelDigest)
        do {
            let token = try CompactJWS.sign(
                payload: try Self.canonical(claims), header: ["typ": "JWT", "kid": String(issuer.dropFirst("sealgate-broker:".count))],
                key: tokenKey)
            session.nonce = nil
            session.token = token
            session.expires = issued.addingTimeInterval(tokenTTL).timeIntervalSince1970
            try await sessions.put(try sealSession(session, idDigest: key))
            return .token(token, result)
        } catch {
            return .denied(.deny(.tokenIssueFailed, "token.sign", result))
        }
    }

    /// Whether resources can be encrypted to `key`: a valid public EC or RSA JWK whose `use` (if any) is `enc` and
    /// whose `alg` (if any) is a key-management algorithm for its key type. Checked at attest, so a token is never
    /// issued for a key no release could reach.
    static func canEncrypt(to key: JWK) -> Bool {
        // Cheap checks first: a private member or an unusable type is refused before any key arithmetic.
        guard key.d == nil, key.p == nil, key.q == nil, key.kty == "EC" || key.kty == "RSA" else { return false }
        guard (try? key.validated()) != nil else { return false }
        if let use = key.use, use != "enc" { return false }
        if let alg = key.alg {
            guard let algorithm = KeyManagementAlgorithm(rawValue: alg), algorithm.keyType == key.kty else { return false }
        }
        return true
    }

    /// Verifies a token of this broker and returns its claims, or the reason it is refused.
    public func verify(token: String) -> Result<TokenClaims, ReleaseDecision> {
        guard let parsed = try? CompactJWS.parse(token), CompactJWS.isValid(parsed, key: tokenKey.publicKey),
            let claims = try? JSONDecoder().decode(TokenClaims.self, from: parsed.payload), claims.iss == issuer
        else { return .failure(.deny(.tokenInvalid, "token")) }
        guard Double(claims.exp) > now().timeIntervalSince1970 else {
            return .failure(.deny(.tokenExpired, "token.exp", claims.result))
        }
        return .success(claims)
    }

    func claims(for credential: BrokerCredential) async -> Result<TokenClaims, ReleaseDecision> {
        switch credential {
        case .none:
            return .failure(.deny(.unauthenticated, "credential"))
        case .token(let token):
            return verify(token: token)
        case .session(let id):
            switch await sessionState(id) {
            case .failure(let denial): return .failure(denial)
            case .success(let state):
                // The session's token, re-verified: a session is exactly as good as its token.
                guard let token = state.token else { return .failure(.deny(.unauthenticated, "session.attested")) }
                return verify(token: token)
            }
        }
    }

    func emit(
        _ kind: BrokerEvent.Kind, _ decision: ReleaseDecision, tee: String, tenant: String = "-", resource: String? = nil,
        resourceType: String? = nil, keyIDs: [String] = [], principal: String = "tee"
    ) async {
        await onEvent(
            BrokerEvent(
                kind: kind, decision: decision, tee: tee, tenant: tenant, resource: resource,
                resourceType: resourceType ?? kind.rawValue, keyIDs: keyIDs, principal: principal))
    }
}

