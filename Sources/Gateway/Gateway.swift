import AccessPolicy
import Authenticate
import Foundation
import KeyLease
import Logging
import Retrieval
import SealgateCore

/// The configuration as the gateway's stages read it: resolved values, not the YAML configuration types (the
/// composition root resolves them, `GatewaySettings(configuration:servedModels:)` in `SealgateServer`).
public struct GatewaySettings: Sendable {
    /// Every tenant and the callers its credentials prove: `(hex SHA-256 of the key, caller)`.
    public var tenants: [(id: TenantID, credentials: [(sha256Hex: String, caller: Caller)])]
    /// The access policy's table (classes in rank order, served models, limits).
    public var policy: PolicyTable
    /// Digest of the effective configuration, on every audit record.
    public var policyDigest: String
    /// Every configured model profile (defined, whether or not served): other names are recorded as `unknown`.
    public var knownModels: Set<ModelProfileID>
    /// Model profiles whose prompts are redacted with the class's profile first (`redact_prompt`).
    public var redactPromptModels: Set<ModelProfileID>
    /// Chunk size and overlap, in characters.
    public var chunkCharacters: Int
    public var chunkOverlap: Int
    /// How each model profile is reached (`in_gateway`, `attested`, `unattested`, `insecure_unattested`), for the
    /// audit records of the answers it gives.
    public var modelReach: [ModelProfileID: String] = [:]
    /// The model digest (`sha256:<hex>`) each attested profile pins: its upstream's workload certificate must carry it,
    /// and the audit records of its answers name it.
    public var modelDigests: [ModelProfileID: String] = [:]
    /// The OMS manifest digest of the sealed embedder artifact the gateway loaded, for the audit records of answers.
    public var embedderDigest: String?

    /// Creates settings.
    public init(
        tenants: [(id: TenantID, credentials: [(sha256Hex: String, caller: Caller)])], policy: PolicyTable, policyDigest: String,
        knownModels: Set<ModelProfileID>, redactPromptModels: Set<ModelProfileID>, chunkCharacters: Int, chunkOverlap: Int
    ) {
        self.tenants = tenants
        self.policy = policy
        self.policyDigest = policyDigest
        self.knownModels = knownModels
        self.redactPromptModels = redactPromptModels
        self.chunkCharacters = chunkCharacters
        self.chunkOverlap = chunkOverlap
    }
}

/// Everything the pipeline needs, built once by the composition root.
public struct GatewayDependencies: Sendable {
    public var settings: GatewaySettings
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
    /// Where sealed index snapshots are kept (`nil`: none; every index build decrypts every embedding).
    public var snapshots: (any IndexSnapshotStore)?
    /// How the index is built and searched (the gateway's default keeps no full-precision vectors in memory).
    public var indexOptions: IndexOptions = .sealed

    public init(
        settings: GatewaySettings, store: any DocumentStore, leases: LeaseManager, embedder: any Embedder,
        embeddingDimensions: Int, models: [ModelProfileID: any ChatModel], redactors: any RedactorFactory,
        audit: any AuditSink, metrics: any MetricsRecorder, events: any SecurityEventSink = NoSecurityEvents(), logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.events = events
        self.settings = settings
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

/// The gateway's stages, assembled from resolved settings once: who may call (``credentials``), what they may do
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
        let settings = deps.settings
        credentials = CredentialTable(settings.tenants.flatMap { $0.credentials.map { ($0.sha256Hex, $0.caller) } })
        policy = AccessPolicy(settings.policy)
        recorder = OutcomeRecorder(
            audit: deps.audit, metrics: deps.metrics, events: deps.events, logger: deps.logger, now: deps.now,
            policyDigest: settings.policyDigest, knownClasses: Set(settings.policy.classes.map(\.name.rawValue)),
            knownModels: Set(settings.knownModels.map(\.rawValue)))
        keyRing = KeyRing(leases: deps.leases, tenants: settings.tenants.map(\.id), classes: settings.policy.classes.map(\.name), redactors: deps.redactors)
        index = TenantIndex(
            dimensions: deps.embeddingDimensions, idfWeighting: deps.embedder.wantsIDFWeighting, embedderID: deps.embedder.identifier,
            keyRing: keyRing, store: deps.store, recorder: recorder, snapshots: deps.snapshots, options: deps.indexOptions)
        let chunker = Chunker(targetCharacters: settings.chunkCharacters, overlap: settings.chunkOverlap)
        documents = DocumentService(
            policy: policy, keyRing: keyRing, index: index, store: deps.store, embedder: deps.embedder, chunker: chunker, recorder: recorder)
        pipeline = QueryPipeline(
            policy: policy, keyRing: keyRing, index: index, store: deps.store, embedder: deps.embedder, models: deps.models,
            redactPromptModels: settings.redactPromptModels, modelReach: settings.modelReach,
            modelDigests: settings.modelDigests, embedderDigest: settings.embedderDigest, recorder: recorder)
        store = deps.store
    }

    /// Re-wraps DEKs still under an older KEK version (see ``KeyRing/rewrapDEKs(store:recorder:proceed:)``), and the
    /// DEKs of sealed index snapshots with them (``TenantIndex/rewrapSnapshots()``) unless `proceed` said stop; both
    /// only for classes whose lease holds an older version. Returns the documents re-wrapped.
    @discardableResult
    public func rewrapDEKs(proceed: @Sendable () async -> Bool = { true }) async -> Int {
        let documents = await keyRing.rewrapDEKs(store: store, recorder: recorder, proceed: proceed)
        if await proceed() { await index.rewrapSnapshots() }
        return documents
    }

    /// A random request id.
    public static func newRequestID() -> String { OutcomeRecorder.newRequestID() }
}

extension Gateway {
    /// Hex SHA-256 of an API key: the only form in which keys are stored.
    public static func hashAPIKey(_ key: String) -> String { CredentialDigest.hex(key) }
}
