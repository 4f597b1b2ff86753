import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SealgateServer
import SealgateTestSupport
import Testing

extension BrokerProcessTests {
    /// The gateway's configuration: `restricted` reaches an attested profile (`llm`, behind a tee-proxy), a profile
    /// whose endpoint is a proxy of another workload class (`llm-wrong`), and a plain upstream (`plain`).
    static func attestedUpstreamConfig(key: String, proxyPort: Int, otherProxyPort: Int, upstreamPort: Int) -> String {
        """
        data_classes:
          - {name: internal, models: [extractive], redaction_profile: basic, allow_mock_evidence: true}
          - {name: restricted, models: [llm, llm-wrong, plain], redaction_profile: all, allow_mock_evidence: true}
        models:
          - {id: extractive, type: builtin}
          - id: llm
            type: openai
            base_url: https://127.0.0.1:\(proxyPort)/v1
            model: fake-llm
            retries: 0
            timeout_seconds: 10
            attestation: {workload: "model:llm"}
          - id: llm-wrong
            type: openai
            base_url: https://127.0.0.1:\(otherProxyPort)/v1
            model: fake-llm
            retries: 0
            timeout_seconds: 10
            attestation: {workload: "model:llm"}
          - id: plain
            type: openai
            base_url: http://127.0.0.1:\(upstreamPort)/v1
            model: fake-llm
            retries: 0
            insecure_unattested: true
        tenants:
          - id: acme
            principals:
              - {id: acme-app, api_key_sha256: \(sha256Hex(key)), read: ["*"], write: ["*"], data_classes: ["*"]}
        """
    }

    static func sha256Hex(_ text: String) -> String {
        ((try? ChildProcess.run("sha256sum", [], stdin: Array(text.utf8), timeout: 60))?.text ?? "").prefix(64).description
    }

