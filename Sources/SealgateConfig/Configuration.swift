import Foundation
import SealgateCore

/// The whole gateway configuration (`sealgate.yaml`). Every key is documented in `docs/configuration.md`.
public struct Configuration: Sendable, Codable, Equatable {
    public var server: ServerSettings
    public var lease: LeaseSettings
    public var attestation: AttestationSettings
    public var retrieval: RetrievalSettings
    public var audit: AuditSettings
    public var events: EventSettings
    public var redaction: RedactionSettings
    /// Where documents are kept (`storage:`): SQLite by default, or PostgreSQL.
    public var storage = StorageSettings()
    /// Data classes, lowest sensitivity first: a request at a class may retrieve chunks of that class or lower.
    public var dataClasses: [DataClassRule]
    public var models: [ModelProfile]
    public var tenants: [TenantSettings]

    enum CodingKeys: String, CodingKey {
        case server, lease, attestation, retrieval, models, tenants, audit, events, redaction, storage
        case dataClasses = "data_classes"
    }

    public init(
        server: ServerSettings = .init(), lease: LeaseSettings = .init(), attestation: AttestationSettings = .init(),
        retrieval: RetrievalSettings = .init(), audit: AuditSettings = .init(), dataClasses: [DataClassRule],
        models: [ModelProfile], tenants: [TenantSettings]
    ) {
        self.audit = audit
        self.events = EventSettings()
        self.redaction = RedactionSettings()
        self.server = server
        self.lease = lease
        self.attestation = attestation
        self.retrieval = retrieval
        self.dataClasses = dataClasses
        self.models = models
        self.tenants = tenants
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        server = try c.decodeIfPresent(ServerSettings.self, forKey: .server) ?? .init()
        lease = try c.decodeIfPresent(LeaseSettings.self, forKey: .lease) ?? .init()
        attestation = try c.decodeIfPresent(AttestationSettings.self, forKey: .attestation) ?? .init()
        retrieval = try c.decodeIfPresent(RetrievalSettings.self, forKey: .retrieval) ?? .init()
        audit = try c.decodeIfPresent(AuditSettings.self, forKey: .audit) ?? .init()
        events = try c.decodeIfPresent(EventSettings.self, forKey: .events) ?? .init()
        redaction = try c.decodeIfPresent(RedactionSettings.self, forKey: .redaction) ?? .init()
        storage = try c.decodeIfPresent(StorageSettings.self, forKey: .storage) ?? .init()
        dataClasses = try c.decodeIfPresent([DataClassRule].self, forKey: .dataClasses) ?? Configuration.defaultDataClasses
        models = try c.decodeIfPresent([ModelProfile].self, forKey: .models) ?? Configuration.defaultModels
        tenants = try c.decodeIfPresent([TenantSettings].self, forKey: .tenants) ?? []
    }

    /// The embedded default: four data classes, the built-in model, no tenants.
    public static var embeddedDefault: Configuration {
        Configuration(dataClasses: defaultDataClasses, models: defaultModels, tenants: [])
    }

    /// `public`, `internal`, `confidential`, `restricted`, all answered by the built-in model.
    public static let defaultDataClasses: [DataClassRule] = [
        DataClassRule(name: DataClass(unchecked: "public"), models: [ModelProfileID(unchecked: "extractive")], redactionProfile: "basic", allowMockEvidence: true),
        DataClassRule(name: DataClass(unchecked: "internal"), models: [ModelProfileID(unchecked: "extractive")], redactionProfile: "basic", allowMockEvidence: true),
        DataClassRule(name: DataClass(unchecked: "confidential"), models: [ModelProfileID(unchecked: "extractive")], redactionProfile: "all", allowMockEvidence: true),
        DataClassRule(name: DataClass(unchecked: "restricted"), models: [ModelProfileID(unchecked: "extractive")], redactionProfile: "all", allowMockEvidence: true),
    ]

    /// The built-in extractive model.
    public static let defaultModels: [ModelProfile] = [
        ModelProfile(id: ModelProfileID(unchecked: "extractive"), type: .builtin)
    ]

    /// The rule of a data class.
    public func dataClass(_ name: DataClass) -> DataClassRule? { dataClasses.first { $0.name == name } }

    /// The rank of a data class (0 = least sensitive).
    public func rank(of name: DataClass) -> Int? { dataClasses.firstIndex { $0.name == name } }

    /// The model profile with this id.
    public func model(_ id: ModelProfileID) -> ModelProfile? { models.first { $0.id == id } }

