import Attestation
import Crypto
import Foundation
import JOSE
import ReleasePolicy
import SealgateCore
import SwiftASN1
import X509

/// What the TLS connection proved about the requester's client certificate (mutual TLS).
public enum ClientCertificate: Sendable, Equatable {
    /// The broker does not require client certificates.
    case notRequired
    /// Required, and the connection presented none.
    case missing
    /// The public key of the client certificate the listener verified against the workload CA.
    case presented(Certificate.PublicKey)
}

/// The workload CA: certificates for keys that attested TEEs generated in memory and bound into their evidence.
extension KeyBroker {
    static let caSetting = "workload_ca"
    static let enrolmentSetting = "workload_enrolments"

    /// Decides a workload-certificate request (`POST /kbs/v0/workload-certificate`). Issuance is a release
    /// decision: the token's key binding, the class's enrolment and every release policy for
    /// `<scope>/cert/<class>` must pass. Audited, counted and evented like a key release.
    public func workloadCertificate(_ credential: BrokerCredential, _ request: WorkloadCertificateRequest) async -> CertificateOutcome {
        let enrolment = try? await enrolments()[request.workload]
        let resource = "\(enrolment?.scope ?? WorkloadEnrolment.defaultScope)/cert/\(request.workload.resourceTag)"
        let outcome = await decideCertificate(credential, request, enrolment: enrolment, resource: resource)
        switch outcome {
        case .issued(let certificate, let decision):
            await emit(.release, decision, tee: decision.result?.tee.rawValue ?? "-", resource: resource, resourceType: "cert", keyIDs: ["cert#" + certificate.serial])
        case .denied(let decision):
            await emit(.release, decision, tee: decision.result?.tee.rawValue ?? "-", resource: enrolment == nil ? nil : resource, resourceType: "cert")
        }
        return outcome
    }

    private func decideCertificate(
        _ credential: BrokerCredential, _ request: WorkloadCertificateRequest, enrolment: WorkloadEnrolment?, resource: String
    ) async -> CertificateOutcome {
        let claims: TokenClaims
        switch await self.claims(for: credential) {
        case .failure(let denial): return .denied(denial)
        case .success(let value): claims = value
        }
        let result = claims.result
        // The key must be the one the evidence bound: otherwise anyone holding a token could certify any key.
        guard let bound = claims.workloadPublicKey, let asked = try? request.publicKey.publicJWK.thumbprint(),
            (try? bound.thumbprint()) == asked, let publicKey = try? Self.certificatePublicKey(request.publicKey)
        else { return .denied(.deny(.workloadKeyNotBound, "certificate.public-key", result)) }
        guard let enrolment, let names = try? enrolment.alternativeNames() else {
            return .denied(.deny(.workloadNotEnrolled, "certificate.enrolment", result))
        }
        guard let ref = ResourceRef(path: resource) else { return .denied(.deny(.workloadNotEnrolled, "certificate.resource", result)) }
        let rule: String
        switch policyCheck(result: result, ref: ref) {
        case .failure(let denial): return .denied(denial)
        case .success(let value): rule = value
        }
        do {
            let ca = try await activeCA()
            let issued = now()
            let notAfter = min(Date(timeIntervalSince1970: TimeInterval(claims.exp)), issued.addingTimeInterval(TimeInterval(enrolment.maxValiditySeconds)))
            let tokenText = await tokenText(for: credential)
            let value = WorkloadExtension(
                workload: request.workload.description, tee: result.tee.rawValue, measurement: result.measurement, status: result.status.rawValue,
                earDigest: Data(SHA256.hash(data: Data(tokenText.utf8))), modelDigest: claims.modelDigest)
            let leaf = try ca.issue(
                publicKey: publicKey, names: names, workload: request.workload, notBefore: issued.addingTimeInterval(-60), notAfter: notAfter,
                extension: value)
            let serial = Hex.encode(Data(leaf.serialNumber.bytes))
            let certificate = WorkloadCertificate(
                chain: [Self.line(try leaf.serializeAsPEM().pemString), Self.line(ca.stored.certificatePEM)], notAfter: Int(notAfter.timeIntervalSince1970), serial: serial,
                trust: try await caCertificates())
            return .issued(certificate, ReleaseDecision(allowed: true, reason: .granted, rule: rule, result: result))
        } catch {
            return .denied(.deny(.certificateIssueFailed, "certificate.sign", result))
        }
    }

    /// A PEM document ending in a newline, so documents can be concatenated into a bundle.
    static func line(_ pem: String) -> String { pem.hasSuffix("\n") ? pem : pem + "\n" }

    /// The attestation token (compact JWS) behind a credential: the bearer token, or the attested session's.
    func tokenText(for credential: BrokerCredential) async -> String {
        switch credential {
        case .token(let token): return token
        case .session(let id):
            if case .success(let state) = await sessionState(id) { return state.token ?? "" }
            return ""
        case .none: return ""
        }
    }

