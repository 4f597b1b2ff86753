import AsyncHTTPClient
import AttestedUpstream
import Audit
import Attestation
import BrokerClientHTTP
import Dashboard
import Foundation
import Gateway
import KeyBroker
import KeyLease
import Logging
import ModelClientOpenAI
import Models
import Retrieval
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
    /// The document store (SQLite file or PostgreSQL) and what a shared database adds.
    let storage: DocumentStorage
    let measurement: MockMeasurement
    let leases: LeaseManager
    let gateway: Gateway
    let closeBroker: @Sendable () async -> Void
    /// Seeds the demo documents once (`--demo` only).
    let seeder: DemoSeeder?
    /// The in-TEE TLS identity when the gateway serves attested TLS.
    let identity: WorkloadIdentity?
    /// Where security events go (the witness submitter emits split views).
    var events: any SecurityEventSink = NoSecurityEvents()
}

extension Sealgate {
    /// Builds every adapter and stage of the gateway for `config`: metrics, events, the audit log, the document
    /// store, the mock TEE, the broker (in-process or over HTTP), the lease manager, embedder and models, and the
    /// gateway's stages.
    static func assemble(_ config: Configuration, options: ServeOptions) async throws -> GatewayParts {
        // Before anything is opened. The command line checks this too; a caller of this API gets the same rule.
        if let url = options.brokerURL, !options.insecureBrokerHTTP, let problem = BrokerTransport.problem(url) {
            throw SealgateError(.malformedRequest, problem)
        }
        let logger = options.logger
        let dataDir = options.dataDir
        // First: a refused model file stops start-up before any store is opened (a sealed one is checked here and
        // loaded once the lease manager can attest for its key, below).
        let early = try makeEmbedder(config.retrieval.embedder)
        let metrics = PrometheusRecorder(ring: DashboardRing(now: options.now))
        let (events, eventService) = try makeEventSink(config, dataDir: dataDir, logger: logger, metrics: metrics)
        // Each replica keeps its own log under its own origin, so logs of one deployment never pass for each other.
        let origin = options.replica.map { config.audit.origin + "/" + $0 } ?? config.audit.origin
        let audit = try AuditLog(directory: dataDir + "/audit", origin: origin, checkpointEvery: config.audit.checkpointEveryRecords)
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
        let storage = try await documentStorage(config, dataDir: dataDir, replica: options.replica, logger: logger)
        let store = storage.store

        // The mock TEE: a persistent development signing key and the measurement of this binary + policy.
        let measurement = try measurement(config, executablePath: options.executablePath)
        let initData = try options.initDataPath.map(loadInitData(path:))
        let tee = MockTEE(
            signingKey: try loadOrCreateSigningKey(path: dataDir + "/mock-tee/signing-key.pem"), measurement: measurement,
            initDataDigest: initData?.digest(for: .mock))

        // Attested TLS: a key generated here, in memory only; its certificate comes with the lease.
        let identity = options.attestedTLS || config.server.tls == .attested ? WorkloadIdentity(workload: .gateway, now: options.now) : nil
        if let identity { writeTrustBundle(for: identity, dataDir: dataDir, logger: logger) }
        // The key broker: a standalone one over HTTP, or the same broker in-process with its own database and master key.
        let auditor = LeaseAuditor(audit: options.auditDecorator?(audit) ?? audit, metrics: metrics, events: events, policyDigest: ConfigLoader.policyDigest(config), now: options.now)
        let client: any BrokerClient
        let closeBroker: @Sendable () async -> Void
        var trust: TrustBundle
        if let url = options.brokerURL {
            if let ca = options.brokerCAPath {
                // A client of its own that trusts only the broker's CA; shut down with the gateway.
                let tls = try TLSFiles.client(caPath: ca)
                var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
                configuration.redirectConfiguration = .disallow
                let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
                client = HTTPBrokerClient(client: http, baseURL: url, identity: identity, tls: tls)
                closeBroker = { try? await http.shutdown() }
                trust = TrustBundle(.broker(url: url, client: http, identity: identity))
            } else {
                client = HTTPBrokerClient(baseURL: url, identity: identity)
                closeBroker = {}
                trust = TrustBundle(.broker(url: url, client: HTTPBrokerClient.sharedClient, identity: identity))
            }
            events.emit(
                SecurityEvent(
                    type: "dev.sealgate.policy.loaded", time: options.now(),
                    data: ["policy_digest": measurement.policyDigest, "measurement": measurement.measurement, "broker": URLOrigin.of(url)]))
        } else {
            let (broker, store) = try await embeddedBroker(config, tee: tee, measurement: measurement, options: options)
            if identity != nil {
                try await broker.enrolAtStartUp(WorkloadEnrolment(workload: .gateway, names: gatewayNames(config)))
            }
            client = InProcessBrokerClient(broker: broker)
            closeBroker = { await store.close() }
            trust = TrustBundle(.embedded(broker))
            events.emit(
                SecurityEvent(
                    type: "dev.sealgate.policy.loaded", time: options.now(),
                    data: [
                        "policy_digest": measurement.policyDigest, "measurement": measurement.measurement,
                        "tenants": String(config.tenants.count), "data_classes": config.dataClasses.map(\.name.rawValue).joined(separator: ","),
                        "reference_values": config.attestation.referenceValues ?? (options.referenceValues == nil ? "development enrolment" : "given"),
                    ]))
        }
        if let pinned = options.workloadCAPath { trust = TrustBundle(.file(pinned)) }
        let leases = LeaseManager(
            client: client, attester: try makeAttester(options, configuration: config, tee: tee), maxLease: config.lease.ttlSeconds,
            now: options.now, logger: logger, identity: identity, initData: initData, onEvent: { await auditor.record($0) })

        // A sealed embedder: attest, the model key released, decrypted into memory and verified; or no start at all.
        let configured: ConfiguredEmbedder
        if let early { configured = early } else {
            do { configured = try await loadSealedEmbedder(config.retrieval.embedder, leases: leases, logger: logger) } catch {
                // Refused: nothing will run, so the stores opened above are closed before the error ends start-up.
                await closeBroker()
                await storage.close()
                throw error
            }
        }
        var models: [ModelProfileID: any ChatModel] = [:]
        for profile in config.models {
            switch profile.type {
            case .builtin:
                models[profile.id] = ExtractiveModel()
            case .openai:
                // An attested profile gets a transport that verifies the upstream's workload certificate in the handshake.
                let transport: any UpstreamTransport = profile.attestation.map { attestation in
                    let bundle = trust
                    return AttestedTransport(
                        workload: attestation.workload, measurements: attestation.measurements, modelDigest: attestation.digest,
                        trust: { await bundle.certificates() }, now: options.now)
                } ?? HTTPClientTransport(client: Self.upstreamClient)
                models[profile.id] = OpenAIChatModel(
                    transport: transport, baseURL: profile.baseURL ?? "", model: profile.model ?? "",
                    apiKey: profile.apiKeyEnv.flatMap { ProcessInfo.processInfo.environment[$0] },
                    timeoutSeconds: profile.timeoutSeconds, maxResponseBytes: profile.maxResponseBytes, retries: profile.retries)
            }
        }
        var settings = GatewaySettings(configuration: config, servedModels: Set(models.keys))
        settings.embedderDigest = configured.digest
        var dependencies = GatewayDependencies(
            settings: settings, store: store, leases: leases, embedder: configured.embedder, embeddingDimensions: configured.dimensions,
            models: models, redactors: try ConfiguredRedaction(config.redaction), audit: options.auditDecorator?(audit) ?? audit, metrics: metrics, events: events, logger: logger,
            now: options.now)
        // Sealed index snapshots beside the documents (docs/retrieval.md): a restart loads them instead of decrypting every embedding.
        dependencies.snapshots = store
        dependencies.indexOptions = Self.indexOptions(config.retrieval, idfWeighting: configured.embedder.wantsIDFWeighting)
        let gateway = Gateway(dependencies)

        return GatewayParts(
            configuration: config, metrics: metrics, eventService: eventService, audit: audit, storage: storage, measurement: measurement,
            leases: leases, gateway: gateway, closeBroker: closeBroker,
            seeder: options.demo ? DemoSeeder(gateway: gateway, configuration: config) : nil, identity: identity, events: events)
    }
}

