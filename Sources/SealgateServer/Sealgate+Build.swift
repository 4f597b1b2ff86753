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
import MiniLM
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

    /// Builds everything `sealgate serve` runs, in four steps: resolve the configuration, assemble the object
    /// graph (`Sealgate+Assemble.swift`; nothing attests or seeds there), do the start-up work (attest, re-wrap,
    /// seed the demo once), then wire HTTP and the long-running services.
    public static func build(_ options: ServeOptions) async throws -> SealgateInstance {
        let config = try resolvedConfiguration(options)
        let parts = try await assemble(config, options: options)
        let leased = await startUp(parts, options: options)
        return try serve(parts, leased: leased, options: options)
    }

    /// The configuration `serve` runs with: the file (or demo or embedded default) with the command line's overrides.
    static func resolvedConfiguration(_ options: ServeOptions) throws -> Configuration {
        try FileManager.default.createDirectory(
            atPath: options.dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if options.demo { _ = try DemoSeed.credentials(dataDir: options.dataDir) }
        var config = try configuration(options)
        if let seconds = options.leaseSeconds { config.lease.ttlSeconds = seconds }
        if let host = options.host { config.server.host = host }
        if let port = options.port { config.server.port = port }
        return config
    }

    /// Start-up work on the assembled graph: the first attestation and lease, a re-wrap of DEKs under rotated KEKs,
    /// and the demo documents (once). Returns whether a lease is held; without one the gateway still serves, refusing
    /// every request that needs keys until a renewal succeeds.
    static func startUp(_ parts: GatewayParts, options: ServeOptions) async -> Bool {
        let logger = options.logger
        let gateway = parts.gateway
        await parts.leases.setOnDrop { await gateway.index.clear() }
        var leased = await parts.leases.acquire(resources: gateway.keyRing.resources, secrets: gateway.keyRing.secretResources)
        if let identity = parts.identity {
            // Attested TLS fails closed: no listener until the broker has certified the in-memory key.
            var delay: UInt64 = 1
            while identity.certificate == nil {
                logger.error(
                    "attested TLS: no workload certificate yet, not listening; retrying",
                    metadata: ["retry.seconds": "\(delay)", "broker": "\(options.brokerURL.map(URLOrigin.of) ?? "embedded")"])
                try? await Task.sleep(nanoseconds: delay * 1_000_000_000)
                delay = min(delay * 2, 30)
                leased = await parts.leases.acquire(resources: gateway.keyRing.resources, secrets: gateway.keyRing.secretResources)
            }
        }
        // With a shared database only the holder of the job lease re-wraps, at start-up as after a renewal.
        if leased { await parts.storage.rewrapOnce(gateway, seconds: parts.configuration.lease.ttlSeconds * 2) }
        if parts.configuration.tenants.isEmpty {
            logger.warning(
                "no tenants are configured: every request is refused; add tenants to sealgate.yaml (docs/configuration.md) or run with --demo")
        } else if !leased {
            logger.error("no key lease at start-up: requests that need keys are refused until attestation succeeds")
        }
        if let seeder = parts.seeder {
            if leased {
                do {
                    let added = try await seeder.seedOnce()
                    logger.info("demo data ready", metadata: ["demo.documents_added": "\(added)"])
                } catch {
                    logger.error("demo documents could not be seeded", metadata: ["error.type": "\(type(of: error))"])
                }
            } else {
                logger.warning("demo documents will be seeded once a key lease is held")
            }
        }
        return leased
    }

    /// The HTTP application over the assembled graph, with its services (checkpoints, events, shutdown, renewal).
    static func serve(_ parts: GatewayParts, leased: Bool, options: ServeOptions) throws -> SealgateInstance {
        let (config, gateway, leases, logger) = (parts.configuration, parts.gateway, parts.leases, options.logger)
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: ProblemMiddleware(metrics: parts.metrics))
        let witnessing = try witnessService(parts, logger: logger)
        var api = SealgateAPI(
            gateway: gateway, metrics: parts.metrics, bodyLimit: config.server.bodyLimitBytes, auditLog: parts.audit,
            auditorKeys: CredentialTable(config.audit.auditorAPIKeySHA256.map { ($0, GatewayIdentity.auditor) }),
            witnesses: witnessing?.cosigner)
        api.storageUnavailable = parts.storage.unavailable
        api.register(on: router)
        api.registerAudit(on: router)
        api.registerReceipts(on: router)
        api.registerDashboard(on: router)
        AttestationEndpoint(
            leases: leases, identity: parts.identity, operatorChain: AttestationEndpoint.chain(file: options.tlsCertificatePath),
            measurement: parts.measurement, auditLog: parts.audit, metrics: parts.metrics, limiter: RateLimiter(now: options.now)
        ).register(on: router)
        var services: [any Service] = parts.eventService.map { [$0] } ?? []
        if let shared = parts.storage.postgres { services.append(ChangeFeedService(store: shared, index: gateway.index, logger: logger)) }
        if let witnessing { services.append(witnessing) }
        let storage = parts.storage
        let closeBroker = parts.closeBroker
        services += [
            CheckpointService(log: parts.audit, interval: config.audit.checkpointIntervalSeconds, logger: logger),
            ShutdownService(logger: logger) {
                await leases.drop()
                await storage.close()
                await closeBroker()
            },
        ]
        if options.renewLeases {
            let resources = gateway.keyRing.resources
            let secrets = gateway.keyRing.secretResources
            let seeder = parts.seeder
            let jobLease = config.lease.ttlSeconds * 2
            let afterRenewal: @Sendable () async -> Void = {
                // With a shared database, only the holder of job `dek-rewrap` re-wraps, for all replicas.
                await storage.rewrapOnce(gateway, seconds: jobLease)
                if let seeder, let added = try? await seeder.seedOnce(), added > 0 {
                    logger.info("demo data ready", metadata: ["demo.documents_added": "\(added)"])
                }
            }
            services.append(
                LeaseRenewalService(
                    manager: leases, lease: config.lease.ttlSeconds, logger: logger, initialDelay: leased ? config.lease.ttlSeconds * 2 / 3 : 0,
                    secrets: { secrets }, onRenewed: afterRenewal
                ) { resources })
        }
        let application = Application(
            router: router,
            server: try gatewayServer(parts, options: options),
            configuration: .init(address: .hostname(config.server.host, port: config.server.port), serverName: "sealgate"),
            services: services, logger: logger)
        return SealgateInstance(
            application: application, gateway: gateway, leases: leases, configuration: config, measurement: parts.measurement,
            dataDir: options.dataDir, metrics: parts.metrics, auditLog: parts.audit)
    }

    /// The gateway's listener: attested TLS, TLS from the operator's files, or plain HTTP.
    static func gatewayServer(_ parts: GatewayParts, options: ServeOptions) throws -> HTTPServerBuilder {
        let listener = ListenerSettings.gateway(options.listener, metrics: parts.metrics)
        guard let identity = parts.identity else {
            return try serverBuilder(certificatePath: options.tlsCertificatePath, keyPath: options.tlsKeyPath, listener: listener)
        }
        guard options.tlsCertificatePath == nil, options.tlsKeyPath == nil else {
            throw SealgateError(.internalError, "--attested-tls and --tls-cert/--tls-key exclude each other: choose one")
        }
        return try AttestedTLS.server(listener, identity: identity)
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
    static func makeEventSink(
        _ config: Configuration, dataDir: String, logger: Logger, metrics: any MetricsRecorder = NoMetrics()
    ) throws -> (any SecurityEventSink, (any Service)?) {
        let source = "/sealgate/" + config.audit.origin
        switch config.events.sink {
        case .none: return (NoSecurityEvents(), nil)
        case .stdout: return (LineEventSink.standardOutput(source: source), nil)
        case .file: return (try LineEventSink.file(path: config.events.path ?? dataDir + "/security-events.jsonl", source: source), nil)
        case .webhook:
            let sink = WebhookEventSink(
                url: config.events.url ?? "", source: source, capacity: config.events.queueCapacity, logger: logger,
                onDrop: { metrics.increment("sealgate_security_events_dropped_total", labels: []) })
            return (sink, sink)
        }
    }
}
