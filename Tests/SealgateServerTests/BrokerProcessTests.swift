import AsyncHTTPClient
import Foundation
import NIOCore
import SealgateTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Two real processes on loopback: `sealgate broker` and `sealgate serve --broker`, driven through HTTP and the CLI.
@Suite("Broker and gateway as two processes", .serialized, .timeLimit(.minutes(5)))
struct BrokerProcessTests {
    /// A TCP port on 127.0.0.1 that is free now, for a child process to bind later. Taken below the kernel's
    /// ephemeral range, in turn from one counter: a port bound to 0, read back and released (as before) could be
    /// handed to one of the suite's many in-process servers (each binds port 0) in the seconds before the child
    /// binds it — it then failed to start, or a check that nothing listens reached another test's server.
    static func freePort() throws -> Int {
        let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))?
            .split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32_768
        let low = 10_000
        let high = max(range, low + 2_000)
        for _ in 0..<(high - low) {
            let port = nextPort.withLock { next -> Int in
                if next < low || next >= high { next = low + Int(getpid()) % (high - low) }
                defer { next += 1 }
                return next
            }
            if canBind(port) { return port }
        }
        throw TestFailure("no free port in \(low)..<\(high)")
    }

    static let nextPort = Mutex(0)

    /// Whether 127.0.0.1:`port` can be bound now.
    static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } } == 0
    }

    struct TestFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// One scenario's directory, binary and processes.
    final class Scenario: @unchecked Sendable {
        let dir: String
        let binary: String
        let brokerPort: Int
        let gatewayPort: Int
        var broker: ChildProcess?
        var gateway: ChildProcess?
        let leaseSeconds = 5

        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("sg-2p-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            binary = try sealgateBinary()
            brokerPort = try freePort()
            gatewayPort = try freePort()
        }

        /// Certificate chain, key and CA (PEM paths) when the broker serves HTTPS (`useTLS()`).
        var tlsPaths: (cert: String, key: String, ca: String)?
        /// A client trusting that CA, for the scenario's own requests to the broker.
        var tlsClient: HTTPClient?

        var brokerURL: String { "\(tlsPaths == nil ? "http" : "https")://127.0.0.1:\(brokerPort)" }
        /// More arguments for `sealgate broker` (e.g. `--require-client-cert`).
        var brokerArguments: [String] = []
        /// More arguments for `sealgate serve` (e.g. `--init-data`).
        var gatewayArguments: [String] = []
        /// Whether the gateway serves HTTPS with the scenario's certificate (`startGateway(servingTLS: true)`).
        var gatewayUsesTLS = false
        var gatewayURL: String { "\(gatewayUsesTLS ? "https" : "http")://127.0.0.1:\(gatewayPort)" }

        /// Runs the CLI to completion; returns exit status and standard output.
        @discardableResult
        func run(_ arguments: [String]) throws -> (Int32, String) {
            let output = try ChildProcess.run(binary, arguments, directory: dir, timeout: 120)
            return (output.status, output.text)
        }

        /// Starts the CLI with `arguments`, its output and errors written to `log` (emptied first) in the scenario's directory.
        func start(_ arguments: [String], log: String) throws -> ChildProcess {
            _ = FileManager.default.createFile(atPath: dir + "/" + log, contents: nil)
            return try ChildProcess(binary, arguments, directory: dir, stdout: dir + "/" + log, stderr: dir + "/" + log)
        }

        /// Writes reference values for this gateway (or for another measurement) and starts the broker.
        func startBroker(referenceValues: String = "rv.json") async throws {
            var arguments = ["broker", "--port", "\(brokerPort)", "--data-dir", "br", "--reference-values", referenceValues, "--token-ttl", "30"]
            if let tlsPaths { arguments += ["--tls-cert", tlsPaths.cert, "--tls-key", tlsPaths.key] }
            broker = try start(arguments + brokerArguments, log: "broker.log")
            try await waitFor("broker health", seconds: 20) { try await self.get(self.brokerURL + "/healthz").0 == 200 }
        }

        func enrol() throws {
            let (status, json) = try run(["measure", "--demo", "--data-dir", "gw", "--lease-seconds", "\(leaseSeconds)", "--reference-values"])
            guard status == 0 else { throw TestFailure("measure failed") }
            try json.write(toFile: dir + "/rv.json", atomically: true, encoding: .utf8)
        }

        func keys(_ arguments: [String]) throws -> Int32 {
            try run(["keys"] + arguments + ["--broker", brokerURL, "--token-file", "br/admin-token"] + (tlsPaths.map { ["--ca", $0.ca] } ?? [])).0
        }

        func provision() throws {
            for tenant in ["acme", "globex"] {
                guard try keys(["provision", tenant]) == 0 else { throw TestFailure("provisioning \(tenant) failed") }
            }
        }

        /// Starts the gateway against the broker; over TLS it trusts the scenario's CA unless `trustingCA` is false,
        /// and serves HTTPS itself with the scenario's certificate when `servingTLS`.
        func startGateway(trustingCA: Bool = true, servingTLS: Bool = false) throws {
            var arguments = ["serve", "--demo", "--data-dir", "gw", "--port", "\(gatewayPort)", "--broker", brokerURL, "--lease-seconds", "\(leaseSeconds)"]
            if let tlsPaths, trustingCA { arguments += ["--broker-ca", tlsPaths.ca] }
            gatewayUsesTLS = servingTLS && tlsPaths != nil
            if let tlsPaths, servingTLS { arguments += ["--tls-cert", tlsPaths.cert, "--tls-key", tlsPaths.key] }
            gateway = try start(arguments + gatewayArguments, log: "gateway.log")
        }

        func apiKey(_ tenant: String) throws -> String {
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/gw/demo-credentials.json"))
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            let tenants = object?["tenants"] as? [String: [String: String]]
            guard let key = tenants?[tenant]?["api_key"] else { throw TestFailure("no demo key for \(tenant)") }
            return key
        }

        func get(_ url: String) async throws -> (Int, String) {
            try await send(HTTPClientRequest(url: url))
        }

        func send(_ request: HTTPClientRequest) async throws -> (Int, String) {
            let response = try await (request.url.hasPrefix("https:") ? tlsClient ?? .shared : .shared).execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 4 << 20)
            return (Int(response.status.code), String(buffer: body))
        }

        /// POSTs a query for `tenant`; returns status and body.
        func query(_ tenant: String, dataClass: String = "internal") async throws -> (Int, String) {
            var request = HTTPClientRequest(url: gatewayURL + "/v1/query")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(try apiKey(tenant))")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(
                ByteBuffer(string: #"{"question": "What is the travel policy?", "data_class": "\#(dataClass)", "scope": {"collections": ["handbook"]}}"#))
            return try await send(request)
        }

        func metric(_ line: String) async throws -> Double {
            let (_, text) = try await get(brokerURL + "/metrics")
            for row in text.split(separator: "\n") where row.hasPrefix(line + " ") {
                return Double(row.dropFirst(line.count + 1)) ?? 0
            }
            return 0
        }

        func log(_ name: String) -> String { (try? String(contentsOfFile: dir + "/" + name, encoding: .utf8)) ?? "" }

        func waitFor(_ what: String, seconds: Double, _ condition: @escaping () async throws -> Bool) async throws {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if (try? await condition()) == true { return }
                try await Task.sleep(nanoseconds: 200_000_000)
            }
            throw TestFailure("timed out waiting for \(what)\n--- gateway.log\n\(log("gateway.log").suffix(2000))\n--- broker.log\n\(log("broker.log").suffix(2000))")
        }

        /// Stops `process` with `signal`; one that has not exited 20 s later is killed and the test fails, naming it.
        func stop(_ process: ChildProcess?, signal: Int32 = SIGTERM, sourceLocation: SourceLocation = #_sourceLocation) {
            guard let process, !process.stop(signal: signal) else { return }
            Issue.record("pid \(process.processIdentifier) ignored signal \(signal) for 20 s and was killed", sourceLocation: sourceLocation)
        }

        func tearDown() {
            stop(gateway)
            stop(broker)
            try? tlsClient?.syncShutdown()
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    static func withScenario(_ body: (Scenario) async throws -> Void) async throws {
        let scenario = try Scenario()
        do { try await body(scenario) } catch {
            scenario.tearDown()
            throw error
        }
        scenario.tearDown()
    }

    @Test("Attested start-up, rotation while serving, and shredding one tenant")
    func lifecycle() async throws {
        try await Self.withScenario { s in
            try s.enrol()
            try await s.startBroker()
            try s.provision()
            try s.startGateway()
            try await s.waitFor("gateway ready", seconds: 30) { try await s.get(s.gatewayURL + "/readyz").0 == 200 }
            try await s.waitFor("demo data", seconds: 15) { try await s.query("acme").0 == 200 }
            let granted = #"sealgate_key_release_total{tenant="acme",resource_type="kek",decision="granted",reason="granted",tee="mock"}"#
            #expect(try await s.metric(granted) >= 4)
            #expect(try await s.metric(#"sealgate_attestation_total{tee="mock",status="warning",reason="granted"}"#) >= 1)

            // Rotate while serving: the gateway re-wraps its DEKs at the next renewal; then the old version is retired.
            #expect(try s.keys(["rotate", "acme", "internal"]) == 0)
            try await s.waitFor("re-wrap", seconds: 15) { s.log("gateway.log").contains("re-wrapped DEKs under the current KEK") }
            #expect(try s.keys(["retire", "acme", "internal", "1"]) == 0)
            #expect(try s.keys(["retire", "acme", "internal", "2"]) == 3)  // the current version cannot be retired
            let renewals = try await s.metric(granted)
            try await s.waitFor("renewal after retire", seconds: 15) { try await s.metric(granted) > renewals }
            let (status, body) = try await s.query("acme")
            #expect(status == 200 && body.contains("travel portal"), "\(status) \(body.prefix(600))\n--- gateway.log\n\(s.log("gateway.log").suffix(3000))")

            // Shred globex: its queries fail after the next renewal (read just before, so its DEKs are cached: the
            // cache goes with the key set); acme is unaffected.
            #expect(try await s.query("globex").0 == 200)
            #expect(try s.keys(["shred", "globex", "--confirm", "globex"]) == 0)
            try await s.waitFor("globex refused", seconds: 20) {
                let (status, body) = try await s.query("globex")
                return status == 403 && body.contains("urn:sealgate:problem:release_denied")
            }
            #expect(try await s.query("acme").0 == 200)
            #expect(try await s.metric(#"sealgate_key_release_total{tenant="globex",resource_type="kek",decision="denied",reason="tenant_shredded",tee="mock"}"#) >= 1)

            // The broker's own audit log verifies offline.
            s.stop(s.broker)
            let (verified, output) = try s.run(["audit", "verify", "--data-dir", "br"])
            #expect(verified == 0, "\(output)")
        }
    }

    @Test("A gateway whose measurement is not a reference value never becomes ready; queries get attestation_denied")
    func unknownMeasurement() async throws {
        try await Self.withScenario { s in
            try s.enrol()
            let enrolled = try String(contentsOfFile: s.dir + "/rv.json", encoding: .utf8)
            guard let range = enrolled.range(of: #""measurements" : \[\s*"[0-9a-f]+""#, options: .regularExpression) else {
                throw TestFailure("no measurement in reference values")
            }
            let other = enrolled.replacingCharacters(
                in: range, with: #""measurements" : [ ""# + String(repeating: "ab", count: 48) + #"""#)
            try other.write(toFile: s.dir + "/other.json", atomically: true, encoding: .utf8)
            try await s.startBroker(referenceValues: "other.json")
            try s.provision()
            try s.startGateway()
            let denied = #"sealgate_attestation_total{tee="mock",status="contraindicated",reason="attestation_contraindicated"}"#
            try await s.waitFor("attestation denied twice", seconds: 20) { try await s.metric(denied) >= 2 }
            let (ready, readyBody) = try await s.get(s.gatewayURL + "/readyz")
            #expect(ready == 503 && readyBody.contains("urn:sealgate:problem:attestation_denied"))
            let (status, body) = try await s.query("acme")
            #expect(status == 503 && body.contains("urn:sealgate:problem:attestation_denied"))
            #expect(try await s.metric(#"sealgate_key_release_total{tenant="acme",resource_type="kek",decision="granted",reason="granted",tee="mock"}"#) == 0)
        }
    }

    @Test("Broker restart mid-lease: keys last until the lease expires, then the gateway turns unready and recovers")
    func brokerRestart() async throws {
        try await Self.withScenario { s in
            try s.enrol()
            try await s.startBroker()
            try s.provision()
            try s.startGateway()
            try await s.waitFor("gateway ready", seconds: 30) { try await s.get(s.gatewayURL + "/readyz").0 == 200 }
            s.stop(s.broker, signal: SIGKILL)
            try await s.waitFor("unready after expiry", seconds: 15) {
                let (status, body) = try await s.get(s.gatewayURL + "/readyz")
                return status == 503 && body.contains("broker_unavailable")
            }
            // One cause, one reason: query, ingest and listing all say the broker is unavailable.
            let (queryStatus, queryBody) = try await s.query("acme")
            #expect(queryStatus == 503 && queryBody.contains("urn:sealgate:problem:broker_unavailable"), "\(queryBody)")
            var list = HTTPClientRequest(url: s.gatewayURL + "/v1/collections/handbook/documents")
            list.headers.add(name: "Authorization", value: "Bearer \(try s.apiKey("acme"))")
            let (listStatus, listBody) = try await s.send(list)
            #expect(listStatus == 503 && listBody.contains("urn:sealgate:problem:broker_unavailable"), "\(listBody)")
            var ingest = HTTPClientRequest(url: s.gatewayURL + "/v1/collections/handbook/documents")
            ingest.method = .POST
            ingest.headers.add(name: "Authorization", value: "Bearer \(try s.apiKey("acme"))")
            ingest.body = .bytes(ByteBuffer(string: #"{"title": "t", "text": "During the outage.", "data_class": "internal"}"#))
            let (ingestStatus, ingestBody) = try await s.send(ingest)
            #expect(ingestStatus == 503 && ingestBody.contains("urn:sealgate:problem:broker_unavailable"), "\(ingestBody)")
            try await s.startBroker()
            try await s.waitFor("ready again", seconds: 45) { try await s.get(s.gatewayURL + "/readyz").0 == 200 }
            try await s.waitFor("queries again", seconds: 10) { try await s.query("acme").0 == 200 }
        }
    }

    @Test("Signed image: the broker refuses values whose bundle does not verify; a gateway started with --init-data naming the signed image is ready, without it not")
    func signedImage() async throws {
        try await Self.withScenario { s in
            try s.enrol()
            let image = "sha256:" + String(repeating: "4b", count: 32)
            let signer = KeyedImageSigner()
            try s.writeImageValues(to: "rv-image.json", image: image, signer: signer, bundle: try signer.bundle(subject: image))
            try s.writeImageValues(to: "rv-forged.json", image: image, signer: signer, bundle: try KeyedImageSigner().bundle(subject: image))
            try "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data]\nimage_digest = \"\(image)\"\n".write(
                toFile: s.dir + "/init.toml", atomically: true, encoding: .utf8)

            let forged = try s.start(["broker", "--port", "\(s.brokerPort)", "--data-dir", "br-forged", "--reference-values", "rv-forged.json"], log: "forged.log")
            let deadline = Date().addingTimeInterval(30)
            while forged.isRunning && Date() < deadline { try await Task.sleep(nanoseconds: 100_000_000) }
            s.stop(forged, signal: SIGKILL)
            #expect(forged.terminationStatus != 0)
            #expect(s.log("forged.log").contains("signature_invalid"), "\(s.log("forged.log"))")

            try await s.startBroker(referenceValues: "rv-image.json")
            try s.provision()
            s.gatewayArguments = ["--init-data", "init.toml"]
            try s.startGateway()
            try await s.waitFor("gateway ready", seconds: 30) { try await s.get(s.gatewayURL + "/readyz").0 == 200 }
            try await s.waitFor("demo data", seconds: 15) { try await s.query("acme").0 == 200 }

            s.stop(s.gateway)
            s.gatewayArguments = []
            try s.startGateway()
            try await s.waitFor("attestation denied", seconds: 20) {
                let (status, body) = try await s.get(s.gatewayURL + "/readyz")
                return status == 503 && body.contains("urn:sealgate:problem:attestation_denied")
            }
        }
    }
}

extension BrokerProcessTests.Scenario {
    /// The enrolled reference values (`rv.json`) with an image rule on their set: `image` signed by `signer`, with
    /// `bundle` as a file beside them (a relative path, as an operator writes it).
    func writeImageValues(to name: String, image: String, signer: KeyedImageSigner, bundle: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/rv.json"))
        guard var values = try JSONSerialization.jsonObject(with: data) as? [String: Any], var sets = values["sets"] as? [[String: Any]], !sets.isEmpty
        else { throw BrokerProcessTests.TestFailure("rv.json has no set") }
        try bundle.write(toFile: dir + "/" + name + ".bundle.json", atomically: true, encoding: .utf8)
        sets[0]["image"] = ["digests": [image], "signed_by": [["key": signer.pem]], "bundles": [image: name + ".bundle.json"]]
        values["sets"] = sets
        try JSONSerialization.data(withJSONObject: values).write(to: URL(fileURLWithPath: dir + "/" + name))
    }
}
