import SealgateCore

/// What a principal is granted. `*` grants every collection (of its own tenant) or every class.
public struct Grants: Sendable, Hashable {
    /// Collections it may read.
    public var read: [String]
    /// Collections it may write.
    public var write: [String]
    /// Data classes it may use.
    public var dataClasses: [String]

    /// Creates grants.
    public init(read: [String], write: [String], dataClasses: [String]) {
        self.read = read
        self.write = write
        self.dataClasses = dataClasses
    }

    /// Whether it may read `collection`.
    public func mayRead(_ collection: CollectionName) -> Bool { read.contains("*") || read.contains(collection.rawValue) }
    /// Whether it may write `collection`.
    public func mayWrite(_ collection: CollectionName) -> Bool { write.contains("*") || write.contains(collection.rawValue) }
    /// Whether it may use `dataClass`.
    public func mayUse(_ dataClass: DataClass) -> Bool { dataClasses.contains("*") || dataClasses.contains(dataClass.rawValue) }
}

/// The rules of one data class, as the policy needs them.
public struct ClassRule: Sendable, Hashable {
    /// The class.
    public var name: DataClass
    /// Model profiles allowed to see its plaintext, the first being the default.
    public var models: [ModelProfileID]
    /// The redaction profile applied at this class.
    public var redactionProfile: String
    /// Whether passages of this class may reach only attested models (`require_attested_models`).
    public var requireAttestedModels: Bool

    /// Creates a class rule.
    public init(name: DataClass, models: [ModelProfileID], redactionProfile: String, requireAttestedModels: Bool = false) {
        self.name = name
        self.models = models
        self.redactionProfile = redactionProfile
        self.requireAttestedModels = requireAttestedModels
    }
}

/// The resolved policy: everything the decision reads, and nothing it would have to fetch.
public struct PolicyTable: Sendable {
    /// The data classes from least to most sensitive: a request at one class may read chunks of it and below.
    public var classes: [ClassRule]
    /// Model profiles that are defined and have a model behind them.
    public var models: Set<ModelProfileID>
    /// Passages retrieved when the request does not say.
    public var defaultTopK: Int
    /// Passages retrieved at most.
    public var maxTopK: Int
    /// The largest document accepted, in UTF-8 bytes.
    public var maxDocumentBytes: Int
    /// The most chunks one tenant's documents may hold, or `nil` for no limit (`retrieval.max_chunks_per_tenant`).
    public var maxChunksPerTenant: Int?
    /// The classes a remote embedder may see; `nil` when the embedder runs inside the boundary.
    public var remoteEmbedderClasses: Set<DataClass>?
    /// Model profiles whose plaintext stays inside attested TEEs: the built-in model (inside the gateway) and
    /// upstreams reached over attested TLS.
    public var attestedModels: Set<ModelProfileID>

    /// Creates a table.
    public init(
        classes: [ClassRule], models: Set<ModelProfileID>, defaultTopK: Int, maxTopK: Int = 50, maxDocumentBytes: Int,
        maxChunksPerTenant: Int? = nil, remoteEmbedderClasses: Set<DataClass>?, attestedModels: Set<ModelProfileID> = []
    ) {
        self.maxChunksPerTenant = maxChunksPerTenant
        self.attestedModels = attestedModels
        self.classes = classes
        self.models = models
        self.defaultTopK = defaultTopK
        self.maxTopK = maxTopK
        self.maxDocumentBytes = maxDocumentBytes
        self.remoteEmbedderClasses = remoteEmbedderClasses
    }

    /// The rule of a class, if defined.
    public func rule(_ name: DataClass) -> ClassRule? { classes.first { $0.name == name } }

    /// The model profiles a principal may use at some class it may use, in class order.
    public func models(for grants: Grants) -> [ModelProfileID] {
        var out: [ModelProfileID] = []
        for rule in classes where grants.mayUse(rule.name) {
            for model in rule.models where !out.contains(model) { out.append(model) }
        }
        return out
    }
}

/// An authenticated caller: who it is and what it is granted. The identity the authenticator puts in the
/// request context and every gateway stage after it reads.
public struct Caller: Sendable, Hashable {
    /// The tenant and principal the credential belongs to.
    public let principal: Principal
    /// What the principal may do.
    public let grants: Grants

    /// Creates a caller.
    public init(principal: Principal, grants: Grants) {
        self.principal = principal
        self.grants = grants
    }
}
