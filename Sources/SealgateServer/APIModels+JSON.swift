import Audit
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension API.ChatCompletion {
    /// The response body as `JSONEncoder` with sorted keys writes it (the tests compare them byte for byte), written
    /// with ``JSONWriter``: this shape goes out with every chat answer. `nil` when a score is not finite (JSON cannot
    /// hold it; ``json(_:status:auditIndex:)`` then answers as it always did).
    var encoded: [UInt8]? {
        var json = JSONWriter(capacity: 1024)
        json.beginObject()
        json.key("choices")
        json.beginArray()
        for choice in choices {
            json.beginObject()
            json.member("finish_reason", choice.finishReason)
            json.member("index", choice.index)
            json.key("message")
            json.beginObject()
            json.member("content", choice.message.content)
            json.member("role", choice.message.role)
            json.endObject()
            json.endObject()
        }
        json.endArray()
        json.member("created", created)
        json.member("id", id)
        json.member("model", model)
        json.member("object", object)
        json.key("sealgate")
        json.beginObject()
        json.key("audit")
        json.beginObject()
        json.key("index")
        json.integer(sealgate.audit.index)
        json.member("receipt", sealgate.audit.receipt)
        json.endObject()
        json.key("citations")
        json.beginArray()
        for citation in sealgate.citations {
            json.beginObject()
            json.member("chunk_index", citation.chunkIndex)
            json.member("collection", citation.collection)
            json.member("document_id", citation.documentID)
            json.key("score")
            guard json.double(citation.score) else { return nil }
            json.endObject()
        }
        json.endArray()
        json.member("redactions", sealgate.redactions)
        json.endObject()
        json.key("usage")
        json.beginObject()
        json.member("completion_tokens", usage.completionTokens)
        json.member("prompt_tokens", usage.promptTokens)
        json.member("total_tokens", usage.totalTokens)
        json.endObject()
        json.endObject()
        return json.bytes
    }

    /// The `200` response carrying this completion and the index of its audit record.
    func response(auditIndex: UInt64) -> Response {
        guard let bytes = encoded else { return json(self, auditIndex: auditIndex) }
        let headers: HTTPFields = [.contentType: "application/json", Problem.auditIndexHeader: String(auditIndex)]
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
