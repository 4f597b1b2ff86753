import AccessPolicy
import Attestation
import Crypto
import Foundation
import Gateway
import KBSProtocol
import KeyBroker
import KeyLease
import Logging
import ReleasePolicy
import Retrieval
import SealgateCore
import SealgateTestSupport
import StorageSQLite

/// A gateway assembled without HTTP: the real stages over fakes of the ports (an in-memory document store, a
/// recording audit sink and metrics, a passage-echo model, no redaction) and the real in-process key broker on
/// a temporary SQLite file with a mock TEE.
struct Harness {
    let gateway: Gateway
    let store: InMemoryDocumentStore
    let audit: RecordingAuditSink
    let metrics: RecordingMetrics
    let leases: LeaseManager
    let brokerStore: SQLiteBrokerStore
    let directory: String
    let broker: KeyBroker
    let events: RecordingEvents
    let snapshots: InMemoryIndexSnapshotStore
    let settings: GatewaySettings
    /// The embedder other than the built-in hashing one, if the test chose one (a restart keeps it).
    let embedder: (any Embedder)?

    static let acme = TenantID(unchecked: "acme")
    static let notes = CollectionName(unchecked: "notes")
    static let caller = Caller(
        principal: Principal(tenant: acme, id: PrincipalID(unchecked: "app")), grants: Grants(read: ["*"], write: ["*"], dataClasses: ["*"]))

    static let globex = TenantID(unchecked: "globex")
    static let globexCaller = Caller(
        principal: Principal(tenant: globex, id: PrincipalID(unchecked: "app")), grants: Grants(read: ["*"], write: ["*"], dataClasses: ["*"]))

    /// A gateway for `acme` (and `globex` with `twoTenants`), with sealed index snapshots kept in memory; `now` is the
    /// lease clock and `client` may wrap the broker client (fault injection).
    static func make(
        audit: RecordingAuditSink = RecordingAuditSink(), twoTenants: Bool = false, now: @escaping @Sendable () -> Date = { Date() },
        client: @Sendable (any BrokerClient) -> any BrokerClient = { $0 }, redactors: any RedactorFactory = NoRedaction(),
        embedder: (any Embedder)? = nil, model: any ChatModel = PassageEchoModel(), maxChunksPerTenant: Int? = nil
    ) async throws -> Harness {
        let classes = ["public", "internal", "confidential", "restricted"].map {
            ClassRule(name: DataClass(unchecked: $0), models: [ModelProfileID(unchecked: "extractive")], redactionProfile: "basic")
        }
        let settings = GatewaySettings(
            tenants: [(acme, [(Gateway.hashAPIKey("k"), caller)])] + (twoTenants ? [(globex, [(Gateway.hashAPIKey("g"), globexCaller)])] : []),
            policy: PolicyTable(
                classes: classes, models: [ModelProfileID(unchecked: "extractive")], defaultTopK: 5, maxDocumentBytes: 1 << 20,
                maxChunksPerTenant: maxChunksPerTenant, remoteEmbedderClasses: nil),
            policyDigest: "sha-256:test", knownModels: [ModelProfileID(unchecked: "extractive")], redactPromptModels: [],
            chunkCharacters: 800, chunkOverlap: 160)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-\(UUID().uuidString)").path
        let tee = MockTEE(
            signingKey: P256.Signing.PrivateKey(),
            measurement: MockMeasurement(executableDigest: String(repeating: "aa", count: 48), policyDigest: String(repeating: "bb", count: 32)))
        let values = ReferenceValues(
            sets: [ReferenceValueSet(id: "dev", tee: .mock, measurements: [tee.measurement.measurement], minSVN: 1)], acceptMockEvidence: true,
            mockSigners: [tee.signingKey.publicKey.pemRepresentation])
        let brokerStore = try await SQLiteBrokerStore(path: directory + "/broker.sqlite", logger: Logger(label: "test"))
        let broker = KeyBroker(
            verifiers: [], referenceValues: values, policies: try PolicySet([]), store: brokerStore,
            protector: try MasterKey(raw: Data(repeating: 7, count: 32)), tokenKey: P256.Signing.PrivateKey(), tokenTTL: 300, now: { Date() })
        for tenant in twoTenants ? [acme, globex] : [acme] {
            for rule in classes { try await broker.provision(tenant: tenant, dataClass: rule.name) }
            try await broker.provisionSecret(tenant: tenant, name: KeyRing.tenantSecretName)
        }
        let leases = LeaseManager(client: client(InProcessBrokerClient(broker: broker)), attester: tee, maxLease: 300, now: now, logger: Logger(label: "test"))
        let store = InMemoryDocumentStore()
        let metrics = RecordingMetrics()
        let events = RecordingEvents()
        let snapshots = InMemoryIndexSnapshotStore()
        let gateway = makeGateway(
            settings: settings, store: store, leases: leases, audit: audit, metrics: metrics, events: events, snapshots: snapshots,
            redactors: redactors, embedder: embedder, model: model)
        await leases.setOnDrop { await gateway.index.clear() }
        return Harness(
            gateway: gateway, store: store, audit: audit, metrics: metrics, leases: leases, brokerStore: brokerStore, directory: directory,
            broker: broker, events: events, snapshots: snapshots, settings: settings, embedder: embedder)
    }

