import AsyncHTTPClient
import Attestation
import BrokerClientHTTP
import Crypto
import Foundation
import HTTPHardening
import HTTPTypes
import HummingbirdCore
import HummingbirdTLS
import Hummingbird
import KeyBroker
import KeyLease
import Logging
import NIOCore
import NIOHTTP1
import SealgateCore
import ServiceLifecycle

/// How to run `sealgate tee-proxy`: an attested TLS front for a model server in the same TEE.
public struct TEEProxyOptions: Sendable {
    /// The local model server, e.g. `http://127.0.0.1:8000`.
    public var upstream: String
    /// The workload class its certificate names (`model:<id>`).
    public var workload: WorkloadClass
    /// The broker to attest to.
    public var brokerURL: String
    public var brokerCAPath: String?
    public var host = "127.0.0.1"
    public var port = 8443
    /// Where the mock TEE's development key lives.
    public var dataDir = ".sealgate-proxy"
    /// `mock` or `configfs-tsm`.
    public var attester = "mock"
    public var tsmRoot = "/sys/kernel/config/tsm/report"
    /// How often the certificate is renewed (two thirds of this), seconds.
    public var leaseSeconds: Double = 300
    /// The largest request body forwarded.
    public var maxBodyBytes = 8 << 20
    /// The deadline of one forwarded request (streamed answers included), seconds.
    public var timeoutSeconds: Double = 300
    public var listener = ListenerLimits()
    /// A sealed model to load (into memfds) and serve through a child model server before listening.
    public var model: TEEProxyModel?
    public var logger = Logger(label: "sealgate-tee-proxy")
    public var executablePath = MockMeasurement.runningExecutablePath
    /// An init-data document the proxy's workload was started with (`--init-data`), sent with the evidence.
    public var initDataPath: String?
    /// Reach a plain-HTTP broker off loopback anyway (`--insecure-broker-http`; ``BrokerTransport``).
    public var insecureBrokerHTTP = false

    public init(upstream: String, workload: WorkloadClass, brokerURL: String) {
        self.upstream = upstream
        self.workload = workload
        self.brokerURL = brokerURL
    }
}

/// `sealgate tee-proxy`: runs next to a model server inside its TEE, attests to the broker exactly as the gateway
/// does, gets a workload certificate for a key generated in memory, and serves HTTPS with it, forwarding to the
/// local model server (bodies bounded, answers streamed, deadlines enforced). Until the broker has certified its
/// key it does not listen.
public enum TEEProxy {
    /// The mock measurement of this proxy: the executable's SHA-384 and the digest of what it fronts.
    public static func measurement(_ options: TEEProxyOptions) throws -> MockMeasurement {
        let policy = "sealgate-tee-proxy|\(options.workload)|\(options.upstream)"
        return MockMeasurement(
            executableDigest: try MockMeasurement.executableDigest(path: options.executablePath),
            policyDigest: Hex.encode(SHA256.hash(data: Data(policy.utf8))))
    }

    /// Reference values that accept exactly this proxy's mock evidence (for `keys put-reference-values`).
    public static func referenceValues(_ options: TEEProxyOptions) throws -> ReferenceValues {
        try Sealgate.developmentReferenceValues(
            measurement: measurement(options), dataDir: options.dataDir, setID: "tee-proxy-\(options.workload.resourceTag)")
    }

