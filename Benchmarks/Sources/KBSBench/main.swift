// Key broker throughput and latency over HTTP against a running `sealgate broker`, with the gateway's own KBS client
// (`HTTPBrokerClient`, one attempt: no retries hide errors) and the gateway's mock TEE.
//
// Usage: KBSBench --broker URL --mock-key PEMFILE --measurement-exec HEX --measurement-policy HEX
//                 [--mode roundtrip|resource|local] [--duration S] [--concurrency N] [--warmup S]
//                 [--resource acme/kek/internal] [--no-baseline]
//
// Modes (each runs N concurrent tasks for the duration, after a warm-up of the same operation that is not counted):
//   roundtrip  one operation = POST auth → mock evidence binding a fresh P-256 key's runtime data (SHA-512 REPORT_DATA,
//              ES256 signature) → POST attest → GET resource with the token → JWE decrypt (ECDH-ES+A256KW, A256GCM)
//              → KEKRelease decoded and checked: what a gateway does to obtain a KEK. Stage p50/p99 are printed too.
//   resource   one attest, then every task GETs the resource with that bearer token: first without decrypting (the
//              answer is still parsed as a flattened JWE), then with JWE decrypt + KEKRelease check.
//   cert       one attestation binding a workload key (runtime-data workload-pubkey), then every task asks
//              POST /kbs/v0/workload-certificate with that token: the broker's issuance latency (token check, key
//              binding, enrolment, release policies, ECDSA P-384 signature) plus HTTP. Needs `gateway` enrolled.
//   local      client-side costs only, one task, no HTTP: a fresh P-256 key + mock evidence (SHA-512 REPORT_DATA, ES256)
//              per second, and JWE decrypt + KEKRelease check per second.
// Unless --no-baseline, GET /healthz with the same HTTP client and concurrency runs first (the HTTP floor).
//
// Output: CSV lines `result,<run>,<concurrency>,<seconds>,<ops>,<ops_per_s>,<p50_ms>,<p99_ms>,<errors>`,
// `stage,<run>,<concurrency>,<stage>,<p50_ms>,<p99_ms>` and `error,<run>,<concurrency>,<reason>,<count>`.
import AsyncHTTPClient
import Attestation
import BrokerClientHTTP
import Crypto
import Foundation
import JOSE
import KeyBroker
import NIOCore

struct Options {
    var broker = "http://127.0.0.1:8081"
    var mockKey = ""
    var measurementExec = ""
    var measurementPolicy = ""
    var mode = "roundtrip"
    var duration = 10.0
    var concurrency = 1
    var warmup = 1.0
    var resource = "acme/kek/internal"
    var baseline = true

    static func parse(_ arguments: [String]) -> Options {
        var o = Options()
        var i = 0
        func value() -> String {
            i += 1
            guard i < arguments.count else { fail("\(arguments[i - 1]) needs a value") }
            return arguments[i]
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--broker": o.broker = value()
            case "--mock-key": o.mockKey = value()
            case "--measurement-exec": o.measurementExec = value()
            case "--measurement-policy": o.measurementPolicy = value()
            case "--mode": o.mode = value()
            case "--duration": o.duration = Double(value()) ?? o.duration
            case "--concurrency": o.concurrency = max(1, Int(value()) ?? 1)
            case "--warmup": o.warmup = Double(value()) ?? o.warmup
            case "--resource": o.resource = value()
            case "--no-baseline": o.baseline = false
            default: fail("unknown argument \(arguments[i])")
            }
            i += 1
        }
        guard ["roundtrip", "resource", "local", "cert"].contains(o.mode) else { fail("--mode is roundtrip, resource, cert or local") }
        guard !o.mockKey.isEmpty, !o.measurementExec.isEmpty, !o.measurementPolicy.isEmpty else {
            fail("--mock-key, --measurement-exec and --measurement-policy are required")
        }
        return o
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("KBSBench: \(message)\n".utf8))
    exit(2)
}

