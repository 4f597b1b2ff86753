import AsyncHTTPClient
import BrokerClientHTTP
import Audit
import Attestation
import Authenticate
import Crypto
import Foundation
import Gateway
import HTTPHardening
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import KeyBroker
import KeyLease
import Logging
import Models
import ModelClientOpenAI
import Redaction
import Retrieval
import SealgateConfig
import SealgateCore
import SecurityEvents
import ServiceLifecycle
import StorageSQLite

/// A built gateway: the HTTP application and handles tests and tools use.
public struct SealgateInstance: Sendable {
    public let application: Application<RouterResponder<GatewayRequestContext>>
    public let gateway: Gateway
    public let leases: LeaseManager
    public let configuration: Configuration
    public let measurement: MockMeasurement
    public let dataDir: String
    public let metrics: PrometheusRecorder
    public let auditLog: AuditLog
}

/// The composition root: reads configuration, builds every adapter, attests, seeds the demo, wires HTTP.
public enum Sealgate {
    /// The redaction profiles configuration may name.
    public static var redactionProfiles: Set<String> { Set(RedactionEngine.builtInProfiles.map(\.name)) }

    /// The redaction engine a tenant's answers go through under `config` (hash tokens mask: no tenant key here).
    /// - Throws: ``ConfigError`` when a tenant pattern does not compile.
    public static func redactionEngine(_ config: Configuration, tenant: TenantID?) throws -> RedactionEngine {
        try ConfiguredRedaction(config.redaction).engine(tenant: tenant, tokenKey: nil)
    }

    /// Checks what only the running gateway's components can: that every tenant redaction pattern compiles.
    /// - Throws: ``ConfigError`` naming each bad pattern.
    public static func checkComponents(_ config: Configuration) throws {
        _ = try ConfiguredRedaction(config.redaction)
    }

    /// Resolves the configuration as `serve` would (and writes the demo configuration when asked).
    public static func configuration(_ options: ServeOptions) throws -> Configuration {
        if let path = options.configPath {
            return try ConfigLoader.load(path: path, knownRedactionProfiles: redactionProfiles)
        }
        let local = options.dataDir + "/sealgate.yaml"
        if FileManager.default.fileExists(atPath: local) {
            return try ConfigLoader.load(path: local, knownRedactionProfiles: redactionProfiles)
        }
        if options.demo {
            let config = DemoSeed.configuration(try DemoSeed.credentials(dataDir: options.dataDir))
            _ = try DemoSeed.writeConfiguration(config, dataDir: options.dataDir)
            return try ConfigLoader.load(path: local, knownRedactionProfiles: redactionProfiles)
        }
        return Configuration.embeddedDefault
    }

    /// The mock measurement this binary and configuration produce.
    public static func measurement(_ config: Configuration, executablePath: String) throws -> MockMeasurement {
        MockMeasurement(
            executableDigest: try MockMeasurement.executableDigest(path: executablePath),
            policyDigest: ConfigLoader.policyDigest(config))
    }