    static func makeGateway(
        settings: GatewaySettings, store: InMemoryDocumentStore, leases: LeaseManager, audit: RecordingAuditSink, metrics: RecordingMetrics,
        events: RecordingEvents, snapshots: InMemoryIndexSnapshotStore, dimensions: Int = 256, redactors: any RedactorFactory = NoRedaction(),
        indexOptions: IndexOptions = Harness.indexOptions, embedder: (any Embedder)? = nil, model: any ChatModel = PassageEchoModel()
    ) -> Gateway {
        var deps = GatewayDependencies(
            settings: settings, store: store, leases: leases, embedder: embedder ?? HashingEmbedder(dimensions: dimensions), embeddingDimensions: dimensions,
            models: [ModelProfileID(unchecked: "extractive"): model], redactors: redactors, audit: audit, metrics: metrics,
            events: events, logger: Logger(label: "test"))
        deps.snapshots = snapshots
        deps.indexOptions = indexOptions
        return Gateway(deps)
    }

    /// The tests' index options: small sub-indexes get a graph too, so the tests exercise it.
    static let indexOptions = IndexOptions(bruteForceBelow: 8, keepsFullPrecision: false)

    /// A second gateway process over the same store, broker lease and snapshot store: what a restart sees
    /// (`dimensions` other than 256: a restart with another embedder).
    func restarted(dimensions: Int = 256, indexOptions: IndexOptions = Harness.indexOptions) -> Gateway {
        Self.makeGateway(
            settings: settings, store: store, leases: leases, audit: audit, metrics: metrics, events: events, snapshots: snapshots,
            dimensions: dimensions, indexOptions: indexOptions, embedder: dimensions == 256 ? embedder : nil)
    }

    /// Attests and leases every tenant key and secret.
    func lease() async -> Bool {
        await leases.acquire(resources: gateway.keyRing.resources, secrets: gateway.keyRing.secretResources)
    }

    func close() async {
        await brokerStore.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Ingests one document of class `internal` into `notes`.
    func ingest(_ id: String, _ text: String, through gateway: Gateway? = nil) async -> Result<IngestResult, GatewayFailure> {
        await (gateway ?? self.gateway).documents.ingest(
            IngestRequest(id: DocumentID(unchecked: id), title: id, text: text, dataClass: "internal"), collection: Self.notes, caller: Self.caller,
            requestID: Gateway.newRequestID())
    }

    /// The document ids a question retrieves from `notes`.
    func retrieved(_ question: String, topK: Int = 3) async -> [String]? {
        await citations(question, topK: topK)?.map(\.documentID.rawValue)
    }

    /// The citations a question gets from `notes` through `gateway` (this harness's by default).
    func citations(_ question: String, topK: Int = 3, through gateway: Gateway? = nil, caller: Caller = Harness.caller) async -> [Citation]? {
        let request = QueryRequest(question: question, dataClass: "internal", model: nil, scope: ["notes"], topK: topK)
        guard case .success(let result) = await (gateway ?? self.gateway).pipeline.query(request, caller: caller, requestID: Gateway.newRequestID())
        else { return nil }
        return result.citations
    }
}
