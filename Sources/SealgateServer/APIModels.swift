import Foundation
import SealgateCore

/// Wire shapes of the HTTP API (see `openapi.yaml`).
enum API {
    struct IngestBody: Decodable {
        var id: String?
        var title: String
        var text: String
        var dataClass: String
        var metadata: [String: String]?
        enum CodingKeys: String, CodingKey {
            case id, title, text, metadata
            case dataClass = "data_class"
        }
    }

    struct IngestResponse: Encodable {
        var id: String
        var collection: String
        var dataClass: String
        var chunks: Int
        var kekVersion: Int
        enum CodingKeys: String, CodingKey {
            case id, collection, chunks
            case dataClass = "data_class"
            case kekVersion = "kek_version"
        }
    }

    struct DocumentItem: Encodable {
        var id: String
        var title: String
        var dataClass: String
        var chunks: Int
        var createdAt: String
        enum CodingKeys: String, CodingKey {
            case id, title, chunks
            case dataClass = "data_class"
            case createdAt = "created_at"
        }
    }

    struct DocumentList: Encodable {
        var collection: String
        var documents: [DocumentItem]
    }

    struct Scope: Decodable { var collections: [String] }

    struct QueryBody: Decodable {
        var question: String
        var dataClass: String
        var modelPolicy: String?
        var scope: Scope
        var topK: Int?
        enum CodingKeys: String, CodingKey {
            case question, scope
            case dataClass = "data_class"
            case modelPolicy = "model_policy"
            case topK = "top_k"
        }
    }

    struct CitationBody: Encodable {
        var collection: String
        var documentID: String
        var chunkIndex: Int
        var score: Double
        enum CodingKeys: String, CodingKey {
            case collection, score
            case documentID = "document_id"
            case chunkIndex = "chunk_index"
        }
        init(_ c: Citation) {
            collection = c.collection.rawValue
            documentID = c.documentID.rawValue
            chunkIndex = c.chunkIndex
            score = c.score
        }
    }

    struct AuditRef: Encodable {
        var index: UInt64
        /// The `Sealgate-Receipt` value of the record (see `GET /v1/receipts/{index}`).
        var receipt: String?
    }

    struct QueryResponse: Encodable {
        var answer: String
        var model: String
        var citations: [CitationBody]
        /// Every retrieved passage, best first (citations only).
        var retrieved: [CitationBody]
        var redactions: [String: Int]
        var audit: AuditRef
    }

    /// An OpenAI message; `content` is a string or a list of parts.
    struct ChatMessage: Decodable {
        var role: String
        var text: String

        enum CodingKeys: String, CodingKey { case role, content }
        /// OpenAI's message roles (`openapi.yaml`, ChatMessage); any other is `400 malformed_request`.
        static let roles: Set<String> = ["system", "developer", "user", "assistant", "tool", "function"]
        struct Part: Decodable {
            var type: String
            var text: String?
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            role = try c.decode(String.self, forKey: .role)
            guard Self.roles.contains(role) else { throw DecodingError.dataCorruptedError(forKey: .role, in: c, debugDescription: "unknown role") }
            if let text = try? c.decode(String.self, forKey: .content) {
                self.text = text
            } else if let parts = try? c.decode([Part].self, forKey: .content) {
                self.text = parts.compactMap { $0.type == "text" ? $0.text : nil }.joined(separator: "\n")
            } else if (try? c.decodeNil(forKey: .content)) ?? true {
                self.text = ""
            } else {
                throw DecodingError.dataCorruptedError(forKey: .content, in: c, debugDescription: "content must be text or parts")
            }
        }
    }

    struct ChatBody: Decodable {
        var model: String?
        var messages: [ChatMessage]
        var stream: Bool?
        var maxTokens: Int?
        enum CodingKeys: String, CodingKey {
            case model, messages, stream
            case maxTokens = "max_tokens"
        }
    }

    struct ChatChoiceMessage: Encodable {
        var role: String
        var content: String
    }

    struct ChatChoice: Encodable {
        var index: Int
        var message: ChatChoiceMessage
        var finishReason: String
        enum CodingKeys: String, CodingKey {
            case index, message
            case finishReason = "finish_reason"
        }
    }

    struct Usage: Encodable {
        var promptTokens: Int
        var completionTokens: Int
        var totalTokens: Int
        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case totalTokens = "total_tokens"
        }
    }

    struct SealgateInfo: Encodable {
        var citations: [CitationBody]
        var redactions: [String: Int]
        var audit: AuditRef
    }

    struct ChatCompletion: Encodable {
        var id: String
        var object = "chat.completion"
        var created: Int
        var model: String
        var choices: [ChatChoice]
        var usage: Usage
        var sealgate: SealgateInfo
    }

    struct Delta: Encodable {
        var role: String?
        var content: String?
    }

    struct ChunkChoice: Encodable {
        var index = 0
        var delta: Delta
        var finishReason: String?
        enum CodingKeys: String, CodingKey {
            case index, delta
            case finishReason = "finish_reason"
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(delta, forKey: .delta)
            try c.encode(finishReason, forKey: .finishReason)
        }
    }

    /// Sealgate's extension to a stream chunk, on the first chunk only: the retrieved passages' citations and the
    /// audit index (redaction counts of a stream are known only at its end and go to its `chat_completion` record).
    struct StreamInfo: Encodable {
        var citations: [CitationBody]?
        var redactions: [String: Int]?
        var audit: AuditRef?
    }

    struct ChatChunk: Encodable {
        var id: String
        var object = "chat.completion.chunk"
        var created: Int
        var model: String
        var choices: [ChunkChoice]
        var sealgate: StreamInfo?
    }

    /// An OpenAI model object plus `digest`: the model digest the profile pins and its attested upstream proved.
    struct ModelItem: Encodable {
        var id: String
        var object = "model"
        var created = 0
        var ownedBy = "sealgate"
        var digest: String?
        enum CodingKeys: String, CodingKey {
            case id, object, created, digest
            case ownedBy = "owned_by"
        }
    }

    /// The embedder that retrieval runs: its identifier and, for a sealed artifact, its OMS manifest digest.
    struct EmbedderItem: Encodable {
        var id: String
        var digest: String?
    }

    struct ModelList: Encodable {
        var object = "list"
        var data: [ModelItem]
        var embedder: EmbedderItem
    }
}
