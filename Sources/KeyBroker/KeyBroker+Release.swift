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
    /// Resources: `<tenant>/kek/<data-class>` (every non-retired KEK version, as ``KEKRelease`` JSON) and
    /// `<tenant>/secret/<name>` (the secret's bytes).
    public func resource(_ credential: BrokerCredential, path: String) async -> ReleaseOutcome {
        let outcome = await decideResource(credential, path: path)
        let ref = ResourceRef(path: path)
        let tenant = ref?.repository ?? "-"
        let type = ref?.type ?? "unknown"
        switch outcome {
        case .released(_, let decision, let keyIDs):
            await emit(.release, decision, tee: decision.result?.tee.rawValue ?? "-", tenant: tenant, resource: path, resourceType: type, keyIDs: keyIDs)
        case .denied(let decision):
            await emit(.release, decision, tee: decision.result?.tee.rawValue ?? "-", tenant: tenant, resource: ref == nil ? nil : path, resourceType: type)
        }
        return outcome
    }

    private func decideResource(_ credential: BrokerCredential, path: String) async -> ReleaseOutcome {
        let claims: TokenClaims
        switch self.claims(for: credential) {
        case .failure(let denial): return .denied(denial)
        case .success(let value): claims = value
        }
        let result = claims.result
        guard let ref = ResourceRef(path: path) else { return .denied(.deny(.unknownResource, "resource.path", result)) }
        let plaintext: Data
        var keyIDs: [String] = []
        var decidingRule = "policy"
        do {
            guard let tenantID = TenantID(ref.repository),
                let tenant = try await store.tenants().first(where: { $0.id == ref.repository })
            else { return .denied(.deny(.unknownResource, "resource.tenant", result)) }
            guard tenant.state == "active" else { return .denied(.deny(.tenantShredded, "resource.tenant.shredded", result)) }
            switch ref.type {
            case "kek":
                guard let dataClass = DataClass(ref.tag) else { return .denied(.deny(.unknownResource, "resource.tag", result)) }
                let versions = try await store.keks(tenant: tenantID, dataClass: dataClass).filter { $0.state == .active }
                guard let current = versions.last else { return .denied(.deny(.unknownResource, "resource.kek", result)) }
                switch policyCheck(result: result, ref: ref) {
                case .failure(let denial): return .denied(denial)
                case .success(let rule): decidingRule = rule
                }
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
            case "secret":
                guard let secret = try await store.secret(tenant: tenantID, name: ref.tag) else {
                    return .denied(.deny(.unknownResource, "resource.secret", result))
                }
                switch policyCheck(result: result, ref: ref) {
                case .failure(let denial): return .denied(denial)
                case .success(let rule): decidingRule = rule
                }
                plaintext = try protector.open(secret.sealedValue, aad: SealingAAD.secret(tenant: tenantID, name: ref.tag))
                keyIDs = [path]
            default:
                return .denied(.deny(.unknownResource, "resource.type", result))
            }
        } catch {
            return .denied(.deny(.storeUnavailable, "store", result))
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
    func policyCheck(result: AttestationResult, ref: ResourceRef) -> Result<String, ReleaseDecision> {
        guard result.status != .contraindicated else { return .failure(.deny(.attestationContraindicated, "token.status", result)) }
        let decision = policySet.evaluate(ReleaseRequest(result: result, resource: ref), fallback: fallbackPolicy)
        guard decision.allowed else {
            return .failure(ReleaseDecision(allowed: false, reason: BrokerReason(decision.reason), rule: decision.rule, result: result))
        }
        return .success(decision.rule)
    }

    /// Dry-runs the release policies for `result` and `path` (admin API and `sealgate policy explain`).
    public func explain(result: AttestationResult, path: String) -> PolicyDecision? {
        guard let ref = ResourceRef(path: path) else { return nil }
        return policySet.evaluate(ReleaseRequest(result: result, resource: ref), fallback: fallbackPolicy)
    }
}
