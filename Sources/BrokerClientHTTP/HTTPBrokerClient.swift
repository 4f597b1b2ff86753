import AsyncHTTPClient
import Attestation
import Foundation
import JOSE
import KBSProtocol
import KeyLease
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization
import SealgateCore

/// A ``BrokerClient`` that speaks the KBS RCAR protocol over HTTP to a standalone `sealgate broker` (or any
/// Trustee-compatible KBS that accepts the evidence).
///
/// Every request has a deadline; transport failures and 5xx answers are retried with exponential backoff and jitter,
/// then thrown (the lease manager turns them into `broker_unavailable`). Broker refusals (4xx problem details) are
/// returned as decisions carrying the broker's reason code and rule.
public struct HTTPBrokerClient: BrokerClient {
    let client: HTTPClient
    let baseURL: String
    let timeout: TimeAmount
    let attempts: Int
    let maxResponseBytes = 1 << 20
    /// Mutual TLS: once this workload identity holds a certificate, requests to an `https` broker present it.
    let clientTLS: ClientTLS?

    /// The client for a broker reached without a CA of its own (public `https`, or loopback): `HTTPClient.shared`'s
    /// settings except that no redirect is followed — a redirect of `/kbs/v0/workload-ca` would have made the
    /// gateway trust whatever CA the named host serves, and with it any "attested" upstream. Lives as long as the
    /// process.
    public static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// Creates a client for the broker at `baseURL` (e.g. `http://127.0.0.1:8081`).
    ///
    /// AsyncHTTPClient keeps retrying a refused connection until the request deadline, so the deadline bounds how long
    /// an unreachable broker holds up a renewal: `attempts × timeoutSeconds` plus backoff.
    ///
    /// - Parameters:
    ///   - identity: a workload identity whose certificate, once issued, is presented on every request to an
    ///     `https` broker (mutual TLS); `tls` is the client configuration it is added to (the broker CA's trust).
    public init(
        client: HTTPClient = HTTPBrokerClient.sharedClient, baseURL: String, timeoutSeconds: Double = 2, attempts: Int = 3, identity: WorkloadIdentity? = nil,
        tls: TLSConfiguration? = nil
    ) {
        let base = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.client = client
        self.baseURL = base
        self.timeout = .milliseconds(Int64(timeoutSeconds * 1000))
        self.attempts = max(1, attempts)
        self.clientTLS = identity.flatMap { base.lowercased().hasPrefix("https://") ? ClientTLS(identity: $0, base: tls) : nil }
    }

    struct Problem: Decodable {
        var reason: String?
        var rule: String?
        var type: String?
        var causes: [String]?
    }

    struct Answer {
        let status: Int
        let body: Data
        let headers: HTTPHeaders
    }

