import Authenticate
import Attestation
import Foundation
import HTTPTypes
import Hummingbird
import JOSE
import KeyBroker
import NIOCore
import SealgateCore

/// The broker's HTTP edge: the KBS RCAR protocol (`/kbs/v0/…`), health and metrics. Decisions live in ``KeyBroker``.
struct BrokerAPI: Sendable {
    let broker: KeyBroker
    let metrics: PrometheusRecorder
    let bodyLimit: Int
    /// Mutual TLS: resource requests must come over a connection with the token's workload certificate.
    var requireClientCertificate = false

    typealias Context = BrokerRequestContext
    /// Per source address, `POST /kbs/v0/auth` (the only call anyone may make: it opens a session, which costs the
    /// broker memory or a row until it lapses): 20 a second with bursts of 100, so one source cannot fill the
    /// session table that every TEE's attestation needs.
    var authLimiter = RateLimiter(rate: 20, burst: 100)
    static let cookieName = "kbs-session-id"
    /// Names the release policy rule that allowed a resource (for the gateway's audit record).
    static let releaseRuleHeader = HTTPField.Name.constant("Sealgate-Release-Rule")

    func register(on router: Router<Context>) {
        router.get("/healthz") { _, _ in json(["status": "ok"]) }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        router.post("/kbs/v0/auth") { request, context in
            guard authLimiter.allow(context.channel.remoteAddress?.ipAddress ?? "unknown") else {
                metrics.increment("sealgate_broker_rate_limited_total", labels: [("route", "auth")], by: 1)
                return BrokerProblem.response(ReleaseDecision(allowed: false, reason: .rateLimited, rule: "auth.rate", result: nil))
            }
            return await auth(request)
        }
        router.post("/kbs/v0/attest") { request, _ in await attest(request) }
        router.post("/kbs/v0/workload-certificate") { request, _ in await workloadCertificate(request) }
        router.get("/kbs/v0/workload-ca") { _, _ in
            guard let bundle = try? await broker.caCertificates() else { return BrokerProblem.response(.init(allowed: false, reason: .storageUnavailable, rule: "workload-ca", result: nil)) }
            return Response(
                status: .ok, headers: [.contentType: "application/x-pem-file"], body: .init(byteBuffer: ByteBuffer(string: bundle.joined())))
        }
        router.get("/kbs/v0/resource/:repository/:type/:tag") { request, context in
            let path = ["repository", "type", "tag"].map { context.parameters.get($0) ?? "" }.joined(separator: "/")
            let client = requireClientCertificate ? await MutualTLS.clientCertificate(on: context.channel) : .notRequired
            return await resource(request, path: path, client: client)
        }
    }

    /// Reads the body up to the limit.
    static func body(_ request: Request, limit: Int) async -> Data? {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { return nil }
        var collected = Data()
        do {
            for try await buffer in request.body {
                collected.append(contentsOf: buffer.readableBytesView)
                if collected.count > limit { return nil }
            }
        } catch { return nil }
        return collected
    }