    /// Attests, obtains the first certificate (retrying until the broker issues one), and builds the HTTPS front.
    public static func build(_ options: TEEProxyOptions) async throws -> some ApplicationProtocol {
        let logger = options.logger
        guard let upstream = URL(string: options.upstream), ["http", "https"].contains(upstream.scheme ?? ""), upstream.host != nil else {
            throw SealgateError(.malformedRequest, "--upstream must be an http(s) URL of the local model server")
        }
        // The command line checks these too; a caller of this API gets the same rules.
        if !options.insecureBrokerHTTP, let problem = BrokerTransport.problem(options.brokerURL) { throw SealgateError(.malformedRequest, problem) }
        if let model = options.model {
            guard BrokerTransport.isLoopbackURL(options.upstream), model.command.contains(where: { $0.contains("{model}") }) else {
                throw SealgateError(.malformedRequest, "with a sealed model the upstream must be the model server this proxy starts on it, on loopback")
            }
        }
        let initData = try options.initDataPath.map(Sealgate.loadInitData(path:))
        let tee = MockTEE(
            signingKey: try Sealgate.loadOrCreateSigningKey(path: options.dataDir + "/mock-tee/signing-key.pem"), measurement: try measurement(options),
            initDataDigest: initData?.digest(for: .mock))
        let attester: any Attester = options.attester == "configfs-tsm" ? try ConfigfsTSMAttester(root: options.tsmRoot, certificates: nil) : tee
        let brokerTLS = try options.brokerCAPath.map { try TLSFiles.client(caPath: $0) }
        let brokerHTTP = brokerTLS.map { tls in
            var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
            configuration.redirectConfiguration = .disallow
            return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        }
        let identity = WorkloadIdentity(workload: options.workload)
        // The sealed model's digest (its signature verified, no key needed) goes into every evidence's runtime data,
        // so the workload certificate certifies which model this proxy serves.
        let modelDigest = try options.model.map { try Self.boundModelDigest($0, logger: logger) }
        let leases = LeaseManager(
            client: HTTPBrokerClient(client: brokerHTTP ?? HTTPBrokerClient.sharedClient, baseURL: options.brokerURL, identity: identity, tls: brokerTLS),
            attester: attester, maxLease: options.leaseSeconds, logger: logger, identity: identity, initData: initData, modelDigest: modelDigest)
        var delay: UInt64 = 1
        while await !leases.acquire(resources: []) {
            logger.error("tee-proxy: no workload certificate yet, not listening; retrying", metadata: ["retry.seconds": "\(delay)"])
            try await Task.sleep(nanoseconds: delay * 1_000_000_000)
            delay = min(delay * 2, 30)
        }
        let modelServer: ModelServerService?
        if let model = options.model { modelServer = try await Self.modelServer(model, leases: leases, logger: logger) } else { modelServer = nil }
        let router = Router()
        let forwarder = Forwarder(
            modelDigest: modelServer?.model.digest,
            upstream: options.upstream.hasSuffix("/") ? String(options.upstream.dropLast()) : options.upstream, maxBodyBytes: options.maxBodyBytes,
            timeout: .milliseconds(Int64(options.timeoutSeconds * 1000)))
        router.get("/healthz") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#))) }
        if let digest = modelServer?.model.digest {
            router.get("/sealgate/model") { _, _ in
                Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: #"{"model_digest":"\#(digest)"}"#)))
            }
        }
        for method in [HTTPRequest.Method.post, .get] {
            router.on("**", method: method) { request, _ in await forwarder.forward(request) }
        }
        let listener = ListenerSettings(limits: options.listener, problem: { refusal in
            ListenerProblem(body: Array(#"{"status":\#(refusal.status?.code ?? 400),"reason":"\#(refusal.reason.rawValue)"}"#.utf8))
        }, onRefusal: { _ in })
        let renewal = LeaseRenewalService(manager: leases, lease: options.leaseSeconds, logger: logger, initialDelay: options.leaseSeconds * 2 / 3) { [] }
        let server = try AttestedTLS.server(listener, identity: identity)
        return Application(
            router: router, server: server,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "sealgate-tee-proxy"),
            services: ([renewal] as [any Service]) + (modelServer.map { [$0] } ?? []) + [ShutdownService(logger: logger, message: "sealgate tee-proxy stopped") {
                    modelServer?.stop()
                    try? await brokerHTTP?.shutdown()
                }],
            logger: logger)
    }

    /// Forwards one request to the local model server: body bounded, answer streamed back as it arrives.
    struct Forwarder: Sendable {
        /// The loaded sealed model's digest, sent back as `Sealgate-Model-Digest` with every answer.
        let modelDigest: String?
        let upstream: String
        let maxBodyBytes: Int
        let timeout: TimeAmount
        static let hopByHop: Set<String> = ["connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length", "te", "trailer"]

        func forward(_ request: Request) async -> Response {
            var body = ByteBuffer()
            do {
                body = try await request.body.collect(upTo: maxBodyBytes)
            } catch {
                return Response(status: .contentTooLarge, body: .init(byteBuffer: ByteBuffer(string: #"{"reason":"body_too_large"}"#)))
            }
            var outbound = HTTPClientRequest(url: upstream + request.uri.description)
            outbound.method = request.method == .get ? .GET : .POST
            for field in request.headers where !Self.hopByHop.contains(field.name.canonicalName) {
                outbound.headers.add(name: field.name.rawName, value: field.value)
            }
            if request.method != .get { outbound.body = .bytes(body) }
            do {
                // Never a redirect: it would re-send the prompt and its passages to wherever it points.
                let answer = try await Sealgate.upstreamClient.execute(outbound, timeout: timeout)
                var headers = HTTPFields()
                if let modelDigest, let name = HTTPField.Name("Sealgate-Model-Digest") { headers.append(HTTPField(name: name, value: modelDigest)) }
                for (name, value) in answer.headers where !Self.hopByHop.contains(name.lowercased()) {
                    if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
                }
                let stream = answer.body
                return Response(
                    status: .init(code: Int(answer.status.code)), headers: headers,
                    body: ResponseBody { writer in
                        for try await buffer in stream { try await writer.write(buffer) }
                        try await writer.finish(nil)
                    })
            } catch {
                return Response(status: .badGateway, body: .init(byteBuffer: ByteBuffer(string: #"{"reason":"upstream_unavailable"}"#)))
            }
        }
    }
}
