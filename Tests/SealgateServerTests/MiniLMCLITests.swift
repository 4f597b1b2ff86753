import Foundation
import Testing

/// The MiniLM embedder as an operator meets it: `sealgate model embed`, and `sealgate serve` with
/// `retrieval.embedder.type: minilm` over files that lie.
@Suite("sealgate with the MiniLM embedder: refused model files stop it with the reason")
struct MiniLMCLITests {
    /// A directory with a `vocab.txt` and a `model.safetensors` whose header claims bytes past the file.
    static func lyingArtifact(_ dir: TempDir) throws -> String {
        _ = try dir.write("minilm/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n")
        let header = #"{"embeddings.word_embeddings.weight":{"dtype":"F32","shape":[5,384],"data_offsets":[0,7680]}}"#
        var length = UInt64(header.utf8.count).littleEndian
        var data = Data(bytes: &length, count: 8)
        data.append(Data(header.utf8))
        data.append(Data(repeating: 0, count: 16))
        try data.write(to: URL(fileURLWithPath: dir.path + "/minilm/model.safetensors"))
        return dir.path + "/minilm"
    }

    @Test("model embed: a safetensors header that lies about its offsets is refused before any read (exit 1, reason)")
    func embedRefusesLyingHeader() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let result = try runSealgateSplit(["model", "embed", "--artifact", try Self.lyingArtifact(dir)])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("refused (safetensors_malformed)"), "\(result)")
        let missing = try runSealgateSplit(["model", "embed", "--artifact", dir.path + "/absent"])
        #expect(missing.status == 1 && missing.stderr.contains("refused (model_unreadable)"), "\(missing)")
    }

    @Test("model embed --gemm: an unknown kernel is a usage error; a kernel this CPU cannot run is refused with unsupported_cpu")
    func embedRefusesKernel() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let artifact = try Self.lyingArtifact(dir)
        let unknown = try runSealgateSplit(["model", "embed", "--artifact", artifact, "--gemm", "avx1024"])
        #expect(unknown.status != 0 && unknown.stderr.contains("--gemm must be one of"), "\(unknown)")
        #if arch(x86_64)
        // The portable kernel is never compiled on x86-64 (the kernels there are built for Haswell or AVX-512).
        let foreign = try runSealgateSplit(["model", "embed", "--artifact", artifact, "--gemm", "portable-6x16"])
        #expect(foreign.status == 1 && foreign.stderr.contains("refused (unsupported_cpu)"), "\(foreign)")
        #endif
    }

    @Test("serve: type minilm over a lying plain artifact (artifact_plain) does not start and says why")
    func serveRefusesLyingArtifact() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let artifact = try Self.lyingArtifact(dir)
        let config = try dir.write("sealgate.yaml", "retrieval:\n  embedder:\n    type: minilm\n    artifact: \(artifact)\n    artifact_plain: true\n")
        let result = try runSealgateSplit(["serve", "--data-dir", dir.path + "/data", "--config", config, "--port", "18397"])
        #expect(result.status != 0, "\(result)")
        #expect((result.stdout + result.stderr).contains("safetensors_malformed"), "\(result)")
    }
}