/// What one operation did: an error reason, or the duration of each stage in seconds.
struct Outcome: Sendable {
    var error: String?
    var stages: [Double] = []
    static func failed(_ reason: String) -> Outcome { Outcome(error: reason) }
}

/// One task's measurements.
struct Tally: Sendable {
    var latencies: [Double] = []
    var stages: [[Double]] = []
    var errors: [String: Int] = [:]

    mutating func merge(_ other: Tally) {
        latencies += other.latencies
        if stages.count < other.stages.count { stages += Array(repeating: [], count: other.stages.count - stages.count) }
        for (i, s) in other.stages.enumerated() { stages[i] += s }
        errors.merge(other.errors, uniquingKeysWith: +)
    }
}

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

/// Nearest-rank percentile of sorted values, in milliseconds.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((p * Double(sorted.count)).rounded(.up))
    return sorted[min(sorted.count - 1, max(0, rank - 1))] * 1000
}

func ms(_ v: Double) -> String { v.isNaN ? "-" : String(format: "%.2f", v) }

/// Runs `operation` in `concurrency` tasks until `duration` has passed; returns the tally and the elapsed time
/// (until the last operation in flight at the deadline has finished).
func drive(duration: Double, concurrency: Int, _ operation: @escaping @Sendable () async -> Outcome) async -> (Tally, Double) {
    let clock = ContinuousClock()
    let start = clock.now
    let deadline = start.advanced(by: .milliseconds(Int64(duration * 1000)))
    let total = await withTaskGroup(of: Tally.self) { group in
        for _ in 0..<concurrency {
            group.addTask {
                var tally = Tally()
                tally.latencies.reserveCapacity(1 << 14)
                while clock.now < deadline {
                    let t0 = clock.now
                    let outcome = await operation()
                    let elapsed = seconds(t0.duration(to: clock.now))
                    if let error = outcome.error {
                        tally.errors[error, default: 0] += 1
                    } else {
                        tally.latencies.append(elapsed)
                        if tally.stages.count < outcome.stages.count {
                            tally.stages += Array(repeating: [], count: outcome.stages.count - tally.stages.count)
                        }
                        for (i, s) in outcome.stages.enumerated() { tally.stages[i].append(s) }
                    }
                }
                return tally
            }
        }
        var total = Tally()
        for await tally in group { total.merge(tally) }
        return total
    }
    return (total, seconds(start.duration(to: clock.now)))
}

/// Warms up, measures and prints one run.
func measure(
    _ name: String, _ options: Options, concurrency: Int? = nil, stageNames: [String] = [],
    _ operation: @escaping @Sendable () async -> Outcome
) async {
    let n = concurrency ?? options.concurrency
    if options.warmup > 0 { _ = await drive(duration: options.warmup, concurrency: n, operation) }
    let (tally, elapsed) = await drive(duration: options.duration, concurrency: n, operation)
    let sorted = tally.latencies.sorted()
    let errors = tally.errors.values.reduce(0, +)
    let rate = Double(sorted.count) / elapsed
    print(
        "result,\(name),\(n),\(String(format: "%.2f", elapsed)),\(sorted.count),\(String(format: "%.1f", rate)),"
            + "\(ms(percentile(sorted, 0.50))),\(ms(percentile(sorted, 0.99))),\(errors)")
    for (i, stage) in tally.stages.enumerated() where i < stageNames.count {
        let s = stage.sorted()
        print("stage,\(name),\(n),\(stageNames[i]),\(ms(percentile(s, 0.50))),\(ms(percentile(s, 0.99)))")
    }
    for (reason, count) in tally.errors.sorted(by: { $0.value > $1.value }) { print("error,\(name),\(n),\(reason),\(count)") }
}

func base64URLDecode(_ text: String) -> Data? {
    var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while s.count % 4 != 0 { s += "=" }
    return Data(base64Encoded: s)
}