    /// The tenant with this id.
    public func tenant(_ id: TenantID) -> TenantSettings? { tenants.first { $0.id == id } }
}

/// Where and how the HTTP server listens.
public struct ServerSettings: Sendable, Codable, Equatable {
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// Largest accepted request body; larger bodies get 413.
    public var bodyLimitBytes: Int = 1 << 20
    /// `attested`: serve TLS with an in-TEE key certified by the broker's workload CA; `nil`: plain HTTP, or TLS
    /// from the operator's `--tls-cert`/`--tls-key` files.
    public var tls: TLSMode?
    /// The names the embedded broker enrols for the gateway's certificate (default: localhost, 127.0.0.1, ::1 and
    /// `host` when it is not a wildcard). A standalone broker's enrolment decides instead.
    public var tlsNames: [String] = []

    /// How the gateway's listener gets its TLS identity.
    public enum TLSMode: String, Sendable, Codable, Equatable {
        case attested
    }

    enum CodingKeys: String, CodingKey {
        case host, port, tls
        case bodyLimitBytes = "body_limit_bytes"
        case tlsNames = "tls_names"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        host = try c.decodeIfPresent(String.self, forKey: .host) ?? host
        port = try c.decodeIfPresent(Int.self, forKey: .port) ?? port
        bodyLimitBytes = try c.decodeIfPresent(Int.self, forKey: .bodyLimitBytes) ?? bodyLimitBytes
        tls = try c.decodeIfPresent(TLSMode.self, forKey: .tls)
        tlsNames = try c.decodeIfPresent([String].self, forKey: .tlsNames) ?? []
    }
}

/// Key lease timing.
public struct LeaseSettings: Sendable, Codable, Equatable {
    /// How long released keys stay in memory before they must be renewed.
    public var ttlSeconds: Double = 300

    enum CodingKeys: String, CodingKey { case ttlSeconds = "ttl_seconds" }
    public init() {}
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        ttlSeconds = try c.decodeIfPresent(Double.self, forKey: .ttlSeconds) ?? ttlSeconds
    }
}

/// How the gateway attests and which reference values the in-process broker uses.
public struct AttestationSettings: Sendable, Codable, Equatable {
    /// How the gateway produces evidence: `mock` (development key) or `configfs-tsm` (SEV-SNP/TDX guests).
    public var tee: String = "mock"
    /// A reference-values file for the in-process broker. When absent, the broker enrols the measurement of
    /// the binary it runs in (development only; it still checks evidence against it).
    public var referenceValues: String?

    enum CodingKeys: String, CodingKey {
        case tee
        case referenceValues = "reference_values"
    }
    public init() {}
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tee = try c.decodeIfPresent(String.self, forKey: .tee) ?? tee
        referenceValues = try c.decodeIfPresent(String.self, forKey: .referenceValues)
    }
}

/// Chunking, embedding and search settings.
public struct RetrievalSettings: Sendable, Codable, Equatable {
    public var chunkCharacters: Int = 800
    public var chunkOverlap: Int = 160
    public var topK: Int = 5
    /// Largest accepted document text in bytes.
    public var maxDocumentBytes: Int = 1 << 20
    /// The most chunks one tenant's documents may hold (`nil`: no limit). Every tenant's chunks sit in the gateway's
    /// memory once its index is built (about 2 KB each with the built-in embedder): without a limit, one tenant's
    /// writer can exhaust the memory every tenant's questions need.
    public var maxChunksPerTenant: Int?
    public var embedder: EmbedderSettings = .init()
    /// How wide the approximate index searches: `auto` (64, growing with the graph's size) or a fixed width.
    public var efSearch: SearchWidth = .auto

    enum CodingKeys: String, CodingKey {
        case embedder
        case efSearch = "ef_search"
        case chunkCharacters = "chunk_characters"
        case chunkOverlap = "chunk_overlap"
        case topK = "top_k"
        case maxDocumentBytes = "max_document_bytes"
        case maxChunksPerTenant = "max_chunks_per_tenant"
    }
    public init() {}
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        chunkCharacters = try c.decodeIfPresent(Int.self, forKey: .chunkCharacters) ?? chunkCharacters
        chunkOverlap = try c.decodeIfPresent(Int.self, forKey: .chunkOverlap) ?? chunkOverlap
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? topK
        maxDocumentBytes = try c.decodeIfPresent(Int.self, forKey: .maxDocumentBytes) ?? maxDocumentBytes
        maxChunksPerTenant = try c.decodeIfPresent(Int.self, forKey: .maxChunksPerTenant)
        embedder = try c.decodeIfPresent(EmbedderSettings.self, forKey: .embedder) ?? embedder
        efSearch = try c.decodeIfPresent(SearchWidth.self, forKey: .efSearch) ?? efSearch
    }
}

