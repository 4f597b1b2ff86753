import Attestation
import Crypto
import Foundation
import KeyBroker
import Logging
import SealgateCore

/// A decision about one key lease, reported for audit and metrics.
public struct LeaseEvent: Sendable {
    public let resource: ResourcePath?
    public let decision: ReleaseDecision
    public let tee: TEEType
    /// `<tenant>/kek/<class>#<version>` of every key released by this decision.
    public var keyIDs: [String] = []
}

/// A KEK held in memory under a lease.
public struct LeasedKey: Sendable {
    public let version: Int
    public let key: SymmetricKey
    /// `<tenant>/kek/<class>#<version>`, for audit records.
    public let keyID: String
}

/// Holds the KEKs released to this gateway, in memory only, until the lease expires.
///
/// ``acquire(resources:)`` runs the whole exchange with a fresh ephemeral key: auth → evidence binding the
/// nonce and the key → attest → release for each resource → HPKE open. Keys are never returned once
/// `now` passes the lease expiry, whether or not renewal has run.
public actor LeaseManager {
    let client: any BrokerClient
    let attester: any Attester
    let now: @Sendable () -> Date
    let maxLease: TimeInterval
    let logger: Logger
    let onEvent: @Sendable (LeaseEvent) async -> Void

    var keys: [ResourcePath: [LeasedKey]] = [:]
    var expiresAt: Date?
    /// The attestation result the current keys were released under.
    public private(set) var result: AttestationResult?
    /// Increments each time keys are (re)acquired after having none; indexes built from plaintext compare it.
    public private(set) var epoch = 0

    /// Creates a manager.
    /// - Parameters:
    ///   - maxLease: the longest a lease lasts even if the broker's token lives longer.
    ///   - onEvent: called for every attest and release decision (audit and metrics).
    public init(
        client: any BrokerClient, attester: any Attester, maxLease: TimeInterval = 300,
        now: @escaping @Sendable () -> Date = { Date() }, logger: Logger,
        onEvent: @escaping @Sendable (LeaseEvent) async -> Void = { _ in }
    ) {
        self.client = client
        self.attester = attester
        self.maxLease = maxLease
        self.now = now
        self.logger = logger
        self.onEvent = onEvent
    }

    /// Whether a lease is held and unexpired.
    public var isValid: Bool {
        guard let expiresAt, !keys.isEmpty else { return false }
        return now() < expiresAt
    }

    /// When the current lease ends.
    public var expiry: Date? { isValid ? expiresAt : nil }

    /// The KEK versions for a resource while the lease is valid; the newest last.
    public func keys(for resource: ResourcePath) async -> [LeasedKey]? {
        guard isValid else {
            await dropIfExpired()
            return nil
        }
        return keys[resource]
    }

    var onDrop: (@Sendable () async -> Void)?

    /// Sets what must be forgotten with the keys (the plaintext-derived index), run on every drop.
    public func setOnDrop(_ action: @escaping @Sendable () async -> Void) { onDrop = action }

    /// Forgets every key (failed renewal, shutdown) and everything derived from them.
    public func drop() async {
        if !keys.isEmpty { logger.warning("key lease dropped", metadata: ["lease.keys": "\(keys.count)"]) }
        keys = [:]
        expiresAt = nil
        result = nil
        await onDrop?()
    }

    private func dropIfExpired() async {
        if let expiresAt, now() >= expiresAt { await drop() }
    }

    /// Attests and obtains leases for `resources`. Returns whether at least one key was released.
    @discardableResult
    public func acquire(resources: [ResourcePath]) async -> Bool {
        let hadKeys = isValid
        let ephemeral = P256.KeyAgreement.PrivateKey()
        do {
            let challenge = try await client.auth(tee: attester.tee)
            let runtime = RuntimeData(nonce: challenge.nonce, teePublicKey: ECPublicJWK(ephemeral.publicKey))
            let evidence = try attester.evidence(reportData: runtime.reportData, now: now())
            let outcome = try await client.attest(
                sessionID: challenge.sessionID, runtimeData: runtime, evidence: evidence)
            let token: String
            let attestation: AttestationResult
            switch outcome {
            case .denied(let decision):
                await onEvent(LeaseEvent(resource: nil, decision: decision, tee: attester.tee))
                logger.error(
                    "attestation denied",
                    metadata: ["attestation.tee": "\(attester.tee)", "policy.reason": "\(decision.reason)"])
                await drop()
                return false
            case .token(let value, let appraised):
                token = value
                attestation = appraised
                await onEvent(
                    LeaseEvent(
                        resource: nil,
                        decision: ReleaseDecision(allowed: true, reason: .granted, rule: "appraisal", result: appraised),
                        tee: attester.tee))
            }
            var newKeys: [ResourcePath: [LeasedKey]] = [:]
            for resource in resources {
                switch try await client.release(token: token, resource: resource) {
                case .denied(let decision):
                    await onEvent(LeaseEvent(resource: resource, decision: decision, tee: attester.tee))
                case .released(let wrapped, let decision):
                    var recipient = try HPKE.Recipient(
                        privateKey: ephemeral, ciphersuite: ReleaseHPKE.suite,
                        info: ReleaseHPKE.info(resource: resource.description),
                        encapsulatedKey: wrapped.encapsulatedKey)
                    let plain = try recipient.open(wrapped.ciphertext)
                    let payload = try JSONDecoder().decode(ReleaseHPKE.Payload.self, from: plain)
                    newKeys[resource] = try payload.versions.sorted { $0.version < $1.version }.map { item in
                        guard let raw = Base64URL.decode(item.key), raw.count == 32 else {
                            throw SealgateError(.releaseDenied, "released key is malformed")
                        }
                        return LeasedKey(
                            version: item.version, key: SymmetricKey(data: raw), keyID: "\(resource)#\(item.version)")
                    }
                    await onEvent(
                        LeaseEvent(
                            resource: resource, decision: decision, tee: attester.tee,
                            keyIDs: newKeys[resource]?.map(\.keyID) ?? []))
                }
            }
            guard !newKeys.isEmpty else {
                await drop()
                return false
            }
            keys = newKeys
            result = attestation
            expiresAt = now().addingTimeInterval(maxLease)
            if !hadKeys { epoch += 1 }
            logger.info(
                "key lease acquired",
                metadata: [
                    "attestation.tee": "\(attester.tee)", "attestation.status": "\(attestation.status.rawValue)",
                    "lease.keys": "\(newKeys.count)",
                ])
            return true
        } catch {
            logger.error("key lease acquisition failed", metadata: ["error.type": "\(type(of: error))"])
            let decision = ReleaseDecision(allowed: false, reason: BrokerReason("broker_unavailable"), rule: "transport", result: nil)
            await onEvent(LeaseEvent(resource: nil, decision: decision, tee: attester.tee))
            await dropIfExpired()
            return false
        }
    }
}
