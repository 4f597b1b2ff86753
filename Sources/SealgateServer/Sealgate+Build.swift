import AsyncHTTPClient
import Audit
import Attestation
import Crypto
import Foundation
import Gateway
import Hummingbird
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
    public let application: Application<RouterResponder<BasicRequestContext>>
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

        // The in-process broker, with its own database and master key.
        let referenceValues = try options.referenceValues ?? loadReferenceValues(config, measurement: measurement, options: options)
        let appraiser = Appraiser(
            referenceValues: referenceValues,
            verifiers: [MockEvidenceVerifier(trustedSigners: [tee.signingKey.publicKey])])
        let classRules = Dictionary(uniqueKeysWithValues: config.dataClasses.map { ($0.name, $0.allowMockEvidence) })
        let tenantIDs = Set(config.tenants.map(\.id))
        let kekStore = try await SQLiteKEKStore(path: dataDir + "/broker/broker.sqlite", logger: logger)
        let broker = KeyBroker(
            appraiser: appraiser, store: kekStore,
            masterKey: try MasterKey.loadOrCreate(path: dataDir + "/broker/master.key"), tokenKey: P256.Signing.PrivateKey(),
            tokenTTL: config.lease.ttlSeconds, now: options.now,
            rules: { tenant, dataClass in
                guard tenantIDs.contains(tenant), let allow = classRules[dataClass] else { return nil }
                return ReleaseRule(allowMockEvidence: allow)
            })
        for tenant in config.tenants {
            for rule in config.dataClasses { try await broker.provision(tenant: tenant.id, dataClass: rule.name) }
        }
        events.emit(
            SecurityEvent(
                type: "dev.sealgate.policy.loaded", time: options.now(),
                data: [
                    "policy_digest": measurement.policyDigest, "measurement": measurement.measurement,
                    "tenants": String(config.tenants.count), "data_classes": config.dataClasses.map(\.name.rawValue).joined(separator: ","),
                    "reference_values": config.attestation.referenceValues ?? (options.referenceValues == nil ? "development enrolment" : "given"),
                ]))
        let auditor = LeaseAuditor(audit: options.auditDecorator?(audit) ?? audit, metrics: metrics, events: events, configuration: config, now: options.now)
        let leases = LeaseManager(
            client: InProcessBrokerClient(broker: broker), attester: tee, maxLease: config.lease.ttlSeconds,
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

        await leases.setOnDrop { await gateway.clearIndex() }
        let resources = gateway.resources
        let leased = await leases.acquire(resources: resources)
        if !leased {
            logger.error("no key lease at start-up: queries are refused until attestation succeeds")
        }
        if options.demo {
            let added = try await DemoSeed.seed(gateway: gateway, configuration: config)
            logger.info("demo data ready", metadata: ["demo.documents_added": "\(added)"])
        }

        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ProblemMiddleware(metrics: metrics))
        let api = SealgateAPI(
            gateway: gateway, metrics: metrics, bodyLimit: config.server.bodyLimitBytes, auditLog: audit,
            auditorKeys: Set(config.audit.auditorAPIKeySHA256.map { $0.lowercased() }))
        api.register(on: router)
        api.registerAudit(on: router)
        var services: [any Service] = eventService.map { [$0] } ?? []
        services += [
            CheckpointService(log: audit, interval: config.audit.checkpointIntervalSeconds, logger: logger),
            ShutdownService(logger: logger) {
                await leases.drop()
                await store.close()
                await kekStore.close()
            }
        ]
        if options.renewLeases {
            services.append(
                LeaseRenewalService(manager: leases, lease: config.lease.ttlSeconds, logger: logger, initialDelay: leased ? config.lease.ttlSeconds * 2 / 3 : 0) {
                    resources
                })
        }
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(config.server.host, port: config.server.port), serverName: "sealgate"),
            services: services, logger: logger)
        return SealgateInstance(
            application: application, gateway: gateway, leases: leases, configuration: config, measurement: measurement,
            dataDir: dataDir, metrics: metrics, auditLog: audit)
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

    /// Reference values from the configured file, or — without one — development enrolment: the broker measures
    /// the binary it runs in (independently of the evidence) and accepts exactly that measurement.
    static func loadReferenceValues(_ config: Configuration, measurement: MockMeasurement, options: ServeOptions) throws -> ReferenceValues {
        if let path = config.attestation.referenceValues {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SealgateError(.attestationFailed, "cannot read reference values \(path)")
            }
            do {
                if path.hasSuffix(".json") { return try JSONDecoder().decode(ReferenceValues.self, from: data) }
                return try YAMLDecoderShim.decode(ReferenceValues.self, from: data)
            } catch {
                throw SealgateError(.attestationFailed, "reference values \(path) are malformed")
            }
        }
        let enrolled = try Sealgate.measurement(config, executablePath: options.executablePath)
        return ReferenceValues(
            sets: [ReferenceValueSet(id: "dev-enrolled-\(enrolled.measurement.prefix(12))", tee: .mock, measurements: [enrolled.measurement], minSVN: 1)],
            acceptMockEvidence: true)
    }

    /// The mock TEE's development signing key (PEM, mode 0600), created on first use.
    static func loadOrCreateSigningKey(path: String) throws -> P256.Signing.PrivateKey {
        let fm = FileManager.default
        if let data = fm.contents(atPath: path) {
            do { return try P256.Signing.PrivateKey(pemRepresentation: String(decoding: data, as: UTF8.self)) } catch {
                throw SealgateError(.attestationFailed, "mock TEE key \(path) is malformed")
            }
        }
        try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key = P256.Signing.PrivateKey()
        guard fm.createFile(atPath: path, contents: Data(key.pemRepresentation.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw SealgateError(.attestationFailed, "cannot write mock TEE key \(path)")
        }
        return key
    }
}
