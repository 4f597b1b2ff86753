import AsyncHTTPClient
import Audit
import Attestation
import BrokerClientHTTP
import Foundation
import Gateway
import KeyBroker
import KeyLease
import Logging
import ModelClientOpenAI
import Models
import SealgateConfig
import SealgateCore
import SecurityEvents
import ServiceLifecycle
import StorageSQLite

/// The gateway's object graph, assembled but not started: nothing here has attested, seeded or served.
struct GatewayParts: Sendable {
    let configuration: Configuration
    let metrics: PrometheusRecorder
    let eventService: (any Service)?
    let audit: AuditLog
    let store: SQLiteDocumentStore
    let measurement: MockMeasurement
    let leases: LeaseManager
    let gateway: Gateway
    let closeBroker: @Sendable () async -> Void
    /// Seeds the demo documents once (`--demo` only).
    let seeder: DemoSeeder?
    /// Where security events go (the witness submitter emits split views).
    var events: any SecurityEventSink = NoSecurityEvents()
}

extension Sealgate {
    /// Builds every adapter and stage of the gateway for `config`: metrics, events, the audit log, the document
    /// store, the mock TEE, the broker (in-process or over HTTP), the lease manager, embedder and models, and the
    /// gateway's stages.
    static func assemble(_ config: Configuration, options: ServeOptions) async throws -> GatewayParts {
        let logger = options.logger
        let dataDir = options.dataDir
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
                settings: GatewaySettings(configuration: config, servedModels: Set(models.keys)), store: store, leases: leases, embedder: embedder, embeddingDimensions: dimensions,
                models: models, redactors: try ConfiguredRedaction(config.redaction), audit: options.auditDecorator?(audit) ?? audit, metrics: metrics, events: events, logger: logger,
                now: options.now))

        return GatewayParts(
            configuration: config, metrics: metrics, eventService: eventService, audit: audit, store: store, measurement: measurement,
            leases: leases, gateway: gateway, closeBroker: closeBroker,
            seeder: options.demo ? DemoSeeder(gateway: gateway, configuration: config) : nil, events: events)
    }
}
