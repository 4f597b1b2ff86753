import Foundation

/// One document's metadata row as the store holds it: ciphertext and non-sensitive fields only.
public struct StoredDocument: Sendable, Equatable {
    public let tenant: TenantID
    public let collection: CollectionName
    public let id: DocumentID
    public let dataClass: DataClass
    /// The KEK version current when the document was stored; the AAD of its title, metadata and chunks binds it.
    public let kekVersion: Int
    /// The KEK version that wraps ``wrappedDEK`` now: equal to ``kekVersion`` until a rotation re-wraps the DEK.
    public let dekVersion: Int
    /// The document's DEK sealed under the tenant × class KEK version ``dekVersion``.
    public let wrappedDEK: Data
    /// The title, sealed under the DEK.
    public let sealedTitle: Data
    /// The metadata JSON, sealed under the DEK.
    public let sealedMetadata: Data
    /// How many chunks the document has.
    public let chunkCount: Int
    /// The embedder that produced the chunk embeddings.
    public let embedder: String
    /// When it was stored.
    public let createdAt: Date

    public init(
        tenant: TenantID, collection: CollectionName, id: DocumentID, dataClass: DataClass, kekVersion: Int,
        dekVersion: Int? = nil, wrappedDEK: Data, sealedTitle: Data, sealedMetadata: Data, chunkCount: Int, embedder: String,
        createdAt: Date
    ) {
        self.tenant = tenant
        self.collection = collection
        self.id = id
        self.dataClass = dataClass
        self.kekVersion = kekVersion
        self.dekVersion = dekVersion ?? kekVersion
        self.wrappedDEK = wrappedDEK
        self.sealedTitle = sealedTitle
        self.sealedMetadata = sealedMetadata
        self.chunkCount = chunkCount
        self.embedder = embedder
        self.createdAt = createdAt
    }
}

/// One chunk as the store holds it: text and embedding sealed, position in clear.
public struct StoredChunk: Sendable, Equatable {
    public let tenant: TenantID
    public let collection: CollectionName
    public let documentID: DocumentID
    public let index: Int
    public let sealedText: Data
    public let sealedEmbedding: Data

    public init(
        tenant: TenantID, collection: CollectionName, documentID: DocumentID, index: Int, sealedText: Data,
        sealedEmbedding: Data
    ) {
        self.tenant = tenant
        self.collection = collection
        self.documentID = documentID
        self.index = index
        self.sealedText = sealedText
        self.sealedEmbedding = sealedEmbedding
    }
}

/// Persistent storage of sealed documents and chunks. Implementations never see plaintext.
public protocol DocumentStore: Sendable {
    /// Stores a document and its chunks atomically, replacing a document with the same id only if its data class is
    /// in `classes` (`nil`: any). A document of another class is left as it is and the call throws (nothing stored):
    /// the check and the replacement are one step, so a document a writer may not touch cannot slip in between.
    func put(_ document: StoredDocument, chunks: [StoredChunk], replacingOnly classes: Set<DataClass>?) async throws
    /// One document's row, if it exists.
    func document(tenant: TenantID, collection: CollectionName, id: DocumentID) async throws -> StoredDocument?
    /// All documents of a collection, ordered by id.
    func documents(tenant: TenantID, collection: CollectionName) async throws -> [StoredDocument]
    /// All documents of a tenant, across collections.
    func documents(tenant: TenantID) async throws -> [StoredDocument]
    /// All chunks of a tenant, ordered by collection, document and index.
    func chunks(tenant: TenantID) async throws -> [StoredChunk]
    /// The chunks of one document, ordered by index.
    func chunks(tenant: TenantID, collection: CollectionName, documentID: DocumentID) async throws -> [StoredChunk]
    /// One chunk of a document, if it exists.
    func chunk(tenant: TenantID, collection: CollectionName, documentID: DocumentID, index: Int) async throws -> StoredChunk?
    /// Many chunks with their documents' rows, read together (one statement per batch where the backend allows):
    /// the locations that exist, each once; a location whose chunk or document is gone is absent.
    func chunks(tenant: TenantID, at locations: [ChunkLocation]) async throws -> [ChunkLocation: ChunkWithDocument]
    /// Deletes a document and its chunks if its data class is in `classes` (`nil`: any), in one step; returns whether
    /// such a document existed.
    func delete(tenant: TenantID, collection: CollectionName, id: DocumentID, onlyOf classes: Set<DataClass>?) async throws -> Bool
    /// The chunks the tenant's documents hold, summed over its documents' rows (no chunk is read).
    func chunkCount(tenant: TenantID) async throws -> Int
    /// Replaces a document's wrapped DEK if it is still `replacing`, wrapped under `from` (compare-and-set on both:
    /// a document re-ingested under the same id since it was read has a DEK of its own, which a version check alone
    /// would overwrite with the old document's); returns whether it was.
    func rewrap(
        tenant: TenantID, collection: CollectionName, id: DocumentID, from: Int, replacing: Data, to: Int, wrappedDEK: Data
    ) async throws -> Bool
}

