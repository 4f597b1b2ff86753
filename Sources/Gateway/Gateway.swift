import AccessPolicy
import Authenticate
import Foundation
import KeyLease
import Logging
import Retrieval
import SealgateConfig
import SealgateCore

/// Everything the pipeline needs, built once by the composition root.
public struct GatewayDependencies: Sendable {
    public var configuration: Configuration
    public var store: any DocumentStore
    public var leases: LeaseManager
    public var embedder: any Embedder
    public var embeddingDimensions: Int
    public var models: [ModelProfileID: any ChatModel]
    public var redactors: any RedactorFactory
    public var audit: any AuditSink
    public var metrics: any MetricsRecorder
    public var events: any SecurityEventSink
    public var logger: Logger
    public var now: @Sendable () -> Date

    public init(
        configuration: Configuration, store: any DocumentStore, leases: LeaseManager, embedder: any Embedder,
        embeddingDimensions: Int, models: [ModelProfileID: any ChatModel], redactors: any RedactorFactory,
        audit: any AuditSink, metrics: any MetricsRecorder, events: any SecurityEventSink = NoSecurityEvents(), logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.events = events
        self.configuration = configuration
        self.store = store
        self.leases = leases
        self.embedder = embedder
        self.embeddingDimensions = embeddingDimensions
        self.models = models
        self.redactors = redactors
        self.audit = audit
        self.metrics = metrics
        self.logger = logger
        self.now = now
    }
}

/// The gateway's stages, assembled from the configuration once: who may call (``credentials``), what they may do
/// (``policy``), the keys (``keyRing``), the index (``index``), documents (``documents``), questions (``pipeline``),
/// and the one writer of outcomes (``recorder``).
public final class Gateway: Sendable {
    /// The API keys (SHA-256 only) and the caller each proves.
    public let credentials: CredentialTable<Caller>
    /// The access policy over the configuration's resolved values.
    public let policy: AccessPolicy
    /// Writes every outcome: audit record, metric, event, log line.
    public let recorder: OutcomeRecorder
    /// Leased keys, prepared DEKs and tenant secrets.
    public let keyRing: KeyRing
    /// Decrypted embeddings per tenant.
    public let index: TenantIndex
    /// Ingest, list, delete.
    public let documents: DocumentService
    /// Questions and chat answers.
    public let pipeline: QueryPipeline
    let store: any DocumentStore

    /// Assembles the stages.
    public init(_ deps: GatewayDependencies) {
        let config = deps.configuration
        var entries: [(sha256Hex: String, identity: Caller)] = []
        for tenant in config.tenants {
            for principal in tenant.principals {
                entries.append((principal.apiKeySHA256, Caller(principal: Principal(tenant: tenant.id, id: principal.id), grants: principal.grants)))
            }
        }
        credentials = CredentialTable(entries)
        policy = AccessPolicy(config.policyTable(servedModels: Set(deps.models.keys)))
        recorder = OutcomeRecorder(
            audit: deps.audit, metrics: deps.metrics, events: deps.events, logger: deps.logger, now: deps.now,
            policyDigest: ConfigLoader.policyDigest(config), knownClasses: Set(config.dataClasses.map(\.name.rawValue)),
            knownModels: Set(config.models.map(\.id.rawValue)))
        keyRing = KeyRing(leases: deps.leases, tenants: config.tenants.map(\.id), classes: config.dataClasses.map(\.name), redactors: deps.redactors)
        index = TenantIndex(
            dimensions: deps.embeddingDimensions, idfWeighting: deps.embedder.wantsIDFWeighting, embedderID: deps.embedder.identifier,
            keyRing: keyRing, store: deps.store, recorder: recorder)
        let chunker = Chunker(targetCharacters: config.retrieval.chunkCharacters, overlap: config.retrieval.chunkOverlap)
        documents = DocumentService(
            policy: policy, keyRing: keyRing, index: index, store: deps.store, embedder: deps.embedder, chunker: chunker, recorder: recorder)
        pipeline = QueryPipeline(
            policy: policy, keyRing: keyRing, index: index, store: deps.store, embedder: deps.embedder, models: deps.models,
            redactPromptModels: Set(config.models.filter(\.redactPrompt).map(\.id)), recorder: recorder)
        store = deps.store
    }

    /// Re-wraps DEKs still under an older KEK version (see ``KeyRing/rewrapDEKs(store:recorder:)``).
    @discardableResult
    public func rewrapDEKs() async -> Int { await keyRing.rewrapDEKs(store: store, recorder: recorder) }

    /// A random request id.
    public static func newRequestID() -> String { OutcomeRecorder.newRequestID() }
}

extension Gateway {
    /// Hex SHA-256 of an API key: the only form in which keys are stored.
    public static func hashAPIKey(_ key: String) -> String { CredentialDigest.hex(key) }
}