    /// Merges reference-value documents (sets and mock signers) into one.
    static func mergeReferenceValues(_ documents: [String]) throws -> String {
        var sets: [Any] = []
        var signers: [String] = []
        for document in documents {
            let object = try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any] ?? [:]
            sets += object["sets"] as? [Any] ?? []
            for signer in object["mock_signers"] as? [String] ?? [] where !signers.contains(signer) { signers.append(signer) }
        }
        let merged: [String: Any] = ["sets": sets, "accept_mock_evidence": true, "mock_signers": signers]
        return String(decoding: try JSONSerialization.data(withJSONObject: merged), as: UTF8.self)
    }

    @Test("Three processes: broker, tee-proxy before a model server, gateway: restricted passages reach only the attested proxy")
    func attestedUpstream() async throws {
        let seen = Seen()
        try await fakeUpstream(seen: seen).test(.live) { upstream in
            let upstreamPort = try #require(upstream.port)
            try await Self.withScenario { s in
                let key = "sk-attested-upstream-test-key"
                let (proxyPort, otherPort) = (try Self.freePort(), try Self.freePort())
                try FileManager.default.createDirectory(atPath: s.dir + "/gw", withIntermediateDirectories: true)
                try Self.attestedUpstreamConfig(key: key, proxyPort: proxyPort, otherProxyPort: otherPort, upstreamPort: upstreamPort)
                    .write(toFile: s.dir + "/gw/sealgate.yaml", atomically: true, encoding: .utf8)
                #expect(try s.run(["config", "check", "gw/sealgate.yaml"]).0 == 0)
                let proxy = { (workload: String, port: Int, dir: String) -> [String] in
                    ["tee-proxy", "--upstream", "http://127.0.0.1:\(upstreamPort)", "--workload", workload, "--broker", s.brokerURL,
                     "--port", "\(port)", "--data-dir", dir, "--lease-seconds", "5"]
                }
                let (g, gateway) = try s.run(["measure", "--data-dir", "gw", "--lease-seconds", "\(s.leaseSeconds)", "--reference-values"])
                let (a, proxyA) = try s.run(proxy("model:llm", proxyPort, "pxa") + ["--reference-values"])
                let (b, proxyB) = try s.run(proxy("model:other", otherPort, "pxb") + ["--reference-values"])
                #expect(g == 0 && a == 0 && b == 0)
                try Self.mergeReferenceValues([gateway, proxyA, proxyB]).write(toFile: s.dir + "/rv.json", atomically: true, encoding: .utf8)
                try await s.startBroker()
                #expect(try s.keys(["provision", "acme", "--class", "internal", "--class", "restricted"]) == 0)
                #expect(try s.keys(["enrol-workload", "model:llm", "--name", "127.0.0.1"]) == 0)
                #expect(try s.keys(["enrol-workload", "model:other", "--name", "127.0.0.1"]) == 0)
                let proxies = [try s.start(proxy("model:llm", proxyPort, "pxa"), log: "proxy-a.log"), try s.start(proxy("model:other", otherPort, "pxb"), log: "proxy-b.log")]
                defer { for p in proxies { s.stop(p) } }
                try await s.waitFor("both proxies serving TLS", seconds: 40) {
                    s.log("proxy-a.log").contains("workload certificate installed") && s.log("proxy-b.log").contains("workload certificate installed")
                }
                s.gateway = try s.start(
                    ["serve", "--data-dir", "gw", "--port", "\(s.gatewayPort)", "--broker", s.brokerURL, "--lease-seconds", "\(s.leaseSeconds)"],
                    log: "gateway.log")
                try await s.waitFor("gateway ready", seconds: 40) { try await s.get(s.gatewayURL + "/readyz").0 == 200 }
                var ingest = HTTPClientRequest(url: s.gatewayURL + "/v1/collections/handbook/documents")
                ingest.method = .POST
                ingest.headers.add(name: "Authorization", value: "Bearer \(key)")
                ingest.headers.add(name: "Content-Type", value: "application/json")
                ingest.body = .bytes(ByteBuffer(string: #"{"id":"travel","title":"Travel","text":"The travel policy: book trains for trips under 500 km.","data_class":"internal"}"#))
                #expect(try await s.send(ingest).0 == 201)

                func ask(_ model: String) async throws -> (Int, String) {
                    var request = HTTPClientRequest(url: s.gatewayURL + "/v1/query")
                    request.method = .POST
                    request.headers.add(name: "Authorization", value: "Bearer \(key)")
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(string: #"{"question":"What is the travel policy?","data_class":"restricted","model_policy":"\#(model)","scope":{"collections":["handbook"]}}"#))
                    return try await s.send(request)
                }
                // Through the attested proxy: the answer arrives (redacted at restricted), and the upstream saw the passage.
                let (status, answer) = try await ask("llm")
                #expect(status == 200, "\(answer)\n--- gateway.log\n\(s.log("gateway.log").suffix(3000))\n--- proxy-a.log\n\(s.log("proxy-a.log").suffix(2000))")
                #expect(answer.contains("[EMAIL]") && !answer.contains("jane.doe"))
                #expect(seen.bodies.withLock { $0.count } == 1 && (seen.last ?? "").contains("book trains"))
                // A plain upstream: refused by policy before retrieval; nothing reaches it.
                let (plainStatus, plainBody) = try await ask("plain")
                #expect(plainStatus == 403 && plainBody.contains("model_not_attested"))
                // An attested endpoint of another workload class: refused in the handshake; nothing reaches it.
                let (wrongStatus, wrongBody) = try await ask("llm-wrong")
                #expect(wrongStatus != 200 && wrongBody.contains("model_not_attested"), "\(wrongBody)")
                #expect(seen.bodies.withLock { $0.count } == 1)
                // The answer's audit record says how the model was reached; the refusals are audited.
                let (tailStatus, audit) = try s.run(["audit", "tail", "--data-dir", "gw", "--lines", "50", "--json"])
                #expect(tailStatus == 0)
                #expect(audit.contains(#""modelAttestation":"attested""#), "\(audit)")
                #expect(audit.contains("model_not_attested"))
            }
        }
    }
}
