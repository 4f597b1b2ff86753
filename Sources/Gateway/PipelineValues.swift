import Foundation
import SealgateCore
import Synchronization

/// A question, as `/v1/query` or `/v1/chat/completions` receive it.
public struct QueryRequest: Sendable {
    public var question: String
    public var dataClass: String?
    public var model: String?
    public var scope: [String]
    public var topK: Int?
    public var maxTokens: Int?

    public init(question: String, dataClass: String?, model: String?, scope: [String], topK: Int? = nil, maxTokens: Int? = nil) {
        self.question = question
        self.dataClass = dataClass
        self.model = model
        self.scope = scope
        self.topK = topK
        self.maxTokens = maxTokens
    }
}

/// An answered question.
public struct QueryResult: Sendable {
    public let answer: String
    public let model: ModelProfileID
    public let citations: [Citation]
    /// Every passage retrieval handed to the model, best first (citations only, no text): what was considered,
    /// where `citations` is what the model says it used.
    public let retrieved: [Citation]
    public let redactions: [String: Int]
    public let auditIndex: UInt64
}

/// A streamed answer: the audit index is known before the first byte; redacted deltas follow.
public struct StreamedAnswer: Sendable {
    public let model: ModelProfileID
    public let citations: [Citation]
    public let auditIndex: UInt64
    public let deltas: AsyncThrowingStream<String, any Error>
    /// The index of the stream's closing `chat_completion` record, set before `deltas` finishes (so a consumer
    /// that has read `deltas` to its end finds it); `nil` when that record could not be written.
    public let completion: StreamCompletion
}

/// Where a stream's closing audit record index is left for the consumer of its deltas.
public final class StreamCompletion: Sendable {
    private let value = Mutex<UInt64?>(nil)

    /// Creates an empty slot.
    public init() {}

    /// The closing record's index, once the deltas have finished.
    public var auditIndex: UInt64? { value.withLock { $0 } }

    func set(_ index: UInt64?) { value.withLock { $0 = index } }
}

/// A document to ingest, as the API receives it.
public struct IngestRequest: Sendable {
    public var id: DocumentID?
    public var title: String
    public var text: String
    public var dataClass: String
    public var metadata: [String: String]

    public init(id: DocumentID?, title: String, text: String, dataClass: String, metadata: [String: String] = [:]) {
        self.id = id
        self.title = title
        self.text = text
        self.dataClass = dataClass
        self.metadata = metadata
    }
}

/// What ingestion stored.
public struct IngestResult: Sendable {
    public let id: DocumentID
    public let collection: CollectionName
    public let dataClass: DataClass
    public let chunks: Int
    public let kekVersion: Int
    public let auditIndex: UInt64
}

/// A document as listed (title decrypted in memory).
public struct DocumentSummary: Sendable {
    public let id: DocumentID
    public let title: String
    public let dataClass: DataClass
    public let chunks: Int
    public let createdAt: Date
}
