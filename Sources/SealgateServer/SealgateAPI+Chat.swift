import AccessPolicy
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import NIOCore
import SealgateConfig
import SealgateCore

extension SealgateAPI {
    static let dataClassHeader = HTTPField.Name.constant("Sealgate-Data-Class")
    static let modelPolicyHeader = HTTPField.Name.constant("Sealgate-Model-Policy")
    static let scopeHeader = HTTPField.Name.constant("Sealgate-Scope")

    /// `POST /v1/chat/completions`, OpenAI-compatible; the Sealgate context comes from headers.
    func chat(_ request: Request, _ context: Context) async -> Response {
        let requestID = context.requestID
        let caller: Caller
        switch self.caller(context) {
        case .failure(let response): return response
        case .success(let value): caller = value
        }
        let body: API.ChatBody
        switch await decodedBody(API.ChatBody.self, request, principal: caller.principal, kind: .chat, requestID: requestID) {
        case .failure(let response): return response
        case .success(let value): body = value
        }
        let question = body.messages.last { $0.role == "user" }?.text ?? ""
        let scope = ChatText.scope(request.headers[Self.scopeHeader])
        let input = QueryRequest(
            question: question, dataClass: request.headers[Self.dataClassHeader],
            model: request.headers[Self.modelPolicyHeader].flatMap { $0.isEmpty ? nil : $0 } ?? body.model, scope: scope,
            maxTokens: body.maxTokens)
        let id = "chatcmpl-\(requestID)"
        let created = Int(Date().timeIntervalSince1970)
        if body.stream == true {
            switch await gateway.pipeline.stream(input, caller: caller, requestID: requestID) {
            case .failure(let failure): return Problem.response(failure.denial, auditIndex: failure.auditIndex)
            case .success(let answer):
                return await streamResponse(answer, id: id, created: created, requestID: requestID)
            }
        }
        switch await gateway.pipeline.query(input, caller: caller, requestID: requestID, kind: .chat) {
        case .failure(let failure): return Problem.response(failure.denial, auditIndex: failure.auditIndex)
        case .success(let result):
            let receipt = await receipt(index: result.auditIndex, requestID: requestID)
            let promptTokens = ChatText.wordCount(question)
            let completionTokens = ChatText.wordCount(result.answer)
            return withReceipt(
                API.ChatCompletion(
                    id: id, created: created, model: result.model.rawValue,
                    choices: [API.ChatChoice(index: 0, message: .init(role: "assistant", content: result.answer), finishReason: "stop")],
                    usage: API.Usage(promptTokens: promptTokens, completionTokens: completionTokens, totalTokens: promptTokens + completionTokens),
                    sealgate: API.SealgateInfo(
                        citations: result.citations.map(API.CitationBody.init), redactions: result.redactions,
                        audit: API.AuditRef(index: result.auditIndex, receipt: receipt?.headerValue))
                ).response(auditIndex: result.auditIndex), receipt)
        }
    }

    /// Server-sent events in OpenAI's chunk format, ending with `data: [DONE]`.
    ///
    /// The first chunk names the audit record written when the stream started (with its receipt, also in the
    /// `Sealgate-Receipt` field); the closing chunk (`finish_reason` `stop`) carries in `sealgate.audit` the receipt of
    /// the `chat_completion` record written when the stream ended — a trailer in the body, as HTTP/1.1 clients
    /// rarely read trailers.
    func streamResponse(_ answer: StreamedAnswer, id: String, created: Int, requestID: String) async -> Response {
        let model = answer.model.rawValue
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        @Sendable func event(_ chunk: API.ChatChunk) -> ByteBuffer {
            let data = (try? encoder.encode(chunk)) ?? Data("{}".utf8)
            var buffer = ByteBuffer(string: "data: ")
            buffer.writeBytes(data)
            buffer.writeString("\n\n")
            return buffer
        }
        let deltas = answer.deltas
        let citations = answer.citations.map(API.CitationBody.init)
        let auditIndex = answer.auditIndex
        let start = await receipt(index: auditIndex, requestID: requestID)
        let completion = answer.completion
        let api = self
        let body = ResponseBody { writer in
            try await writer.write(
                event(
                    API.ChatChunk(
                        id: id, created: created, model: model, choices: [API.ChunkChoice(delta: API.Delta(role: "assistant", content: ""))],
                        sealgate: API.StreamInfo(citations: citations, audit: API.AuditRef(index: auditIndex, receipt: start?.headerValue)))))
            do {
                for try await delta in deltas {
                    try await writer.write(event(API.ChatChunk(id: id, created: created, model: model, choices: [API.ChunkChoice(delta: API.Delta(content: delta))])))
                }
                var closing: API.StreamInfo?
                if let index = completion.auditIndex {
                    let receipt = await api.receipt(index: index, requestID: requestID)
                    closing = API.StreamInfo(audit: API.AuditRef(index: index, receipt: receipt?.headerValue))
                }
                try await writer.write(
                    event(
                        API.ChatChunk(
                            id: id, created: created, model: model, choices: [API.ChunkChoice(delta: API.Delta(), finishReason: "stop")],
                            sealgate: closing)))
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            } catch {
                let problem = "{\"error\":{\"type\":\"urn:sealgate:problem:model_unavailable\",\"message\":\"The model stream failed.\"}}"
                try await writer.write(ByteBuffer(string: "data: \(problem)\n\n"))
            }
            try await writer.finish(nil)
        }
        let headers: HTTPFields = [
            .contentType: "text/event-stream", .cacheControl: "no-cache", Problem.auditIndexHeader: String(answer.auditIndex),
        ]
        return withReceipt(Response(status: .ok, headers: headers, body: body), start)
    }
}
