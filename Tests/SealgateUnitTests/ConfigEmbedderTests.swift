import SealgateConfig
import SealgateCore
import Testing

/// `retrieval.embedder` selects the embedder per deployment (issue #16 item 3).
@Suite("Configuration: retrieval.embedder type minilm")
struct ConfigEmbedderTests {
    let profiles: Set<String> = ["none", "basic", "all"]

    @Test("hashing stays the default; minilm takes an artifact directory")
    func minilmSelected() throws {
        #expect(try ConfigLoader.parse("{}", knownRedactionProfiles: profiles).retrieval.embedder.type == .builtin)
        let config = try ConfigLoader.parse(
            "retrieval:\n  embedder:\n    type: minilm\n    artifact: /models/minilm\n", knownRedactionProfiles: profiles)
        #expect(config.retrieval.embedder.type == .minilm)
        #expect(config.retrieval.embedder.artifact == "/models/minilm")
    }

    @Test("minilm without an artifact is refused at retrieval.embedder.artifact")
    func artifactRequired() {
        do {
            _ = try ConfigLoader.parse("retrieval:\n  embedder:\n    type: minilm\n", knownRedactionProfiles: profiles)
            Issue.record("accepted")
        } catch let error as ConfigError {
            #expect(error.issues.map(\.path) == ["retrieval.embedder.artifact"])
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
