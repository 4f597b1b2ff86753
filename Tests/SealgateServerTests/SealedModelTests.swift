import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import SealgateTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Models inside the boundary as an operator runs them: a sealed MiniLM loaded by the gateway through the protected
/// loader (embedded broker, one machine), and `tee-proxy --model` binding its model's digest into what the gateway
/// verifies. Real processes, real files, real HTTP on loopback.
extension BrokerProcessTests {
    /// The signer of the test models: a P-256 key whose public half is written as `signer.pub.pem`.
    static let modelSigner = P256.Signing.PrivateKey()

    /// Writes `files` as the model directory `model-<name>`, signs it (OMS, `model-<name>.sig` beside it) and seals it
    /// with `sealgate model seal` under `resource` — at the embedded broker of `dataDir`, or at the scenario's broker.
    /// Returns the sealed directory (relative to the scenario) and the model digest the command printed.
    static func sealModel(
        _ s: Scenario, name: String, files: [(String, Data)], resource: String, dataDir: String?, signer: P256.Signing.PrivateKey = modelSigner
    ) throws -> (sealed: String, digest: String) {
        for (path, data) in files {
            let url = URL(fileURLWithPath: s.dir + "/model-\(name)/" + path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        try OMSTestSigner.bundle(files, key: signer).write(to: URL(fileURLWithPath: s.dir + "/model-\(name).sig"))
        try modelSigner.publicKey.pemRepresentation.write(toFile: s.dir + "/signer.pub.pem", atomically: true, encoding: .utf8)
        let target = dataDir.map { ["--data-dir", $0] } ?? ["--broker", s.brokerURL, "--token-file", "br/admin-token"]
        let provision = try s.run(["keys", "provision-model", resource] + target)
        guard provision.0 == 0 else { throw TestFailure("provision-model failed: \(provision.1)") }
        let (status, output) = try s.run(
            ["model", "seal", "model-\(name)", "--signature", "model-\(name).sig", "--out", "sealed-\(name)", "--key-resource", resource,
             "--key", "signer.pub.pem"] + target)
        guard status == 0, let range = output.range(of: "model digest ") else { throw TestFailure("model seal failed: \(output)") }
        let digest = String(output[range.upperBound...].prefix(71))
        #expect(digest == "sha256:" + OMSTestSigner.modelDigestHex(files))
        return ("sealed-\(name)", digest)
    }

    /// A gateway configuration whose retrieval runs the given embedder block, one tenant (`acme`, key `key`).
    static func embedderConfig(key: String, embedder: String) -> String {
        """
        retrieval:
          embedder: \(embedder)
        data_classes:
          - {name: internal, models: [extractive], redaction_profile: basic, allow_mock_evidence: true}
        models:
          - {id: extractive, type: builtin}
        tenants:
          - id: acme
            principals:
              - {id: acme-app, api_key_sha256: \(sha256Hex(key)), read: ["*"], write: ["*"], data_classes: ["*"]}
        """
    }

    /// Starts `sealgate serve` on the embedded broker of `gw` with `config`; returns the process (its log: `log`).
    static func serveEmbedded(_ s: Scenario, config: String, log: String) throws -> ChildProcess {
        try FileManager.default.createDirectory(atPath: s.dir + "/gw", withIntermediateDirectories: true)
        try config.write(toFile: s.dir + "/gw/sealgate.yaml", atomically: true, encoding: .utf8)
        return try s.start(["serve", "--data-dir", "gw", "--config", "gw/sealgate.yaml", "--port", "\(s.gatewayPort)"], log: log)
    }

    /// A request with the tenant's bearer key and a JSON body.
    static func post(_ url: String, key: String, _ body: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        return request
    }

    @Test(
        "A sealed MiniLM through the protected loader on the embedded broker: ready, its digest in /v1/models and in each answer's audit record, no plaintext on disk",
        .enabled(if: minilmDirectory != nil, "\(minilmWeightsAbsent)"))
    func sealedMiniLM() async throws {
        let weights = try #require(minilmDirectory)
        let files = try ["model.safetensors", "vocab.txt"].map { ($0, try Data(contentsOf: URL(fileURLWithPath: weights + "/" + $0))) }
        try await Self.withScenario { s in
            let key = "sk-sealed-minilm-test-key"
            let (sealed, digest) = try Self.sealModel(s, name: "minilm", files: files, resource: "acme/model/minilm", dataDir: "gw")
            try? FileManager.default.removeItem(atPath: s.dir + "/model-minilm")
            s.gateway = try Self.serveEmbedded(
                s, config: Self.embedderConfig(key: key, embedder: "{type: minilm, artifact: \(sealed), signer_key: signer.pub.pem}"), log: "gateway.log")
            try await s.waitFor("gateway ready", seconds: 120) { try await s.get(s.gatewayURL + "/readyz").0 == 200 }
            #expect(s.log("gateway.log").contains("sealed embedder loaded into memory"))
            var models = HTTPClientRequest(url: s.gatewayURL + "/v1/models")
            models.headers.add(name: "Authorization", value: "Bearer \(key)")
            let (listStatus, list) = try await s.send(models)
            #expect(listStatus == 200 && list.contains(#""embedder":{"digest":"\#(digest)","id":"minilm-l6-v2-384-"#), "\(list)")
            let ingest = Self.post(
                s.gatewayURL + "/v1/collections/handbook/documents", key: key,
                #"{"id":"travel","title":"Travel","text":"Employees book trains for trips under 500 km.","data_class":"internal"}"#)
            #expect(try await s.send(ingest).0 == 201)
            let (status, answer) = try await s.send(
                Self.post(s.gatewayURL + "/v1/query", key: key, #"{"question":"How do I travel 300 km?","data_class":"internal","scope":{"collections":["handbook"]}}"#))
            #expect(status == 200 && answer.contains("trains"), "\(answer)")
            s.stop(s.gateway)
            let (tailStatus, audit) = try s.run(["audit", "tail", "--data-dir", "gw", "--lines", "20", "--json"])
            #expect(tailStatus == 0 && audit.contains(#""embedderDigest":"\#(digest)""#) && audit.contains(#""kind":"query""#), "\(audit)")
            #expect(try s.run(["audit", "verify", "--data-dir", "gw"]).0 == 0)
            // The weights were decrypted into memory only: no file under the scenario holds their safetensors header.
            let header = Data(files[0].1.prefix(200).suffix(120))
            let stray = FileManager.default.enumerator(atPath: s.dir)?.compactMap { $0 as? String }.filter { path in
                (try? Data(contentsOf: URL(fileURLWithPath: s.dir + "/" + path), options: .alwaysMapped))?.range(of: header) != nil
            }
            #expect(stray == [], "plaintext weights on disk: \(stray ?? [])")
        }
    }

    @Test("A sealed embedder that is refused stops start-up with the loader's reason: mis-signed, key absent, chunk changed, unsealed")
    func sealedEmbedderRefusals() async throws {
        let files: [(String, Data)] = [("model.safetensors", Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })), ("vocab.txt", Data("[PAD]\nhello\n".utf8))]
        try await Self.withScenario { s in
            let key = "sk-sealed-refusal-test-key"
            let (sealed, _) = try Self.sealModel(s, name: "fake", files: files, resource: "acme/model/fake", dataDir: "gw")
            func refusal(_ embedder: String, dataDir: String = "gw") async throws -> String {
                let log = "refused-\(UUID().uuidString).log"
                try FileManager.default.createDirectory(atPath: s.dir + "/" + dataDir, withIntermediateDirectories: true)
                try Self.embedderConfig(key: key, embedder: embedder).write(toFile: s.dir + "/\(dataDir)/sealgate.yaml", atomically: true, encoding: .utf8)
                let process = try s.start(
                    ["serve", "--data-dir", dataDir, "--config", "\(dataDir)/sealgate.yaml", "--port", "\(s.gatewayPort)"], log: log)
                defer { s.stop(process) }  // one that did start (a failure below) does not outlive the test
                try await s.waitFor("a refused start-up", seconds: 60) { !process.isRunning }
                #expect(process.terminationStatus != 0)
                #expect((try? await s.get(s.gatewayURL + "/readyz"))?.0 != 200)
                return s.log(log)
            }
            let sealedBlock = "{type: minilm, artifact: \(sealed), signer_key: signer.pub.pem}"
            // Signed by someone else than the configured key.
            try P256.Signing.PrivateKey().publicKey.pemRepresentation.write(toFile: s.dir + "/other.pub.pem", atomically: true, encoding: .utf8)
            let misSigned = try await refusal("{type: minilm, artifact: \(sealed), signer_key: other.pub.pem}")
            #expect(misSigned.contains("model_signature_invalid"), "\(misSigned)")
            // Another gateway's embedded broker has no such model key: the release is refused.
            let noKey = try await refusal(sealedBlock, dataDir: "gw2")
            #expect(noKey.contains("model_key_denied"), "\(noKey)")
            // Sealed for another model key than the configuration expects: refused before the broker is asked.
            let otherKey = try await refusal("{type: minilm, artifact: \(sealed), signer_key: signer.pub.pem, key_resource: acme/model/other}")
            #expect(otherKey.contains("model_key_mismatch"), "\(otherKey)")
            // A plain directory without artifact_plain: refused, pointing at sealing.
            let plain = try await refusal("{type: minilm, artifact: model-fake, signer_key: signer.pub.pem}")
            #expect(plain.contains("is not a sealed model"), "\(plain)")
            // One byte of a sealed chunk changed.
            let blob = s.dir + "/\(sealed)/files/000000.sealed"
            var bytes = try Data(contentsOf: URL(fileURLWithPath: blob))
            bytes[40] ^= 0x01
            try bytes.write(to: URL(fileURLWithPath: blob))
            let changed = try await refusal(sealedBlock)
            #expect(changed.contains("model_chunk_invalid"), "\(changed)")
            #expect(!changed.contains("hello"))
        }
    }

    @Test("tee-proxy --model binds its model digest into its certificate: a pinned profile answers and records it; another pin is model_digest_mismatch")
    func pinnedUpstreamModelDigest() async throws {
        let seen = Seen()
        let files: [(String, Data)] = [("weights.gguf", Data("GGUF fake weights for the digest binding".utf8)), ("config.json", Data(#"{"layers":1}"#.utf8))]
        try await fakeUpstream(seen: seen).test(.live) { upstream in
            let upstreamPort = try #require(upstream.port)
            try await Self.withScenario { s in
                let key = "sk-pinned-digest-test-key"
                let proxyPort = try Self.freePort()
                let other = "sha256:" + String(repeating: "0", count: 64)
                // The OMS manifest digest is known before sealing; pinning it is part of the gateway's measured policy.
                let expected = "sha256:" + OMSTestSigner.modelDigestHex(files)
                try FileManager.default.createDirectory(atPath: s.dir + "/gw", withIntermediateDirectories: true)
                try Self.pinnedConfig(key: key, proxyPort: proxyPort, digest: expected, other: other)
                    .write(toFile: s.dir + "/gw.yaml", atomically: true, encoding: .utf8)
                #expect(try s.run(["config", "check", "gw.yaml"]).0 == 0)
                let proxy = [
                    "tee-proxy", "--upstream", "http://127.0.0.1:\(upstreamPort)", "--workload", "model:llm", "--broker", s.brokerURL, "--port", "\(proxyPort)",
                    "--data-dir", "px", "--lease-seconds", "5",
                ]
                let (g, gateway) = try s.run(["measure", "--data-dir", "gw", "--config", "gw.yaml", "--lease-seconds", "\(s.leaseSeconds)", "--reference-values"])
                let (p, proxyValues) = try s.run(proxy + ["--reference-values"])
                #expect(g == 0 && p == 0, "\(gateway)")
                try Self.mergeReferenceValues([gateway, proxyValues]).write(toFile: s.dir + "/rv.json", atomically: true, encoding: .utf8)
                try await s.startBroker()
                #expect(try s.keys(["provision", "acme", "--class", "internal", "--class", "restricted"]) == 0)
                #expect(try s.keys(["enrol-workload", "model:llm", "--name", "127.0.0.1"]) == 0)
                let (sealed, digest) = try Self.sealModel(s, name: "llm", files: files, resource: "acme/model/llm", dataDir: nil)
                #expect(digest == expected)
                let proxyProcess = try s.start(
                    proxy + ["--model", sealed, "--model-signer-key", "signer.pub.pem", "--model-resource", "acme/model/llm", "--model-file", "weights.gguf",
                             "--", "/bin/sh", "-c", "exec sleep 600", "{model}"], log: "proxy.log")
                defer { s.stop(proxyProcess) }
                try await s.waitFor("the proxy serving its sealed model", seconds: 40) {
                    s.log("proxy.log").contains("workload certificate installed") && s.log("proxy.log").contains("model server started")
                }
                s.gateway = try s.start(
                    ["serve", "--data-dir", "gw", "--config", "gw.yaml", "--port", "\(s.gatewayPort)", "--broker", s.brokerURL, "--lease-seconds", "\(s.leaseSeconds)"],
                    log: "gateway.log")
                try await s.waitFor("gateway ready", seconds: 40) { try await s.get(s.gatewayURL + "/readyz").0 == 200 }
                #expect(try await s.send(Self.post(s.gatewayURL + "/v1/collections/handbook/documents", key: key,
                    #"{"id":"travel","title":"Travel","text":"The travel policy: book trains for trips under 500 km.","data_class":"internal"}"#)).0 == 201)
                func ask(_ model: String) async throws -> (Int, String) {
                    try await s.send(Self.post(s.gatewayURL + "/v1/query", key: key,
                        #"{"question":"What is the travel policy?","data_class":"restricted","model_policy":"\#(model)","scope":{"collections":["handbook"]}}"#))
                }
                let (status, answer) = try await ask("llm")
                #expect(status == 200, "\(answer)")
                #expect(seen.bodies.withLock { $0.count } == 1)
                let (refused, problem) = try await ask("llm-other")
                #expect(refused == 403 && problem.contains("model_digest_mismatch"), "\(problem)")
                #expect(seen.bodies.withLock { $0.count } == 1)
                var models = HTTPClientRequest(url: s.gatewayURL + "/v1/models")
                models.headers.add(name: "Authorization", value: "Bearer \(key)")
                let (_, list) = try await s.send(models)
                #expect(list.contains(#""digest":"\#(digest)","id":"llm""#), "\(list)")
                let (_, metrics) = try await s.get(s.gatewayURL + "/metrics")
                #expect(metrics.contains(#"reason="model_digest_mismatch""#))
                let (_, audit) = try s.run(["audit", "tail", "--data-dir", "gw", "--lines", "20", "--json"])
                #expect(audit.contains(#""modelDigest":"\#(digest)""#) && audit.contains(#""reason":"model_digest_mismatch""#), "\(audit)")
            }
        }
    }

    /// The gateway of ``pinnedUpstreamModelDigest()``: `restricted` reaches the proxy through a profile pinned to its
    /// model's digest (`llm`) and one pinned to another (`llm-other`).
    static func pinnedConfig(key: String, proxyPort: Int, digest: String, other: String) -> String {
        """
        data_classes:
          - {name: internal, models: [extractive], redaction_profile: basic, allow_mock_evidence: true}
          - {name: restricted, models: [llm, llm-other], redaction_profile: all, allow_mock_evidence: true}
        models:
          - {id: extractive, type: builtin}
          - {id: llm, type: openai, base_url: "https://127.0.0.1:\(proxyPort)/v1", model: fake-llm, retries: 0, timeout_seconds: 10,
             attestation: {workload: "model:llm", digest: "\(digest)"}}
          - {id: llm-other, type: openai, base_url: "https://127.0.0.1:\(proxyPort)/v1", model: fake-llm, retries: 0, timeout_seconds: 10,
             attestation: {workload: "model:llm", digest: "\(other)"}}
        tenants:
          - id: acme
            principals:
              - {id: acme-app, api_key_sha256: \(sha256Hex(key)), read: ["*"], write: ["*"], data_classes: ["*"]}
        """
    }
}
