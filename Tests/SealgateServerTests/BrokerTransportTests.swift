import Foundation
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
}
