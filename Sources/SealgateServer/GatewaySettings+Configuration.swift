import AccessPolicy
import Gateway
import SealgateConfig
import SealgateCore

extension GatewaySettings {
    /// Resolves `sealgate.yaml` for the gateway's stages: credentials and grants per tenant, the access policy's
    /// table (with the model profiles that have a model behind them), the policy digest, and retrieval settings.
    init(configuration config: Configuration, servedModels: Set<ModelProfileID>) {
        self.init(
            tenants: config.tenants.map { tenant in
                (
                    tenant.id,
                    tenant.principals.map { ($0.apiKeySHA256, Caller(principal: Principal(tenant: tenant.id, id: $0.id), grants: $0.grants)) }
                )
            },
            policy: config.policyTable(servedModels: servedModels), policyDigest: ConfigLoader.policyDigest(config),
            knownModels: Set(config.models.map(\.id)), redactPromptModels: Set(config.models.filter(\.redactPrompt).map(\.id)),
            chunkCharacters: config.retrieval.chunkCharacters, chunkOverlap: config.retrieval.chunkOverlap)
        modelReach = Dictionary(uniqueKeysWithValues: config.models.map { ($0.id, $0.reach) })
        modelDigests = Dictionary(uniqueKeysWithValues: config.models.compactMap { profile in profile.attestation?.digest.map { (profile.id, $0) } })
    }
}