    /// Builds everything `sealgate serve` runs.
    public static func build(_ options: ServeOptions) async throws -> SealgateInstance {
        let logger = options.logger
        let dataDir = options.dataDir
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if options.demo { _ = try DemoSeed.credentials(dataDir: dataDir) }
        var config = try configuration(options)
        if let seconds = options.leaseSeconds { config.lease.ttlSeconds = seconds }
        if let host = options.host { config.server.host = host }
        if let port = options.port { config.server.port = port }
        let metrics = PrometheusRecorder()
        let (events, eventService) = try makeEventSink(config, dataDir: dataDir, logger: logger)
        let audit = try AuditLog(
            directory: dataDir + "/audit", origin: config.audit.origin, checkpointEvery: config.audit.checkpointEveryRecords)
        if audit.rebuiltLeafHashes > 0 {
            logger.notice("audit hash files rebuilt from the entries", metadata: ["audit.rebuilt_leaves": "\(audit.rebuiltLeafHashes)"])
        }
        if audit.recoveredBytes > 0 {
            logger.warning("audit log had a torn tail; cut back to the last complete record", metadata: ["audit.cut_bytes": "\(audit.recoveredBytes)"])
            events.emit(
                SecurityEvent(
                    type: "dev.sealgate.audit.recovered", time: options.now(),
                    data: ["cut_bytes": String(audit.recoveredBytes), "entries": String(await audit.size)]))
        }
        let store = try await SQLiteDocumentStore(path: dataDir + "/sealgate.sqlite", logger: logger)

        // The mock TEE: a persistent development signing key and the measurement of this binary + policy.
        let measurement = try measurement(config, executablePath: options.executablePath)
        let tee = MockTEE(signingKey: try loadOrCreateSigningKey(path: dataDir + "/mock-tee/signing-key.pem"), measurement: measurement)

        // The key broker: a standalone one over HTTP, or the same broker in-process with its own database and master key.
        let auditor = LeaseAuditor(audit: options.auditDecorator?(audit) ?? audit, metrics: metrics, events: events, policyDigest: ConfigLoader.policyDigest(config), now: options.now)
        let client: any BrokerClient
        let closeBroker: @Sendable () async -> Void
        if let url = options.brokerURL {
            if let ca = options.brokerCAPath {
                // A client of its own that trusts only the broker's CA; shut down with the gateway.
                let http = HTTPClient(
                    eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: try TLSFiles.client(caPath: ca)))
                client = HTTPBrokerClient(client: http, baseURL: url)
                closeBroker = { try? await http.shutdown() }
            } else {
                client = HTTPBrokerClient(baseURL: url)
                closeBroker = {}
            }
            events.emit(
                SecurityEvent(
                    type: "dev.sealgate.policy.loaded", time: options.now(),
                    data: ["policy_digest": measurement.policyDigest, "measurement": measurement.measurement, "broker": url]))
        } else {
            let (broker, store) = try await embeddedBroker(config, tee: tee, measurement: measurement, options: options)
            client = InProcessBrokerClient(broker: broker)
            closeBroker = { await store.close() }
            events.emit(
                SecurityEvent(
                    type: "dev.sealgate.policy.loaded", time: options.now(),
                    data: [
                        "policy_digest": measurement.policyDigest, "measurement": measurement.measurement,
                        "tenants": String(config.tenants.count), "data_classes": config.dataClasses.map(\.name.rawValue).joined(separator: ","),
                        "reference_values": config.attestation.referenceValues ?? (options.referenceValues == nil ? "development enrolment" : "given"),
                    ]))
        }
        let leases = LeaseManager(
            client: client, attester: try makeAttester(options, configuration: config, tee: tee), maxLease: config.lease.ttlSeconds,
            now: options.now, logger: logger, onEvent: { await auditor.record($0) })

        let (embedder, dimensions) = makeEmbedder(config.retrieval.embedder)
        var models: [ModelProfileID: any ChatModel] = [:]
        for profile in config.models {
            switch profile.type {
            case .builtin:
                models[profile.id] = ExtractiveModel()
            case .openai:
                models[profile.id] = OpenAIChatModel(
                    client: HTTPClient.shared, baseURL: profile.baseURL ?? "", model: profile.model ?? "",
                    apiKey: profile.apiKeyEnv.flatMap { ProcessInfo.processInfo.environment[$0] },
                    timeoutSeconds: profile.timeoutSeconds, maxResponseBytes: profile.maxResponseBytes, retries: profile.retries)
            }
        }
        let gateway = Gateway(
            GatewayDependencies(
                configuration: config, store: store, leases: leases, embedder: embedder, embeddingDimensions: dimensions,
                models: models, redactors: try ConfiguredRedaction(config.redaction), audit: options.auditDecorator?(audit) ?? audit, metrics: metrics, events: events, logger: logger,
                now: options.now))