/// `retrieval.ef_search`: `auto`, or a fixed number of candidates the index examines per query.
public enum SearchWidth: Sendable, Codable, Equatable {
    /// 64 up to 131,072 chunks in a sub-index, then growing with the square root of its size (docs/retrieval.md).
    case auto
    /// This width whatever the index's size.
    case fixed(Int)

    /// Decodes `auto` or an integer; anything else is a decoding error naming the accepted forms.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int.self) {
            self = .fixed(n)
        } else if let word = try? c.decode(String.self), word == "auto" {
            self = .auto
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected `auto` or an integer")
        }
    }

    /// Encodes `auto` or the integer.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .auto: try c.encode("auto")
        case .fixed(let n): try c.encode(n)
        }
    }
}

/// The embedder: `builtin` (hashed features), `minilm` (all-MiniLM-L6-v2 in process, from `artifact`) or `openai`
/// (an OpenAI-compatible `/v1/embeddings`).
public struct EmbedderSettings: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case builtin, minilm, openai }
    public var type: Kind = .builtin
    /// For `minilm`: the sealed model directory (`sealgate model seal`), or — with ``artifactPlain`` — a plain directory
    /// holding `model.safetensors` and `vocab.txt`.
    public var artifact: String?
    /// For a sealed `minilm` artifact: the PEM public key its OMS signature must verify under.
    public var signerKey: String?
    /// For a sealed `minilm` artifact: the model key resource `<scope>/model/<name>` it must be sealed for (nil: the one
    /// its manifest names).
    public var keyResource: String?
    /// Accept a plain (unsealed, unsigned) `minilm` directory: weaker, the weights are neither verified nor protected.
    public var artifactPlain: Bool {
        get { plainArtifact ?? false }
        set { plainArtifact = newValue ? true : nil }
    }
    /// `artifact_plain` as written; absent from the encoding when false, so the policy digest of configurations
    /// without it is unchanged.
    var plainArtifact: Bool?
    public var dimensions: Int = 1024
    public var baseURL: String?
    public var model: String?
    /// The environment variable holding the upstream API key (never the key itself).
    public var apiKeyEnv: String?
    public var timeoutSeconds: Double = 30
    /// Data classes whose text may be sent to this (remote) embedder. Ignored for `builtin`.
    public var allowedDataClasses: [DataClass] = []

    enum CodingKeys: String, CodingKey {
        case type, dimensions, model, artifact
        case signerKey = "signer_key"
        case keyResource = "key_resource"
        case plainArtifact = "artifact_plain"
        case baseURL = "base_url"
        case apiKeyEnv = "api_key_env"
        case timeoutSeconds = "timeout_seconds"
        case allowedDataClasses = "allowed_data_classes"
    }
    public init() {}
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeIfPresent(Kind.self, forKey: .type) ?? type
        dimensions = try c.decodeIfPresent(Int.self, forKey: .dimensions) ?? dimensions
        artifact = try c.decodeIfPresent(String.self, forKey: .artifact)
        signerKey = try c.decodeIfPresent(String.self, forKey: .signerKey)
        keyResource = try c.decodeIfPresent(String.self, forKey: .keyResource)
        plainArtifact = try c.decodeIfPresent(Bool.self, forKey: .plainArtifact) == true ? true : nil
        baseURL = try c.decodeIfPresent(String.self, forKey: .baseURL)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        apiKeyEnv = try c.decodeIfPresent(String.self, forKey: .apiKeyEnv)
        timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? timeoutSeconds
        allowedDataClasses = try c.decodeIfPresent([DataClass].self, forKey: .allowedDataClasses) ?? []
    }
}

/// The tamper-evident audit log.
public struct AuditSettings: Sendable, Codable, Equatable {
    /// The checkpoint origin and signing key name; unique per log.
    public var origin: String = "sealgate.local/audit"
    /// Sign a checkpoint after this many new records.
    public var checkpointEveryRecords: Int = 1000
    /// Sign a checkpoint at least this often while records arrive.
    public var checkpointIntervalSeconds: Double = 10
    /// SHA-256 (hex) of the bearer keys that may read entries, tiles and proofs (`/audit/...`).
    public var auditorAPIKeySHA256: [String] = []
    /// Witnesses every new checkpoint is submitted to (C2SP tlog-witness); none by default.
    public var witnesses: [AuditWitness] = []
    /// `audit.witness_quorum` as written (`nil` when absent).
    public var witnessQuorumSet: Int?
    /// How many witness cosignatures make a checkpoint witnessed: `audit.witness_quorum`, default 1.
    public var witnessQuorum: Int { witnessQuorumSet ?? 1 }
    /// Deadline of one submission to one witness.
    public var witnessTimeoutSeconds: Double = 5

