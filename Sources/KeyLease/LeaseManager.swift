import Attestation
import Crypto
import Foundation
import JOSE
import KBSProtocol
import Logging
import SealgateCore

/// A decision about one key lease, reported for audit and metrics.
/// The step of a key-lease acquisition that failed.
public enum LeaseFailureStage: String, Sendable {
    /// The broker could not be reached, or answered something malformed.
    case transport
    /// The broker refused the session or this gateway's evidence.
    case attestation
    /// Attestation passed but no key was released.
    case release
}

public struct LeaseEvent: Sendable {
    public let resource: String?
    public let decision: ReleaseDecision
    public let tee: TEEType
    /// `<tenant>/kek/<class>#<version>` of every key released by this decision.
    public var keyIDs: [String] = []

    /// The tenant of the resource, or `-` for attestation and certificate events.
    public var tenant: String {
        guard resourceType != "cert" else { return "-" }
        return resource?.split(separator: "/").first.map(String.init) ?? "-"
    }
    /// `kek`, `secret` or `attestation`.
    public var resourceType: String {
        guard let resource else { return "attestation" }
        let parts = resource.split(separator: "/")
        return parts.count == 3 ? String(parts[1]) : "unknown"
    }
}

/// A KEK held in memory under a lease.
public struct LeasedKey: Sendable {
    public let version: Int
    public let key: SymmetricKey
    /// `<tenant>/kek/<class>#<version>`, for audit records.
    public let keyID: String
    /// Whether this version wraps new DEKs (the broker's `current`).
    public let isCurrent: Bool
}