extension Sealgate {
    /// The gateway's index options (`IndexOptions.sealed`) with `retrieval.ef_search` applied; for an embedder whose
    /// vectors the index weights by IDF (the built-in one), ``IndexOptions/forIDFWeighting``'s wider graph and search.
    static func indexOptions(_ retrieval: RetrievalSettings, idfWeighting: Bool) -> IndexOptions {
        var options = IndexOptions.sealed
        switch retrieval.efSearch {
        case .auto: options.efSearchGrows = true
        case .fixed(let n):
            options.efSearch = n
            options.efSearchGrows = false
        }
        return idfWeighting ? options.forIDFWeighting : options
    }

    /// The names the embedded broker enrols for the gateway: `server.tls_names`, else loopback names plus `host`.
    static func gatewayNames(_ config: Configuration) -> [String] {
        if !config.server.tlsNames.isEmpty { return config.server.tlsNames }
        var names = ["localhost", "127.0.0.1", "::1"]
        let host = config.server.host
        if !["0.0.0.0", "::", ""].contains(host), !names.contains(host) { names.append(host) }
        return names
    }

    /// Writes the broker CA bundle the gateway's certificate chains to as `<data-dir>/ca.pem` (public; what clients
    /// pass to `curl --cacert` or `httpx.Client(verify=…)`), after every issuance.
    static func writeTrustBundle(for identity: WorkloadIdentity, dataDir: String, logger: Logger) {
        identity.onInstall { certificate in
            let path = dataDir + "/ca.pem"
            let data = Data(certificate.trust.joined().utf8)
            guard FileManager.default.contents(atPath: path) != data else { return }
            if !FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o644]) {
                logger.error("cannot write the CA bundle", metadata: ["file": "\(path)"])
            }
        }
    }
}
