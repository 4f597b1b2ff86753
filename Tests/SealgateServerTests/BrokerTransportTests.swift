import Foundation
import HummingbirdTesting
import KeyBroker
import Logging
import SealgateServer
import Testing

/// A standalone broker is reached over HTTPS, or plain HTTP on loopback only, unless the operator says
/// `--insecure-broker-http`: a release is encrypted to the TEE, not signed, so anyone on a plain-HTTP path could
/// hand the gateway keys of their own (review finding: the Kubernetes overlays used http between Pods).
@Suite("Broker transport: HTTPS off loopback")
struct BrokerTransportTests {
    @Test("https anywhere and http on loopback pass; http to any other host, other schemes and non-URLs are refused by name")
    func rule() {
        for good in ["https://sealgate-broker:8081", "https://10.0.0.5", "http://127.0.0.1:8081", "http://127.9.8.7", "http://localhost:1",
                     "http://[::1]:8081", "HTTP://LOCALHOST:9"] {
            #expect(BrokerTransport.problem(good) == nil, "\(good)")
        }
        for bad in ["http://sealgate-broker:8081", "http://10.0.0.1", "http://127.0.0.1.example.com:8081", "http://1270.0.0.1", "http://0.0.0.0:8081",
                    "ftp://127.0.0.1", "http://", "sealgate-broker:8081", "127.0.0.1:8081"] {
            #expect(BrokerTransport.problem(bad) != nil, "\(bad)")
        }
        #expect(BrokerTransport.problem("http://sealgate-broker:8081")?.contains("--insecure-broker-http") == true)
    }

    @Test("serve and tee-proxy refuse a plain-HTTP broker off loopback before starting, naming the flag")
    func cli() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let serve = try await runCLI(["serve", "--data-dir", dir.path + "/gw", "--broker", "http://sealgate-broker:8081"])
        #expect(serve.status != 0 && serve.stderr.contains("plain HTTP") && serve.stderr.contains("--insecure-broker-http"), "\(serve.both)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/gw"), "nothing was started or written")
        let proxy = try await runCLI(["tee-proxy", "--upstream", "http://127.0.0.1:9", "--workload", "model:m", "--broker", "http://10.1.2.3:8081"])
        #expect(proxy.status != 0 && proxy.stderr.contains("plain HTTP"), "\(proxy.both)")
    }

    @Test("The library entry points apply the same rule: Sealgate.build and TEEProxy.build refuse a plain-HTTP broker off loopback unless told")
    func library() async throws {
        let fixture = try Fixture()
        var options = fixture.options()
        options.brokerURL = "http://192.0.2.7:8081"
        do {
            _ = try await Sealgate.build(options)
            Issue.record("Sealgate.build took a plain-HTTP broker off loopback")
        } catch { #expect("\(error)".contains("plain HTTP") && "\(error)".contains("--insecure-broker-http"), "\(error)") }
        #expect(!FileManager.default.fileExists(atPath: fixture.dir + "/audit"), "nothing was opened")
        var proxy = TEEProxyOptions(upstream: "http://127.0.0.1:9", workload: try #require(WorkloadClass("model:m")), brokerURL: "http://10.1.2.3:8081")
        proxy.dataDir = fixture.dir + "/proxy"
        do {
            _ = try await TEEProxy.build(proxy)
            Issue.record("TEEProxy.build took a plain-HTTP broker off loopback")
        } catch { #expect("\(error)".contains("plain HTTP"), "\(error)") }
    }
}

/// `POST /kbs/v0/auth` is the one call anyone may make, and each opens a session the broker keeps until it lapses:
/// per source address it is limited to 20 a second with bursts of 100, so one source cannot fill the session table
/// every TEE's attestation needs (review finding: 2,000 auths above 50,000 live sessions took 27.7 s).
@Suite("Broker: auth is rate-limited per source")
struct BrokerAuthRateTests {
    @Test("A burst of 100 auths from one address is answered; the next is 429 rate_limited (counted); a second later 20 more are")
    func burst() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let clock = TestClock()
        let instance = try await SealgateBroker.build(BrokerOptions(port: 0, dataDir: dir.path + "/broker", now: clock.now, logger: Logger(label: "test")))
        try await instance.application.test(.live) { client in
            func auth() async throws -> TestResponse { try await client.send(.post, "/kbs/v0/auth", key: nil, json: #"{"version": "0.1.0", "tee": "mock"}"#) }
            for n in 0..<100 { #expect(try await auth().status == .ok, "auth \(n)") }
            let refused = try await auth()
            #expect(refused.status == .tooManyRequests && refused.object["reason"] as? String == "rate_limited", "\(refused.text)")
            #expect(instance.metrics.render().contains(#"sealgate_broker_rate_limited_total{route="auth"} 1"#))
            clock.advance(1)
            for n in 0..<20 { #expect(try await auth().status == .ok, "auth \(n) after a second") }
            #expect(try await auth().status == .tooManyRequests)
        }
    }
}

/// The model path's transport rules (review findings): `keys`/`model seal` refuse a plain-HTTP broker off loopback
/// (the admin token, secret values and a model's data key would cross the network in clear), and a proxy serving a
/// sealed model forwards only to the model server it starts on it.
@Suite("Model path transport: keys, model seal and tee-proxy --model")
struct ModelTransportTests {
    @Test("keys and model seal refuse a plain-HTTP broker off loopback before sending anything; --insecure-broker-http allows it")
    func keysCLI() async throws {
        let keys = try await runCLI(["keys", "tenants", "--broker", "http://192.0.2.7:8081"], environment: ["SEALGATE_ADMIN_TOKEN": "sgk_x"])
        #expect(keys.status != 0 && keys.stderr.contains("plain HTTP") && keys.stderr.contains("data key"), "\(keys.both)")
        let seal = try await runCLI(["model", "seal", "m", "--signature", "m.sig", "--key", "k.pem", "--out", "o", "--key-resource", "acme/model/m",
                                     "--broker", "http://192.0.2.7:8081"])
        #expect(seal.status != 0 && seal.stderr.contains("plain HTTP"), "\(seal.both)")
        // Allowed by the flag: it then tries, and reports the unreachable address (TEST-NET-1, nothing answers).
        let insecure = try await runCLI(
            ["keys", "tenants", "--broker", "http://192.0.2.7:8081", "--insecure-broker-http", "--timeout", "1"], environment: ["SEALGATE_ADMIN_TOKEN": "sgk_x"])
        #expect(insecure.status == 2 && insecure.stderr.contains("cannot reach the broker") || insecure.stderr.contains("no answer"), "\(insecure.both)")
    }

    @Test("tee-proxy --model needs {model} in the server command and a loopback --upstream")
    func proxyModel() async throws {
        let base = ["tee-proxy", "--workload", "model:m", "--broker", "http://127.0.0.1:9", "--model", "sealed", "--model-signer-key", "k.pem",
                    "--model-file", "weights.bin"]
        let noPlaceholder = try await runCLI(base + ["--upstream", "http://127.0.0.1:8000", "--", "/bin/sleep", "600"])
        #expect(noPlaceholder.status != 0 && noPlaceholder.stderr.contains("{model}"), "\(noPlaceholder.both)")
        let remote = try await runCLI(base + ["--upstream", "http://203.0.113.9:8000", "--", "server", "--weights", "{model}"])
        #expect(remote.status != 0 && remote.stderr.contains("loopback"), "\(remote.both)")
    }
}
