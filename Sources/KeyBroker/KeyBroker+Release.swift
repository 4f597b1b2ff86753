import Attestation
import Crypto
import Foundation
import JOSE
import ReleasePolicy
import SealgateCore

extension KeyBroker {
    /// Decides a resource request (`GET /kbs/v0/resource/<repository>/<type>/<tag>`) and, when every applicable
    /// release policy passes, returns the resource as a flattened JWE for the attested TEE key.
    ///
    /// Resources: `<tenant>/kek/<data-class>` (every non-retired KEK version, as ``KEKRelease`` JSON),
    /// `<tenant>/secret/<name>` (the secret's bytes) and `<tenant>/model/<name>` (a model key, as ``ModelKeyRelease``
    /// JSON; the expected model digest recorded with it is the policy input `model.digest`).
    public func resource(_ credential: BrokerCredential, path: String, client: ClientCertificate = .notRequired) async -> ReleaseOutcome {
        // One read of the tenant list serves the decision and the labels (`nil`: the store failed).
        let tenants = try? await store.tenants()
        let outcome = await decideResource(credential, path: path, tenants: tenants, client: client)
        // Metric labels name only tenants and types the broker knows, so arbitrary paths cannot create label values.
        let ref = ResourceRef(path: path)
        let known = tenants?.contains { $0.id == ref?.repository } ?? false
        let tenant = known ? ref?.repository ?? "-" : "-"
        let type = ["kek", "secret", "model"].contains(ref?.type ?? "") ? ref?.type ?? "unknown" : "unknown"
        switch outcome {
        case .released(_, let decision, let keyIDs):
            await emit(.release, decision, tee: decision.result?.tee.rawValue ?? "-", tenant: tenant, resource: path, resourceType: type, keyIDs: keyIDs)
        case .denied(let decision):
            await emit(.release, decision, tee: decision.result?.tee.rawValue ?? "-", tenant: tenant, resource: known ? path : nil, resourceType: type)
        }
        return outcome
    }

    /// Credential → resource path → release policies → existence → key material. Policies run before the store is
    /// consulted, so a TEE learns whether a resource exists only for resources its policies would release.
    private func decideResource(
        _ credential: BrokerCredential, path: String, tenants: [BrokerTenant]?, client: ClientCertificate
    ) async -> ReleaseOutcome {
        // Policies changed at another broker on this store hold here too.
        if let denial = await refreshIfChanged() { return .denied(denial) }
        let claims: TokenClaims
        switch await self.claims(for: credential) {
        case .failure(let denial): return .denied(denial)
        case .success(let value): claims = value
        }
        let result = claims.result
        if let denial = Self.checkClientCertificate(client, claims: claims) { return .denied(denial) }
        guard let ref = ResourceRef(path: path), ["kek", "secret", "model"].contains(ref.type) else {
            return .denied(.deny(.unknownResource, "resource.path", result))
        }
        // A model key's expected digest is a policy input, so it is read before the policies run: policies that
        // test `model.digest` therefore see whether the key exists (absent digest), others do not.
        var model: ModelKeyRecord?
        if ref.type == "model", let resource = ModelKeyResource(path) {
            do { model = try await modelKeyRecord(resource) } catch { return .denied(.deny(.storageUnavailable, "store", result)) }
        }
        let decidingRule: String
        switch policyCheck(result: result, ref: ref, modelDigest: model?.digest) {
        case .failure(let denial): return .denied(denial)
        case .success(let rule): decidingRule = rule
        }
        let plaintext: Data
        var keyIDs: [String] = []
        do {
            guard let tenants else { return .denied(.deny(.storageUnavailable, "store", result)) }
            guard let tenantID = TenantID(ref.repository), let tenant = tenants.first(where: { $0.id == ref.repository })
            else { return .denied(.deny(.unknownResource, "resource.tenant", result)) }
            guard tenant.state == "active" else { return .denied(.deny(.tenantShredded, "resource.tenant.shredded", result)) }
            if ref.type == "kek" {
                guard let dataClass = DataClass(ref.tag) else { return .denied(.deny(.unknownResource, "resource.tag", result)) }
                let versions = try await store.keks(tenant: tenantID, dataClass: dataClass).filter { $0.state == .active }
                guard let current = versions.last else { return .denied(.deny(.unknownResource, "resource.kek", result)) }
                var items: [KEKRelease.Version] = []
                for version in versions {
                    let raw = try protector.open(
                        version.sealedKey, aad: SealingAAD.kek(tenant: tenantID, dataClass: dataClass, version: version.version))
                    items.append(
                        KEKRelease.Version(
                            version: version.version, key: Base64URL.encode(raw), state: version.version == current.version ? "active" : "decrypt_only"))
                    keyIDs.append("\(path)#\(version.version)")
                }
                plaintext = try Self.canonical(KEKRelease(resource: path, current: current.version, versions: items))
            } else if ref.type == "model" {
                guard let model, let resource = ModelKeyResource(path) else { return .denied(.deny(.unknownResource, "resource.model", result)) }
                plaintext = try modelKeyRelease(model, resource: resource)
                keyIDs = [path]
            } else {
                guard let secret = try await store.secret(tenant: tenantID, name: ref.tag) else {
                    return .denied(.deny(.unknownResource, "resource.secret", result))
                }
                plaintext = try protector.open(secret.sealedValue, aad: SealingAAD.secret(tenant: tenantID, name: ref.tag))
                keyIDs = [path]
            }
        } catch {
            return .denied(.deny(.storageUnavailable, "store", result))
        }
        do {
            let jwe = try JWE.encrypt(plaintext, to: claims.teePublicKey, encryption: .a256GCM, extraHeader: ["kid": "tee-pubkey"])
            return .released(jwe, ReleaseDecision(allowed: true, reason: .granted, rule: decidingRule, result: result), keyIDs: keyIDs)
        } catch {
            return .denied(.deny(.encryptionFailed, "jwe", result))
        }
    }

    /// The policy that decides when no stored policy applies: affirming results only, plus mock evidence with a
    /// `warning` status when the reference values accept mock evidence.
    var fallbackPolicy: ReleasePolicyDocument {
        .brokerDefault(allowMockEvidence: appraiser.referenceValues.acceptMockEvidence)
    }

    /// The rule that allowed the release when every applicable policy passes; otherwise the decision naming the
    /// failing rule.
    func policyCheck(result: AttestationResult, ref: ResourceRef, modelDigest: String? = nil) -> Result<String, ReleaseDecision> {
        guard result.status != .contraindicated else { return .failure(.deny(.attestationContraindicated, "token.status", result)) }
        let decision = policySet.evaluate(ReleaseRequest(result: result, resource: ref, modelDigest: modelDigest), fallback: fallbackPolicy)
        guard decision.allowed else {
            return .failure(ReleaseDecision(allowed: false, reason: BrokerReason(decision.reason), rule: decision.rule, result: result, byPolicy: true))
        }
        return .success(decision.rule)
    }

    /// Dry-runs the release policies for `result` and `path` (admin API and `sealgate policy explain`).
    public func explain(result: AttestationResult, path: String, modelDigest: String? = nil) -> PolicyDecision? {
        guard let ref = ResourceRef(path: path) else { return nil }
        return policySet.evaluate(ReleaseRequest(result: result, resource: ref, modelDigest: modelDigest), fallback: fallbackPolicy)
    }
}