    static func object(_ data: Data) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    static func cookie(_ request: Request, name: String) -> String? {
        for field in request.headers[values: .cookie] {
            for part in field.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1).map(String.init)
                if pair.count == 2, pair[0] == name { return pair[1] }
            }
        }
        return nil
    }

    func auth(_ request: Request) async -> Response {
        guard let data = await Self.body(request, limit: 64 * 1024), let object = Self.object(data),
            let version = object["version"] as? String, let tee = object["tee"] as? String
        else { return BrokerProblem.bad("auth.body") }
        // Trustee's names for the Azure vTPM evidence types.
        let aliases = ["azsnpvtpm": "az-snp-vtpm", "aztdxvtpm": "az-tdx-vtpm"]
        switch await broker.auth(version: version, tee: TEEType(aliases[tee] ?? tee)) {
        case .failure(let denial):
            return BrokerProblem.response(denial)
        case .success(let challenge):
            var response = json(AuthResponse(nonce: challenge.nonce, extraParams: ""))
            let maxAge = max(1, Int(challenge.expires.timeIntervalSinceNow.rounded()))
            response.headers[.setCookie] = "\(Self.cookieName)=\(challenge.sessionID); Path=/kbs; Max-Age=\(maxAge); HttpOnly; SameSite=Strict"
            return response
        }
    }

    struct AuthResponse: Encodable {
        var nonce: String
        var extraParams: String
        enum CodingKeys: String, CodingKey {
            case nonce
            case extraParams = "extra-params"
        }
    }

    /// Evidence bytes from `tee-evidence`: a JSON object is taken as its canonical JSON; a string is the mock JWS
    /// text, or base64/base64url of binary evidence (a TDX quote, a Nitro document).
    static func evidenceBytes(_ value: Any?, tee: TEEType) -> Data? {
        if let text = value as? String {
            if tee == .mock { return Data(text.utf8) }
            return Base64URL.decode(text) ?? Data(base64Encoded: text) ?? Data(text.utf8)
        }
        if let value, JSONSerialization.isValidJSONObject(value) {
            return try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])
        }
        return nil
    }

    func attest(_ request: Request) async -> Response {
        guard let session = Self.cookie(request, name: Self.cookieName) else {
            return BrokerProblem.response(ReleaseDecision(allowed: false, reason: .unauthenticated, rule: "attest.cookie", result: nil))
        }
        guard let data = await Self.body(request, limit: bodyLimit), let object = Self.object(data),
            let runtimeObject = object["runtime-data"], JSONSerialization.isValidJSONObject(runtimeObject),
            let runtimeJSON = try? JSONSerialization.data(withJSONObject: runtimeObject)
        else { return BrokerProblem.bad("attest.body") }
        guard let runtime = try? JSONDecoder().decode(RuntimeData.self, from: runtimeJSON) else {
            return BrokerProblem.response(ReleaseDecision(allowed: false, reason: .malformedJWK, rule: "attest.runtime-data", result: nil))
        }
        var initData: InitData?
        if let initObject = object["init-data"], !(initObject is NSNull) {
            guard JSONSerialization.isValidJSONObject(initObject), let initJSON = try? JSONSerialization.data(withJSONObject: initObject),
                let decoded = try? JSONDecoder().decode(InitData.self, from: initJSON)
            else { return BrokerProblem.bad("attest.init-data") }
            initData = decoded
        }
        let tee = await broker.sessionTEE(session) ?? .mock
        guard let bytes = Self.evidenceBytes(object["tee-evidence"], tee: tee) else { return BrokerProblem.bad("attest.tee-evidence") }
        let outcome = await broker.attest(
            sessionID: session, AttestRequest(runtimeData: runtime, initData: initData, evidence: Evidence(tee: tee, bytes: bytes)))
        switch outcome {
        case .denied(let denial): return BrokerProblem.response(denial)
        case .token(let token, _):
            // The attested session now lives as long as the token: extend the cookie to match.
            var response = json(["token": token])
            response.headers[.cacheControl] = "no-store"
            let lifetime = max(1, Int(((try? CompactJWS.parse(token)).flatMap { try? JSONDecoder().decode(TokenClaims.self, from: $0.payload) }
                .map { Double($0.exp) - Date().timeIntervalSince1970 } ?? 60).rounded()))
            response.headers[.setCookie] = "\(Self.cookieName)=\(session); Path=/kbs; Max-Age=\(lifetime); HttpOnly; SameSite=Strict"
            return response
        }
    }

    /// The attestation token (bearer) or the attested session's cookie.
    static func credential(_ request: Request) -> BrokerCredential {
        switch BearerCredential.parse(request.headers) {
        case .success(let token): return .token(token)
        case .failure(.missing), .failure(.wrongScheme):
            return Self.cookie(request, name: Self.cookieName).map(BrokerCredential.session) ?? .none
        case .failure: return .none  // a malformed bearer field is no credential
        }
    }

    func workloadCertificate(_ request: Request) async -> Response {
        let credential = Self.credential(request)
        guard let data = await Self.body(request, limit: 64 * 1024) else { return BrokerProblem.bad("workload-certificate.body") }
        guard let body = try? JSONDecoder().decode(WorkloadCertificateRequest.self, from: data) else {
            return BrokerProblem.bad("workload-certificate.body")
        }
        switch await broker.workloadCertificate(credential, body) {
        case .denied(let denial): return BrokerProblem.response(denial)
        case .issued(let certificate, let decision):
            var response = json(certificate)
            response.headers[.cacheControl] = "no-store"
            response.headers[Self.releaseRuleHeader] = decision.rule
            return response
        }
    }

    func resource(_ request: Request, path: String, client: ClientCertificate) async -> Response {
        let credential = Self.credential(request)
        switch await broker.resource(credential, path: path, client: client) {
        case .denied(let denial): return BrokerProblem.response(denial)
        case .released(let jwe, let decision, _):
            var response = json(jwe)
            response.headers[.cacheControl] = "no-store"
            response.headers[Self.releaseRuleHeader] = decision.rule
            return response
        }
    }
}