    /// Sends a request, retrying transport failures and 5xx answers with jittered backoff.
    func send(_ method: HTTPMethod, _ path: String, body: Data? = nil, headers: [(String, String)] = []) async throws -> Answer {
        var attempt = 0
        while true {
            attempt += 1
            var request = HTTPClientRequest(url: baseURL + path)
            request.method = method
            if let configuration = clientTLS?.configuration() { request.tlsConfiguration = configuration }
            request.headers.add(name: "Accept", value: "application/json")
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body))
            }
            do {
                let response = try await client.execute(request, timeout: timeout)
                var buffer = try await response.body.collect(upTo: maxResponseBytes)
                let data = buffer.readBytes(length: buffer.readableBytes).map { Data($0) } ?? Data()
                let status = Int(response.status.code)
                if status >= 500 && attempt < attempts {
                    try await backoff(attempt)
                    continue
                }
                return Answer(status: status, body: data, headers: response.headers)
            } catch {
                guard attempt < attempts else { throw SealgateError(.brokerUnavailable, "the key broker could not be reached") }
                try await backoff(attempt)
            }
        }
    }

    func backoff(_ attempt: Int) async throws {
        let base = 0.2 * pow(2, Double(attempt - 1))
        try await Task.sleep(nanoseconds: UInt64(base * Double.random(in: 0.5...1.5) * 1_000_000_000))
    }

    func denial(_ answer: Answer, stage: String) throws -> ReleaseDecision {
        guard (400..<500).contains(answer.status) else {
            throw SealgateError(.brokerUnavailable, "the key broker answered HTTP \(answer.status) to \(stage)")
        }
        let problem = try? JSONDecoder().decode(Problem.self, from: answer.body)
        return ReleaseDecision(
            allowed: false, reason: BrokerReason(problem?.reason ?? "http_\(answer.status)"), rule: problem?.rule ?? stage, result: nil,
            reportedCauses: (problem?.causes ?? []).prefix(16).map(AttestationReason.init))
    }

    public func auth(tee: TEEType) async throws -> Result<AuthChallenge, ReleaseDecision> {
        let body = try JSONSerialization.data(withJSONObject: ["version": "0.1.0", "tee": tee.rawValue, "extra-params": ""])
        let answer = try await send(.POST, "/kbs/v0/auth", body: body)
        guard answer.status == 200 else { return .failure(try denial(answer, stage: "auth")) }
        guard let object = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any], let nonce = object["nonce"] as? String,
            let session = Self.sessionCookie(answer.headers)
        else { throw SealgateError(.brokerUnavailable, "the key broker's auth answer is malformed") }
        return .success(AuthChallenge(sessionID: session, nonce: nonce, expires: Date().addingTimeInterval(60)))
    }

    static func sessionCookie(_ headers: HTTPHeaders) -> String? {
        for value in headers["Set-Cookie"] {
            let first = value.split(separator: ";").first.map(String.init) ?? ""
            let pair = first.split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces) == "kbs-session-id" { return pair[1] }
        }
        return nil
    }

    /// The `tee-evidence` JSON value for evidence bytes: the JWS text for mock, the bundle object for SNP, base64url
    /// otherwise.
    static func evidenceValue(_ evidence: Evidence) -> Any {
        if evidence.tee == .mock { return String(decoding: evidence.bytes, as: UTF8.self) }
        if let object = try? JSONSerialization.jsonObject(with: evidence.bytes), object is [String: Any] { return object }
        return Base64URL.encode(evidence.bytes)
    }

    public func attest(sessionID: String, _ request: AttestRequest) async throws -> AttestOutcome {
        let runtime = try JSONSerialization.jsonObject(with: request.runtimeData.canonicalJSON)
        var object: [String: Any] = ["runtime-data": runtime, "tee-evidence": Self.evidenceValue(request.evidence)]
        if let initData = request.initData { object["init-data"] = ["format": initData.format, "body": initData.body] }
        let body = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        let answer = try await send(.POST, "/kbs/v0/attest", body: body, headers: [("Cookie", "kbs-session-id=\(sessionID)")])
        guard answer.status == 200 else { return .denied(try denial(answer, stage: "attest")) }
        guard let object = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any], let token = object["token"] as? String,
            let parsed = try? CompactJWS.parse(token), let claims = try? JSONDecoder().decode(TokenClaims.self, from: parsed.payload)
        else { throw SealgateError(.brokerUnavailable, "the key broker's attest answer is malformed") }
        return .token(token, claims.result)
    }

    public func resource(token: String, path: String) async throws -> ReleaseOutcome {
        let answer = try await send(.GET, "/kbs/v0/resource/" + path, headers: [("Authorization", "Bearer \(token)")])
        guard answer.status == 200 else { return .denied(try denial(answer, stage: "resource")) }
        guard let jwe = try? JSONDecoder().decode(FlattenedJWE.self, from: answer.body) else {
            throw SealgateError(.brokerUnavailable, "the key broker's resource answer is not a flattened JWE")
        }
        let rule = answer.headers.first(name: "Sealgate-Release-Rule") ?? "broker"
        return .released(jwe, ReleaseDecision(allowed: true, reason: .granted, rule: rule, result: nil), keyIDs: [])
    }

    public func workloadCertificate(token: String, _ request: WorkloadCertificateRequest) async throws -> CertificateOutcome {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let answer = try await send(
            .POST, "/kbs/v0/workload-certificate", body: try encoder.encode(request), headers: [("Authorization", "Bearer \(token)")])
        guard answer.status == 200 else { return .denied(try denial(answer, stage: "workload-certificate")) }
        guard let certificate = try? JSONDecoder().decode(WorkloadCertificate.self, from: answer.body), !certificate.chain.isEmpty else {
            throw SealgateError(.brokerUnavailable, "the key broker's workload-certificate answer is malformed")
        }
        let rule = answer.headers.first(name: "Sealgate-Release-Rule") ?? "broker"
        return .issued(certificate, ReleaseDecision(allowed: true, reason: .granted, rule: rule, result: nil))
    }
}

/// The TLS client configuration that presents a workload identity's current certificate, parsed once per issuance.
final class ClientTLS: Sendable {
    let identity: WorkloadIdentity
    let base: TLSConfiguration
    private let cached = Mutex<(serial: String, configuration: TLSConfiguration)?>(nil)

    init(identity: WorkloadIdentity, base: TLSConfiguration?) {
        self.identity = identity
        self.base = base ?? TLSConfiguration.makeClientConfiguration()
    }

    /// The configuration with the current certificate, or `nil` while there is none (before the first issuance).
    func configuration() -> TLSConfiguration? {
        guard let certificate = identity.certificate else { return nil }
        return cached.withLock { cache -> TLSConfiguration? in
            if let cache, cache.serial == certificate.serial { return cache.configuration }
            guard let chain = try? certificate.servedChain.flatMap({ try NIOSSLCertificate.fromPEMBytes(Array($0.utf8)) }), !chain.isEmpty,
                let key = try? NIOSSLPrivateKey(bytes: Array(identity.privateKey.pemRepresentation.utf8), format: .pem)
            else { return nil }
            var configuration = base
            configuration.certificateChain = chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(key)
            cache = (certificate.serial, configuration)
            return configuration
        }
    }
}