/// Turns text into vectors.
public protocol Embedder: Sendable {
    /// A stable identifier of the embedder and its parameters; vectors of different embedders never mix.
    var identifier: String { get }
    /// Whether the index should weight dimensions by inverse document frequency (sparse hashed features).
    var wantsIDFWeighting: Bool { get }
    /// Embeds each text.
    /// - Throws: ``SealgateError`` with ``ReasonCode/embedderUnavailable`` when a remote embedder fails.
    func embed(_ texts: [String]) async throws -> [[Float]]
}

/// Where a passage came from.
public struct Citation: Sendable, Hashable, Codable {
    public let collection: CollectionName
    public let documentID: DocumentID
    public let chunkIndex: Int
    public let score: Double

    public init(collection: CollectionName, documentID: DocumentID, chunkIndex: Int, score: Double) {
        self.collection = collection
        self.documentID = documentID
        self.chunkIndex = chunkIndex
        self.score = score
    }
}

/// A decrypted passage handed to a model, with its citation.
public struct ContextPassage: Sendable {
    public let citation: Citation
    public let text: String

    public init(citation: Citation, text: String) {
        self.citation = citation
        self.text = text
    }
}

/// What a model is asked.
public struct ModelPrompt: Sendable {
    /// The user's question.
    public let question: String
    /// Retrieved passages, best first.
    public let passages: [ContextPassage]
    /// An upper bound on the answer's length in tokens, when the caller gave one.
    public let maxTokens: Int?

    public init(question: String, passages: [ContextPassage], maxTokens: Int? = nil) {
        self.question = question
        self.passages = passages
        self.maxTokens = maxTokens
    }
}

/// A model's answer.
public struct ModelAnswer: Sendable {
    public let text: String
    /// The passages the answer rests on.
    public let citations: [Citation]

    public init(text: String, citations: [Citation]) {
        self.text = text
        self.citations = citations
    }
}

/// A chat model behind a profile.
public protocol ChatModel: Sendable {
    /// The model name reported to clients.
    var modelName: String { get }
    /// Answers in one piece.
    /// - Throws: ``SealgateError`` with ``ReasonCode/modelUnavailable`` on upstream failure or timeout.
    func answer(_ prompt: ModelPrompt) async throws -> ModelAnswer
    /// Answers as a stream of text deltas.
    func stream(_ prompt: ModelPrompt) -> AsyncThrowingStream<String, any Error>
}

/// The result of redacting text.
public struct RedactionResult: Sendable, Equatable {
    /// The redacted text.
    public let text: String
    /// How many spans of each label were redacted.
    public let counts: [String: Int]

    public init(text: String, counts: [String: Int]) {
        self.text = text
        self.counts = counts
    }
}

/// A redaction session over a stream of text deltas; holds back only what could still become a match.
public protocol StreamingRedaction: Sendable {
    /// Feeds a delta; returns the text that is safe to emit now (possibly empty).
    mutating func feed(_ delta: String) -> String
    /// Ends the stream; returns the redacted remainder.
    mutating func finish() -> String
    /// Counts so far.
    var counts: [String: Int] { get }
}

/// Redacts model output according to a named profile.
public protocol OutputRedactor: Sendable {
    /// Whether a profile of this name exists.
    func hasProfile(_ name: String) -> Bool
    /// Redacts a whole text.
    func redact(_ text: String, profile: String) -> RedactionResult
    /// Starts a streaming redaction.
    func streaming(profile: String) -> any StreamingRedaction
}

/// Builds the redactor of one tenant: its own dictionaries and patterns, and a per-tenant key for hash tokens.
public protocol RedactorFactory: Sendable {
    /// Whether a profile of this name exists (built-in or configured).
    func hasProfile(_ name: String) -> Bool
    /// The tenant's redactor; `tokenKey` keys `hash_token` actions (without it they mask).
    func redactor(tenant: TenantID, tokenKey: Data?) -> any OutputRedactor
}

/// Records counters; the server maps them to Prometheus.
public protocol MetricsRecorder: Sendable {
    /// Adds `amount` to a counter.
    func increment(_ name: String, labels: [(String, String)], by amount: Int)
}

extension MetricsRecorder {
    /// Adds one to a counter.
    public func increment(_ name: String, labels: [(String, String)]) {
        increment(name, labels: labels, by: 1)
    }
}

/// A recorder that drops everything (tools and tests that do not care).
public struct NoMetrics: MetricsRecorder {
    public init() {}
    public func increment(_ name: String, labels: [(String, String)], by amount: Int) {}
}

extension DocumentStore {
    /// Stores a document and its chunks atomically, replacing any document with the same id.
    public func put(_ document: StoredDocument, chunks: [StoredChunk]) async throws {
        try await put(document, chunks: chunks, replacingOnly: nil)
    }

    /// Deletes a document and its chunks, whatever its class; returns whether it existed.
    public func delete(tenant: TenantID, collection: CollectionName, id: DocumentID) async throws -> Bool {
        try await delete(tenant: tenant, collection: collection, id: id, onlyOf: nil)
    }
}