/// Holds the KEKs and secrets released to this gateway, in memory only, until the lease expires.
///
/// ``acquire(resources:secrets:)`` runs the whole exchange with a fresh ephemeral key: auth → evidence binding the
/// nonce and the key → attest → a JWE per resource → decrypt with the ephemeral key. Keys are never returned once
/// `now` passes the lease expiry, whether or not renewal has run.
public actor LeaseManager {
    let client: any BrokerClient
    let attester: any Attester
    let now: @Sendable () -> Date
    let maxLease: TimeInterval
    let logger: Logger
    let onEvent: @Sendable (LeaseEvent) async -> Void
    /// The workload identity whose certificate is renewed with every lease, if this workload serves attested TLS.
    public nonisolated let identity: WorkloadIdentity?
    /// The init-data document this workload was started with, sent with every `attest` (its digest is in the evidence).
    public nonisolated let initData: InitData?
    /// The digest of the sealed model this workload serves (`tee-proxy --model`), bound into every evidence's runtime
    /// data so the broker certifies it in the workload certificate.
    public nonisolated let modelDigest: String?

    var keys: [ResourcePath: [LeasedKey]] = [:]
    var secrets: [String: Data] = [:]
    var expiresAt: Date?
    /// When the keys now held were obtained.
    public private(set) var acquiredAt: Date?
    /// The attestation result the current keys were released under.
    public private(set) var result: AttestationResult?
    /// Why the last acquisition failed (`nil` after a success).
    public private(set) var lastFailure: ReleaseDecision?
    /// Which step of the last failed acquisition failed (typed, so nobody reads it out of broker rule names).
    public private(set) var lastFailureStage: LeaseFailureStage?
    /// Changes whenever the set of keys changes; indexes built from plaintext compare it.
    public private(set) var epoch = 0
    /// Acquisitions under way (a renewal waiting for the broker).
    private var acquiring = 0
    /// The state above as of its last change, for readers that must not wait for the actor (``validKeys(for:)``).
    nonisolated let board = LeaseBoard()

    /// The last attestation the broker accepted: the evidence, the runtime data it binds, and the token.
    public struct Attestation: Sendable {
        public let evidence: Evidence
        public let runtimeData: RuntimeData
        public let token: String
    }
    /// The last accepted attestation (served, cached, by `GET /v1/attestation` without a nonce).
    public internal(set) var lastAttestation: Attestation?

    /// Fresh evidence binding `reportData` from this workload's attester (for clients that check it themselves).
    public func freshEvidence(reportData: Data) throws -> Evidence {
        try attester.evidence(reportData: reportData, now: now())
    }

    /// Creates a manager.
    /// - Parameters:
    ///   - maxLease: the longest a lease lasts even if the broker's token lives longer.
    ///   - initData: the init-data document to send with the evidence (KBS `init-data`), if the workload has one.
    ///   - modelDigest: the sealed model's digest to bind into the runtime data (``RuntimeData/modelDigest``), if any.
    ///   - onEvent: called for every attest and release decision (audit and metrics).
    public init(
        client: any BrokerClient, attester: any Attester, maxLease: TimeInterval = 300,
        now: @escaping @Sendable () -> Date = { Date() }, logger: Logger, identity: WorkloadIdentity? = nil, initData: InitData? = nil,
        modelDigest: String? = nil, onEvent: @escaping @Sendable (LeaseEvent) async -> Void = { _ in }
    ) {
        self.identity = identity
        self.initData = initData
        self.modelDigest = modelDigest
        self.client = client
        self.attester = attester
        self.maxLease = maxLease
        self.now = now
        self.logger = logger
        self.onEvent = onEvent
    }

    /// The evidence type this gateway attests with.
    public nonisolated var tee: TEEType { attester.tee }

    /// Whether a lease is held and unexpired.
    public var isValid: Bool {
        guard let expiresAt, !keys.isEmpty else { return false }
        return now() < expiresAt
    }

    /// When the current lease ends.
    public var expiry: Date? { isValid ? expiresAt : nil }

    /// Whether no lease is valid while an acquisition is under way: a renewal still waiting for the broker when the
    /// lease ran out (an unreachable broker holds each attempt for its timeouts and retries, which can outlast the
    /// lease's last third). Its failure, when it comes, is recorded in ``lastFailureStage``.
    public var awaitingBroker: Bool { acquiring > 0 && !isValid }

    /// The KEK versions for a resource while the lease is valid; the newest last.
    public func keys(for resource: ResourcePath) async -> [LeasedKey]? {
        guard isValid else {
            await dropIfExpired()
            return nil
        }
        return keys[resource]
    }

    /// The KEK versions for a resource and the epoch they belong to, read together (the epoch changes with the
    /// key set); `nil` without a valid lease or a key for the resource.
    public func keysWithEpoch(for resource: ResourcePath) async -> (keys: [LeasedKey], epoch: Int)? {
        guard let keys = await keys(for: resource) else { return nil }
        return (keys, epoch)
    }

    /// An opaque secret (`<tenant>/secret/<name>`) while the lease is valid.
    public func secret(_ path: String) async -> Data? {
        guard isValid else {
            await dropIfExpired()
            return nil
        }
        return secrets[path]
    }

    var onDrop: (@Sendable () async -> Void)?

    /// Sets what must be forgotten with the keys (the plaintext-derived index), run on every drop.
    public func setOnDrop(_ action: @escaping @Sendable () async -> Void) { onDrop = action }

    /// Forgets every key (failed renewal, shutdown) and everything derived from them.
    public func drop() async {
        if !keys.isEmpty { logger.warning("key lease dropped", metadata: ["lease.keys": "\(keys.count)"]) }
        keys = [:]
        secrets = [:]
        expiresAt = nil
        acquiredAt = nil
        result = nil
        epoch += 1
        publish()
        await onDrop?()
    }

    private func dropIfExpired() async {
        if let expiresAt, now() >= expiresAt { await drop() }
    }

    private func fail(_ decision: ReleaseDecision, stage: LeaseFailureStage) async -> Bool {
        lastFailure = decision
        lastFailureStage = stage
        await dropIfExpired()
        return false
    }

    /// Attests and obtains leases for `resources` (KEKs) and `secrets` (secret paths). Returns whether at least one
    /// KEK was released. A denied attestation drops every key at once; a broker that cannot be reached leaves the
    /// current lease to run out.
    @discardableResult
    public func acquire(resources: [ResourcePath], secrets secretPaths: [String] = []) async -> Bool {
        acquiring += 1
        defer { acquiring -= 1 }
        let ephemeral = P256.KeyAgreement.PrivateKey()
        let tee = attester.tee
        do {
            let token: String
            let attestation: AttestationResult
            switch try await openSession(ephemeral) {
            case .refused(let decision):
                return await fail(decision, stage: .attestation)
            case .denied(let decision):
                var metadata: Logger.Metadata = ["attestation.tee": "\(tee)", "policy.reason": "\(decision.reason)"]
                if !decision.causes.isEmpty { metadata["attestation.causes"] = "\(decision.causes.map(\.rawValue).joined(separator: ","))" }
                if let fix = AttestationRemedy.hint(for: decision.causes) { metadata["attestation.fix"] = "\(fix)" }
                logger.error("attestation denied", metadata: metadata)
                lastFailure = decision
                lastFailureStage = .attestation
                await drop()
                return false
            case .token(let value, let appraised):
                token = value
                attestation = appraised
            }
            var certified = false
            if let identity { certified = try await renewCertificate(identity, token: token, tee: tee) }
            if resources.isEmpty && secretPaths.isEmpty {
                // A workload that holds no keys (tee-proxy): the lease is its certificate.
                result = attestation
                publish()
                lastFailure = certified ? nil : ReleaseDecision(allowed: false, reason: .certificateIssueFailed, rule: "lease.certificate", result: attestation)
                lastFailureStage = certified ? nil : .release
                return certified
            }
            let privateJWK = JWK.ec(ephemeral)
            var newKeys: [ResourcePath: [LeasedKey]] = [:]
            var newSecrets: [String: Data] = [:]
            var lastDenial: ReleaseDecision?
            for path in resources.map(\.description) + secretPaths {
                switch try await client.resource(token: token, path: path) {
                case .denied(let decision):
                    lastDenial = decision
                    await onEvent(LeaseEvent(resource: path, decision: decision, tee: tee))
                case .released(let jwe, let decision, _):
                    let plain = try JWE.decrypt(jwe, with: privateJWK)
                    var keyIDs = [path]
                    if let resource = ResourcePath(path) {
                        let leased = try Self.decodeKEKs(plain, resource: resource)
                        newKeys[resource] = leased
                        keyIDs = leased.map(\.keyID)
                    } else {
                        newSecrets[path] = plain
                    }
                    await onEvent(LeaseEvent(resource: path, decision: decision, tee: tee, keyIDs: keyIDs))
                }
            }
            guard !newKeys.isEmpty else {
                lastFailure = lastDenial ?? ReleaseDecision(allowed: false, reason: .unknownResource, rule: "lease.resources", result: attestation)
                lastFailureStage = .release
                await drop()
                return false
            }
            let changed = Self.fingerprint(newKeys) != Self.fingerprint(keys) || newSecrets.keys.sorted() != secrets.keys.sorted()
            keys = newKeys
            secrets = newSecrets
            result = attestation
            lastFailure = nil
            lastFailureStage = nil
            acquiredAt = now()
            expiresAt = now().addingTimeInterval(maxLease)
            if changed {
                // A tenant or version may have lost its key: forget everything built from plaintext; it is rebuilt lazily.
                epoch += 1
                publish()
                await onDrop?()
            } else {
                publish()
            }
            logger.info(
                "key lease acquired",
                metadata: ["attestation.tee": "\(tee)", "attestation.status": "\(attestation.status.rawValue)", "lease.keys": "\(newKeys.count)"])
            return true
        } catch {
            logger.error("key lease acquisition failed", metadata: ["error.type": "\(type(of: error))"])
            let decision = ReleaseDecision(allowed: false, reason: BrokerReason("broker_unavailable"), rule: "transport", result: nil)
            await onEvent(LeaseEvent(resource: nil, decision: decision, tee: tee))
            return await fail(decision, stage: .transport)
        }
    }

    /// Asks for a workload certificate for the identity's key (bound into the evidence just appraised). A denial
    /// leaves the previous certificate to run out; TLS handshakes fail once it has.
    private func renewCertificate(_ identity: WorkloadIdentity, token: String, tee: TEEType) async throws -> Bool {
        let resource = "workload/cert/\(identity.workload.resourceTag)"
        switch try await client.workloadCertificate(token: token, WorkloadCertificateRequest(workload: identity.workload, publicKey: identity.publicJWK)) {
        case .issued(let certificate, let decision):
            identity.install(certificate)
            await onEvent(LeaseEvent(resource: resource, decision: decision, tee: tee, keyIDs: ["cert#" + certificate.serial]))
            logger.info(
                "workload certificate installed",
                metadata: ["workload": "\(identity.workload)", "certificate.serial": "\(certificate.serial)", "certificate.not_after": "\(certificate.notAfter)"])
            return true
        case .denied(let decision):
            await onEvent(LeaseEvent(resource: resource, decision: decision, tee: tee))
            logger.error(
                "workload certificate refused",
                metadata: ["workload": "\(identity.workload)", "policy.reason": "\(decision.reason)", "policy.rule": "\(decision.rule)"])
            return false
        }
    }

    static func decodeKEKs(_ plain: Data, resource: ResourcePath) throws -> [LeasedKey] {
        let release = try JSONDecoder().decode(KEKRelease.self, from: plain)
        guard release.resource == resource.description else { throw SealgateError(.releaseDenied, "released KEK names another resource") }
        return try release.versions.sorted { $0.version < $1.version }.map { item in
            guard let raw = Base64URL.decode(item.key), raw.count == 32 else { throw SealgateError(.releaseDenied, "released key is malformed") }
            return LeasedKey(version: item.version, key: SymmetricKey(data: raw), keyID: "\(resource)#\(item.version)", isCurrent: item.version == release.current)
        }
    }

    static func fingerprint(_ keys: [ResourcePath: [LeasedKey]]) -> [String] {
        keys.flatMap { $0.value.map(\.keyID) }.sorted()
    }
}