        await leases.setOnDrop { await gateway.index.clear() }
        let resources = gateway.keyRing.resources
        let secrets = gateway.keyRing.secretResources
        let leased = await leases.acquire(resources: resources, secrets: secrets)
        if leased { await gateway.rewrapDEKs() }
        if !leased {
            logger.error("no key lease at start-up: queries are refused until attestation succeeds")
        }
        if options.demo && leased {
            let added = try await DemoSeed.seed(gateway: gateway, configuration: config)
            logger.info("demo data ready", metadata: ["demo.documents_added": "\(added)"])
        } else if options.demo {
            logger.warning("demo documents will be seeded once a key lease is held")
        }
        let demo = options.demo
        let seedConfig = config
        let afterRenewal: @Sendable () async -> Void = {
            await gateway.rewrapDEKs()
            if demo, let added = try? await DemoSeed.seed(gateway: gateway, configuration: seedConfig), added > 0 {
                logger.info("demo data ready", metadata: ["demo.documents_added": "\(added)"])
            }
        }

        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: ProblemMiddleware(metrics: metrics))
        let api = SealgateAPI(
            gateway: gateway, metrics: metrics, bodyLimit: config.server.bodyLimitBytes, auditLog: audit,
            auditorKeys: CredentialTable(config.audit.auditorAPIKeySHA256.map { ($0, GatewayIdentity.auditor) }))
        api.register(on: router)
        api.registerAudit(on: router)
        var services: [any Service] = eventService.map { [$0] } ?? []
        services += [
            CheckpointService(log: audit, interval: config.audit.checkpointIntervalSeconds, logger: logger),
            ShutdownService(logger: logger) {
                await leases.drop()
                await store.close()
                await closeBroker()
            }
        ]
        if options.renewLeases {
            services.append(
                LeaseRenewalService(
                    manager: leases, lease: config.lease.ttlSeconds, logger: logger, initialDelay: leased ? config.lease.ttlSeconds * 2 / 3 : 0,
                    secrets: { secrets }, onRenewed: afterRenewal
                ) { resources })
        }
        let application = Application(
            router: router,
            server: try serverBuilder(
                certificatePath: options.tlsCertificatePath, keyPath: options.tlsKeyPath, listener: .gateway(options.listener, metrics: metrics)),
            configuration: .init(address: .hostname(config.server.host, port: config.server.port), serverName: "sealgate"),
            services: services, logger: logger)
        return SealgateInstance(
            application: application, gateway: gateway, leases: leases, configuration: config, measurement: measurement,
            dataDir: dataDir, metrics: metrics, auditLog: audit)
    }

    /// Plain HTTP/1.1, or HTTP/1.1 over TLS when both a certificate chain and a key are given, behind the listener
    /// guard (docs/listener.md).
    static func serverBuilder(certificatePath: String?, keyPath: String?, listener: ListenerSettings) throws -> HTTPServerBuilder {
        switch (certificatePath, keyPath) {
        case (nil, nil): return .guardedHTTP1(listener)
        case (let certificate?, let key?):
            return try .tls(.guardedHTTP1(listener), tlsConfiguration: TLSFiles.server(certificatePath: certificate, keyPath: key))
        default: throw SealgateError(.internalError, "TLS needs both a certificate chain and a private key")
        }
    }

    /// The security event sink of the configuration, and its delivery service for webhooks.
    static func makeEventSink(_ config: Configuration, dataDir: String, logger: Logger) throws -> (any SecurityEventSink, (any Service)?) {
        let source = "/sealgate/" + config.audit.origin
        switch config.events.sink {
        case .none: return (NoSecurityEvents(), nil)
        case .stdout: return (LineEventSink.standardOutput(source: source), nil)
        case .file: return (try LineEventSink.file(path: config.events.path ?? dataDir + "/security-events.jsonl", source: source), nil)
        case .webhook:
            let sink = WebhookEventSink(url: config.events.url ?? "", source: source, capacity: config.events.queueCapacity, logger: logger)
            return (sink, sink)
        }
    }

    static func makeEmbedder(_ settings: EmbedderSettings) -> (any Embedder, Int) {
        switch settings.type {
        case .builtin:
            return (HashingEmbedder(dimensions: settings.dimensions), settings.dimensions)
        case .openai:
            return (
                OpenAIEmbedder(
                    client: HTTPClient.shared, baseURL: settings.baseURL ?? "", model: settings.model ?? "",
                    apiKey: settings.apiKeyEnv.flatMap { ProcessInfo.processInfo.environment[$0] },
                    dimensions: settings.dimensions, timeoutSeconds: settings.timeoutSeconds),
                settings.dimensions
            )
        }
    }
}