    /// The X.509 public key of an EC P-256 or P-384 JWK (public members only).
    static func certificatePublicKey(_ jwk: JWK) throws -> Certificate.PublicKey {
        guard jwk.kty == "EC", jwk.d == nil, let x = jwk.x.flatMap(Base64URL.decode), let y = jwk.y.flatMap(Base64URL.decode) else {
            throw KeyBrokerError(.malformedJWK, "an EC public JWK is expected")
        }
        let point = Data([0x04]) + x + y
        switch jwk.crv {
        case "P-256" where x.count == 32 && y.count == 32: return Certificate.PublicKey(try P256.Signing.PublicKey(x963Representation: point))
        case "P-384" where x.count == 48 && y.count == 48: return Certificate.PublicKey(try P384.Signing.PublicKey(x963Representation: point))
        default: throw KeyBrokerError(.malformedJWK, "P-256 or P-384 expected")
        }
    }

    /// Mutual TLS: with client certificates required, the connection's verified certificate must certify the very
    /// key the token's evidence bound, so a token is useless without that key.
    static func checkClientCertificate(_ client: ClientCertificate, claims: TokenClaims) -> ReleaseDecision? {
        switch client {
        case .notRequired: return nil
        case .missing: return .deny(.clientCertificateRequired, "resource.client-certificate", claims.result)
        case .presented(let key):
            guard let bound = claims.workloadPublicKey, (try? certificatePublicKey(bound)) == key else {
                return .deny(.clientCertificateMismatch, "resource.client-certificate", claims.result)
            }
            return nil
        }
    }

    // MARK: CA versions

    /// Every CA version, newest last, created (version 1) on first use.
    ///
    /// Opened under ``caLock``: the store read and the creation below suspend the actor, and without the lock two
    /// concurrent first uses (two tee-proxies asking for their first certificates at once) each found no CA, each
    /// created and saved a version 1, and the one saved first signed certificates that chain to nothing the broker
    /// serves (its gateway refused that proxy `model_not_attested` until the proxy's next renewal).
    func authorities() async throws -> [WorkloadCA] {
        if let workloadCAs { return workloadCAs }
        return try await withCALock { try await self.openedAuthorities() }
    }

    /// Runs `body` holding ``caLock`` (not re-entrant: `body` calls ``openedAuthorities()``, never ``authorities()``).
    func withCALock<T>(_ body: () async throws -> T) async throws -> T {
        await caLock.lock()
        do {
            let value = try await body()
            await caLock.unlock()
            return value
        } catch {
            await caLock.unlock()
            throw error
        }
    }

    /// ``authorities()`` for a caller that holds ``caLock``.
    func openedAuthorities() async throws -> [WorkloadCA] {
        if let workloadCAs { return workloadCAs }
        for _ in 0..<8 {
            let data = try await store.setting(Self.caSetting)
            var opened: [WorkloadCA] = []
            if let data {
                let stored = try JSONDecoder().decode([StoredCA].self, from: data)
                opened = try stored.map { try WorkloadCA.open($0, protector: protector) }
            }
            if opened.contains(where: { $0.stored.state == .active }) {
                workloadCAs = opened
                workloadCAsStored = data
                return opened
            }
            // Not cached until an active version exists: ``authorities()`` returns the cache without the lock, and a
            // request meeting the versions without an active one while the new one is saved would be refused.
            let ca = try WorkloadCA.create(version: (opened.last?.stored.version ?? 0) + 1, issuerID: issuerID, now: now(), protector: protector)
            // Another broker on the store creating one at the same time: its version is read and used instead.
            if (try? await saveAuthorities(opened + [ca], replacing: data)) != nil { return opened + [ca] }
        }
        throw KeyBrokerError(.storageUnavailable, "the workload CA versions kept changing under concurrent writers")
    }

    func activeCA() async throws -> WorkloadCA {
        guard let ca = try await authorities().last(where: { $0.stored.state == .active }) else {
            throw KeyBrokerError(.certificateIssueFailed, "no active workload CA")
        }
        return ca
    }

    /// Saves the versions if the store still holds those they were derived from (another broker may have created,
    /// rotated or retired one since), and tells the other brokers; else forgets the cached ones and refuses.
    private func saveAuthorities(_ versions: [WorkloadCA], replacing expected: Data?) async throws {
        let data = try Self.canonical(versions.map(\.stored))
        guard try await store.replaceSetting(Self.caSetting, data, ifCurrent: expected) else {
            workloadCAs = nil
            throw KeyBrokerError(.conflict, "the workload CA versions were changed by another broker; try again")
        }
        workloadCAs = versions
        workloadCAsStored = data
        try await publishGeneration()
    }

    var issuerID: String { String(issuer.dropFirst("sealgate-broker:".count)) }

