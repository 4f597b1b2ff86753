import SealgateConfig
import SealgateCore
import Testing

/// `retrieval.embedder` selects the embedder per deployment (issue #16 item 3); a MiniLM artifact is sealed unless
/// `artifact_plain` says otherwise; attested profiles may pin their upstream's model digest.
@Suite("Configuration: retrieval.embedder type minilm, sealed or explicitly plain; pinned model digests")
struct ConfigEmbedderTests {
    let profiles: Set<String> = ["none", "basic", "all"]

    func issues(_ yaml: String) -> [String] { configIssuePaths(yaml) }

    @Test("retrieval.max_chunks_per_tenant: absent is no limit, a positive number is the limit, zero or less is refused")
    func chunkLimit() throws {
        #expect(try ConfigLoader.parse("{}", knownRedactionProfiles: profiles).retrieval.maxChunksPerTenant == nil)
        let config = try ConfigLoader.parse("retrieval:\n  max_chunks_per_tenant: 500000\n", knownRedactionProfiles: profiles)
        #expect(config.policyTable(servedModels: []).maxChunksPerTenant == 500_000)
        #expect(issues("retrieval:\n  max_chunks_per_tenant: 0\n") == ["retrieval.max_chunks_per_tenant"])
    }

    @Test("hashing stays the default; minilm takes a sealed artifact and its signer key, or a plain directory only when told")
    func minilmSelected() throws {
        #expect(try ConfigLoader.parse("{}", knownRedactionProfiles: profiles).retrieval.embedder.type == .builtin)
        let config = try ConfigLoader.parse(
            "retrieval:\n  embedder:\n    type: minilm\n    artifact: /models/sealed\n    signer_key: /keys/signer.pem\n    key_resource: acme/model/minilm\n",
            knownRedactionProfiles: profiles)
        #expect(config.retrieval.embedder.type == .minilm && !config.retrieval.embedder.artifactPlain)
        #expect(config.retrieval.embedder.artifact == "/models/sealed" && config.retrieval.embedder.signerKey == "/keys/signer.pem")
        #expect(config.retrieval.embedder.keyResource == "acme/model/minilm")
        let plain = try ConfigLoader.parse(
            "retrieval:\n  embedder:\n    type: minilm\n    artifact: /models/minilm\n    artifact_plain: true\n", knownRedactionProfiles: profiles)
        #expect(plain.retrieval.embedder.artifactPlain)
        // Writing `artifact_plain: false` is the default: the same policy digest as leaving it out.
        let explicit = try ConfigLoader.parse(
            "retrieval:\n  embedder:\n    type: minilm\n    artifact: /m\n    signer_key: /k\n    artifact_plain: false\n", knownRedactionProfiles: profiles)
        let implicit = try ConfigLoader.parse("retrieval:\n  embedder:\n    type: minilm\n    artifact: /m\n    signer_key: /k\n", knownRedactionProfiles: profiles)
        #expect(ConfigLoader.policyDigest(explicit) == ConfigLoader.policyDigest(implicit))
    }

    @Test("minilm refusals: no artifact, a sealed artifact without signer key, plain with signer key, a bad key resource")
    func refusals() {
        #expect(issues("retrieval:\n  embedder:\n    type: minilm\n    signer_key: /k\n") == ["retrieval.embedder.artifact"])
        #expect(issues("retrieval:\n  embedder:\n    type: minilm\n    artifact: /m\n") == ["retrieval.embedder.signer_key"])
        #expect(issues("retrieval:\n  embedder:\n    type: minilm\n    artifact: /m\n    artifact_plain: true\n    signer_key: /k\n")
            == ["retrieval.embedder.artifact_plain"])
        #expect(issues("retrieval:\n  embedder:\n    type: minilm\n    artifact: /m\n    signer_key: /k\n    key_resource: acme/kek/x\n")
            == ["retrieval.embedder.key_resource"])
    }

    @Test("An attested profile may pin a model digest: sha256 and 64 lowercase hex digits, nothing else")
    func pinnedDigest() throws {
        func profile(_ digest: String) -> String {
            "models:\n  - {id: extractive, type: builtin}\n  - {id: llm, type: openai, base_url: \"https://127.0.0.1:9/v1\", model: m, attestation: {workload: \"model:llm\", digest: \"\(digest)\"}}\n"
        }
        let good = "sha256:" + String(repeating: "0a", count: 32)
        let config = try ConfigLoader.parse(profile(good), knownRedactionProfiles: profiles)
        #expect(config.models.first { $0.id.rawValue == "llm" }?.attestation?.digest == good)
        for bad in ["sha256:" + String(repeating: "0A", count: 32), "sha256:abc", "sha384:" + String(repeating: "0a", count: 32), good + "00"] {
            #expect(issues(profile(bad)) == ["models[1].attestation.digest"], "\(bad)")
        }
    }
}