    enum CodingKeys: String, CodingKey {
        case witnesses
        case witnessQuorumSet = "witness_quorum"
        case witnessTimeoutSeconds = "witness_timeout_seconds"
        case origin
        case checkpointEveryRecords = "checkpoint_every_records"
        case checkpointIntervalSeconds = "checkpoint_interval_seconds"
        case auditorAPIKeySHA256 = "auditor_api_key_sha256"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        origin = try c.decodeIfPresent(String.self, forKey: .origin) ?? origin
        checkpointEveryRecords = try c.decodeIfPresent(Int.self, forKey: .checkpointEveryRecords) ?? checkpointEveryRecords
        checkpointIntervalSeconds = try c.decodeIfPresent(Double.self, forKey: .checkpointIntervalSeconds) ?? checkpointIntervalSeconds
        auditorAPIKeySHA256 = try c.decodeIfPresent([String].self, forKey: .auditorAPIKeySHA256) ?? []
        witnesses = try c.decodeIfPresent([AuditWitness].self, forKey: .witnesses) ?? []
        witnessQuorumSet = try c.decodeIfPresent(Int.self, forKey: .witnessQuorumSet)
        witnessTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .witnessTimeoutSeconds) ?? witnessTimeoutSeconds
    }
}

/// The security event stream (CloudEvents 1.0 JSON lines).
public struct EventSettings: Sendable, Codable, Equatable {
    public enum Sink: String, Sendable, Codable { case none, stdout, file, webhook }
    /// Where events go; default a file in the data directory.
    public var sink: Sink = .file
    /// For `file`: the path (default `<data-dir>/security-events.jsonl`).
    public var path: String?
    /// For `webhook`: the URL events are POSTed to.
    public var url: String?
    /// For `webhook`: events held while the receiver is unreachable; the oldest are dropped beyond it.
    public var queueCapacity: Int = 10_000

    enum CodingKeys: String, CodingKey {
        case sink, path, url
        case queueCapacity = "queue_capacity"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sink = try c.decodeIfPresent(Sink.self, forKey: .sink) ?? sink
        path = try c.decodeIfPresent(String.self, forKey: .path)
        url = try c.decodeIfPresent(String.self, forKey: .url)
        queueCapacity = try c.decodeIfPresent(Int.self, forKey: .queueCapacity) ?? queueCapacity
    }
}

/// Redaction profiles and tenant detectors.
public struct RedactionSettings: Sendable, Codable, Equatable {
    /// Streaming holdback in Unicode scalars.
    public var holdback: Int = 64
    /// Profiles beyond the built-in `none`, `basic` and `all`.
    public var profiles: [RedactionProfileSettings] = []
    /// Per-tenant dictionaries and patterns.
    public var tenants: [TenantRedactionSettings] = []

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        holdback = try c.decodeIfPresent(Int.self, forKey: .holdback) ?? holdback
        profiles = try c.decodeIfPresent([RedactionProfileSettings].self, forKey: .profiles) ?? []
        tenants = try c.decodeIfPresent([TenantRedactionSettings].self, forKey: .tenants) ?? []
    }
}

/// A profile: an action per label (`mask`, `partial_mask`, `hash_token`, `drop`).
public struct RedactionProfileSettings: Sendable, Codable, Equatable {
    public var name: String
    public var actions: [String: String]
}

/// One tenant's extra detectors.
public struct TenantRedactionSettings: Sendable, Codable, Equatable {
    public struct Dictionary: Sendable, Codable, Equatable {
        public var label: String
        public var terms: [String]
    }
    public struct Pattern: Sendable, Codable, Equatable {
        public var label: String
        public var pattern: String
    }
    public var tenant: TenantID
    public var dictionaries: [Dictionary]
    public var patterns: [Pattern]

    enum CodingKeys: String, CodingKey { case tenant, dictionaries, patterns }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tenant = try c.decode(TenantID.self, forKey: .tenant)
        dictionaries = try c.decodeIfPresent([Dictionary].self, forKey: .dictionaries) ?? []
        patterns = try c.decodeIfPresent([Pattern].self, forKey: .patterns) ?? []
    }
}