    /// The CA certificates clients and gateways trust (PEM, newest first): the active version and every retiring
    /// version whose certificates may still be valid.
    public func caCertificates() async throws -> [String] {
        if let denial = await refreshIfChanged() { throw KeyBrokerError(denial.reason, "workload CA versions: \(denial.rule)") }
        let current = now().timeIntervalSince1970
        var versions = try await authorities()
        guard versions.contains(where: { $0.stored.state == .retiring && ($0.stored.retiresAt ?? 0) <= current }) else {
            return Self.bundle(versions)
        }
        // A retiring version has run out: marked retired under the lock, from the versions as they are now.
        return try await withCALock {
            versions = try await self.openedAuthorities()
            let expected = self.workloadCAsStored
            var changed = false
            for index in versions.indices where versions[index].stored.state == .retiring && (versions[index].stored.retiresAt ?? 0) <= current {
                var stored = versions[index].stored
                stored.state = .retired
                versions[index] = WorkloadCA(stored: stored, key: versions[index].key, certificate: versions[index].certificate)
                changed = true
            }
            if changed { try await self.saveAuthorities(versions, replacing: expected) }
            return Self.bundle(versions)
        }
    }

    /// The PEM certificates of the versions not retired, newest first.
    static func bundle(_ versions: [WorkloadCA]) -> [String] {
        versions.filter { $0.stored.state != .retired }.reversed().map { line($0.stored.certificatePEM) }
    }

    /// Rotates the CA: a new version signs from now on; the old one stays trusted until every certificate it can
    /// have signed has expired (``WorkloadEnrolment/validityCap``). Returns the new version.
    public func rotateCA(by principal: AdminCredential) async -> AdminResult<Int> {
        if let refusal = await quorumRefusal("rotate_ca", target: "workload-ca", by: principal) { return .failure(refusal) }
        return await performRotateCA(by: principal)
    }

    func performRotateCA(by principal: AdminCredential) async -> AdminResult<Int> {
        await adminAction("rotate_ca", by: principal, target: "workload-ca") {
            try await withCALock { try await self.rotatedAuthorities() }
        }
    }

    /// Adds a new active version and marks the active one retiring; returns the new version (caller holds ``caLock``).
    private func rotatedAuthorities() async throws -> Int {
        var versions = try await openedAuthorities()
        let expected = workloadCAsStored
        let retiresAt = now().addingTimeInterval(TimeInterval(WorkloadEnrolment.validityCap) + 60).timeIntervalSince1970
        for index in versions.indices where versions[index].stored.state == .active {
            var stored = versions[index].stored
            stored.state = .retiring
            stored.retiresAt = retiresAt
            versions[index] = WorkloadCA(stored: stored, key: versions[index].key, certificate: versions[index].certificate)
        }
        let next = try WorkloadCA.create(version: (versions.last?.stored.version ?? 0) + 1, issuerID: issuerID, now: now(), protector: protector)
        versions.append(next)
        try await saveAuthorities(versions, replacing: expected)
        return next.stored.version
    }

    // MARK: Enrolments

    /// The enrolled workload classes.
    public func enrolments() async throws -> [WorkloadClass: WorkloadEnrolment] {
        if let denial = await refreshIfChanged() { throw KeyBrokerError(denial.reason, "workload enrolments: \(denial.rule)") }
        if let enrolmentCache { return enrolmentCache }
        let loaded = Self.enrolmentsByClass(try await store.setting(Self.enrolmentSetting))
        enrolmentCache = try loaded.get()
        return try loaded.get()
    }

    static func enrolmentsByClass(_ data: Data?) -> Result<[WorkloadClass: WorkloadEnrolment], any Error> {
        Result {
            var loaded: [WorkloadClass: WorkloadEnrolment] = [:]
            if let data { for item in try JSONDecoder().decode([WorkloadEnrolment].self, from: data) { loaded[item.workload] = item } }
            return loaded
        }
    }

    /// Enrols (or re-enrols) a workload class: the names its certificates carry. Validated before it is stored.
    public func enrol(_ enrolment: WorkloadEnrolment, by principal: AdminCredential) async -> AdminResult<WorkloadEnrolment> {
        if let refusal = await quorumRefusal("enrol_workload", target: enrolment.workload.description, by: principal) { return .failure(refusal) }
        return await performEnrol(enrolment, by: principal)
    }

    func performEnrol(_ enrolment: WorkloadEnrolment, by principal: AdminCredential) async -> AdminResult<WorkloadEnrolment> {
        await adminAction("enrol_workload", by: principal, target: enrolment.workload.description) {
            try await storeEnrolment(enrolment)
            return enrolment
        }
    }

    /// Enrols a workload class without an admin credential (the embedded broker's start-up).
    public func enrolAtStartUp(_ enrolment: WorkloadEnrolment) async throws { try await storeEnrolment(enrolment) }

    /// Read, change and compare-and-swap: an enrolment another broker stored in between is kept, not overwritten.
    private func storeEnrolment(_ enrolment: WorkloadEnrolment) async throws {
        _ = try enrolment.alternativeNames()
        var all: [WorkloadClass: WorkloadEnrolment] = [:]
        try await store.update(Self.enrolmentSetting) { data in
            all = try Self.enrolmentsByClass(data).get()
            all[enrolment.workload] = enrolment
            return try Self.canonical(all.values.sorted { $0.workload.description < $1.workload.description })
        }
        enrolmentCache = all
        try await publishGeneration()
    }
}