/// Decrypts a released resource with the TEE key and, for a KEK, checks what the gateway's lease manager checks:
/// the resource name and 32-byte keys.
func openRelease(_ jwe: FlattenedJWE, key: JWK, path: String) -> String? {
    guard let plain = try? JWE.decrypt(jwe, with: key) else { return "decrypt:failed" }
    guard path.contains("/kek/") else { return nil }
    guard let release = try? JSONDecoder().decode(KEKRelease.self, from: plain), release.resource == path, !release.versions.isEmpty,
        release.versions.allSatisfy({ base64URLDecode($0.key)?.count == 32 })
    else { return "decrypt:malformed_kek_release" }
    return nil
}

struct Failure: Error {
    let reason: String
}

/// A fresh attestation: auth → evidence → attest. Returns the token, or an error reason.
func attest(
    _ client: HTTPBrokerClient, tee: MockTEE, key: P256.KeyAgreement.PrivateKey, clock: ContinuousClock, stages: inout [Double],
    workloadKey: JWK? = nil
) async -> Result<String, Failure> {
    var t = clock.now
    func lap() {
        let now = clock.now
        stages.append(seconds(t.duration(to: now)))
        t = now
    }
    let challenge: AuthChallenge
    do {
        switch try await client.auth(tee: .mock) {
        case .failure(let denial): return .failure(Failure(reason: "auth:\(denial.reason)"))
        case .success(let value): challenge = value
        }
    } catch { return .failure(Failure(reason: "auth:transport")) }
    lap()
    let runtime = RuntimeData(nonce: challenge.nonce, teePublicKey: .ec(key.publicKey), workloadPublicKey: workloadKey)
    let evidence: Evidence
    do { evidence = try tee.evidence(reportData: runtime.reportData, initDataDigest: nil, now: Date()) } catch {
        return .failure(Failure(reason: "evidence:\(error)"))
    }
    lap()
    do {
        switch try await client.attest(sessionID: challenge.sessionID, AttestRequest(runtimeData: runtime, evidence: evidence)) {
        case .denied(let denial): return .failure(Failure(reason: "attest:\(denial.reason)"))
        case .token(let token, _):
            lap()
            return .success(token)
        }
    } catch { return .failure(Failure(reason: "attest:transport")) }
}

func run() async throws {
    let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
    guard let pem = try? String(contentsOfFile: options.mockKey, encoding: .utf8),
        let signingKey = try? P256.Signing.PrivateKey(pemRepresentation: pem)
    else { fail("cannot read the mock TEE key \(options.mockKey)") }
    let tee = MockTEE(
        signingKey: signingKey, measurement: MockMeasurement(executableDigest: options.measurementExec, policyDigest: options.measurementPolicy))
    let path = options.resource
    let clock = ContinuousClock()

    if options.mode == "local" {
        // Client-side CPU per operation, one task: what the benchmark client spends besides HTTP.
        await measure("local_mock_evidence", options, concurrency: 1) {
            let key = P256.KeyAgreement.PrivateKey()
            let runtime = RuntimeData(nonce: "bench-nonce-0123456789abcdef", teePublicKey: .ec(key.publicKey))
            return (try? tee.evidence(reportData: runtime.reportData, initDataDigest: nil, now: Date())) == nil
                ? Outcome.failed("evidence") : Outcome()
        }
        let key = P256.KeyAgreement.PrivateKey()
        // A KEK release as the broker encodes it (one version), encrypted as the broker does; decrypted and checked.
        let release: [String: Any] = [
            "resource": path, "current": 1,
            "versions": [["version": 1, "key": Data(repeating: 7, count: 32).base64EncodedString(), "state": "active"]],
        ]
        let plaintext = try JSONSerialization.data(withJSONObject: release, options: [.sortedKeys, .withoutEscapingSlashes])
        let jwe = try JWE.encrypt(plaintext, to: .ec(key.publicKey), encryption: .a256GCM, extraHeader: ["kid": "tee-pubkey"])
        let privateJWK = JWK.ec(key)
        await measure("local_jwe_decrypt", options, concurrency: 1) {
            openRelease(jwe, key: privateJWK, path: path).map { Outcome.failed($0) } ?? Outcome()
        }
        return
    }

    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, options.concurrency))
    let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    let client = HTTPBrokerClient(client: http, baseURL: options.broker, timeoutSeconds: 10, attempts: 1)
    let base = options.broker.hasSuffix("/") ? String(options.broker.dropLast()) : options.broker

    if options.baseline {
        await measure("healthz", options) {
            do {
                let response = try await http.execute(HTTPClientRequest(url: base + "/healthz"), timeout: .seconds(10))
                _ = try await response.body.collect(upTo: 1 << 16)
                return response.status.code == 200 ? Outcome() : .failed("healthz:\(response.status.code)")
            } catch { return .failed("healthz:transport") }
        }
    }

    switch options.mode {
    case "roundtrip":
        await measure("roundtrip", options, stageNames: ["auth", "evidence", "attest", "resource", "decrypt"]) {
            let key = P256.KeyAgreement.PrivateKey()
            var stages: [Double] = []
            let token: String
            switch await attest(client, tee: tee, key: key, clock: clock, stages: &stages) {
            case .failure(let failure): return .failed(failure.reason)
            case .success(let value): token = value
            }
            var t = clock.now
            let jwe: FlattenedJWE
            do {
                switch try await client.resource(token: token, path: path) {
                case .denied(let denial): return .failed("resource:\(denial.reason)")
                case .released(let value, _, _): jwe = value
                }
            } catch { return .failed("resource:transport") }
            stages.append(seconds(t.duration(to: clock.now)))
            t = clock.now
            if let error = openRelease(jwe, key: .ec(key), path: path) { return .failed(error) }
            stages.append(seconds(t.duration(to: clock.now)))
            return Outcome(stages: stages)
        }
    case "resource":
        let key = P256.KeyAgreement.PrivateKey()
        var stages: [Double] = []
        let token: String
        switch await attest(client, tee: tee, key: key, clock: clock, stages: &stages) {
        case .failure(let failure): fail("the initial attestation failed: \(failure.reason)")
        case .success(let value): token = value
        }
        let privateJWK = JWK.ec(key)
        for decrypt in [false, true] {
            await measure(decrypt ? "resource_decrypt" : "resource", options) {
                do {
                    switch try await client.resource(token: token, path: path) {
                    case .denied(let denial): return .failed("resource:\(denial.reason)")
                    case .released(let jwe, _, _):
                        if decrypt, let error = openRelease(jwe, key: privateJWK, path: path) { return .failed(error) }
                        return Outcome()
                    }
                } catch { return .failed("resource:transport") }
            }
        }
    case "cert":
        let key = P256.KeyAgreement.PrivateKey()
        let workload = P256.KeyAgreement.PrivateKey()
        let workloadJWK = JWK.ec(workload.publicKey)
        var stages: [Double] = []
        let token: String
        switch await attest(client, tee: tee, key: key, clock: clock, stages: &stages, workloadKey: workloadJWK) {
        case .failure(let failure): fail("the initial attestation failed: \(failure.reason)")
        case .success(let value): token = value
        }
        await measure("certificate", options) {
            do {
                switch try await client.workloadCertificate(token: token, WorkloadCertificateRequest(workload: .gateway, publicKey: workloadJWK)) {
                case .denied(let denial): return .failed("certificate:\(denial.reason)")
                case .issued(let certificate, _): return certificate.chain.count == 2 ? Outcome() : .failed("certificate:chain")
                }
            } catch { return .failed("certificate:transport") }
        }
    default:
        break
    }
    try await http.shutdown()
}

try await run()
