import Audit
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import NIOCore
import SealgateConfig
import SealgateCore

/// The HTTP edge: authentication, body limits, JSON mapping. Decisions live in ``Gateway``.
struct SealgateAPI: Sendable {
    let gateway: Gateway
    let metrics: PrometheusRecorder
    let bodyLimit: Int
    let auditLog: AuditLog
    /// SHA-256 of the bearer keys that may read the audit log's entries, tiles and proofs.
    let auditorKeys: Set<String>

    typealias Context = BasicRequestContext

    func register(on router: Router<Context>) {
        router.get("/healthz") { _, _ in json(["status": "ok"]) }
        router.get("/readyz") { _, _ in await ready() }
        router.get("/metrics") { _, _ in
            let (acquired, expires) = await gateway.leaseTimes()
            let now = Date()
            metrics.gauge("sealgate_key_lease_valid", labels: [("tee", gateway.tee)], value: expires == nil ? 0 : 1)
            metrics.gauge("sealgate_key_lease_age_seconds", labels: [("tee", gateway.tee)], value: acquired.map { max(0, now.timeIntervalSince($0)) } ?? 0)
            metrics.gauge("sealgate_key_lease_expiry_seconds", labels: [("tee", gateway.tee)], value: expires.map { max(0, $0.timeIntervalSince(now)) } ?? 0)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        router.get("/v1/models") { request, _ in await models(request) }
        router.post("/v1/collections/:collection/documents") { request, context in
            await ingest(request, collection: context.parameters.get("collection") ?? "")
        }
        router.get("/v1/collections/:collection/documents") { request, context in
            await list(request, collection: context.parameters.get("collection") ?? "")
        }
        router.delete("/v1/collections/:collection/documents/:id") { request, context in
            await delete(request, collection: context.parameters.get("collection") ?? "", id: context.parameters.get("id") ?? "")
        }
        router.post("/v1/query") { request, _ in await query(request) }
        router.post("/v1/chat/completions") { request, _ in await chat(request) }
    }

    // MARK: Shared steps

    /// Authenticates, or returns the audited 401.
    func authenticate(_ request: Request, kind: String, requestID: String) async -> Step<(Principal, PrincipalSettings)> {
        switch gateway.authenticate(authorization: request.headers[.authorization]) {
        case .success(let found): return .success(found)
        case .failure(let denial):
            let failure = await gateway.deny(denial, kind: kind, requestID: requestID, principal: nil)
            return .failure(Problem.response(failure.denial, auditIndex: failure.auditIndex))
        }
    }

    /// Reads the body up to the limit; larger bodies get an audited 413 and are not read further.
    func readBody(_ request: Request, principal: Principal, kind: String, requestID: String) async -> Step<Data> {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > bodyLimit {
            return .failure(await refuse(.bodyTooLarge, "The request body exceeds \(bodyLimit) bytes.", kind, requestID, principal))
        }
        var collected = Data()
        do {
            for try await buffer in request.body {
                collected.append(contentsOf: buffer.readableBytesView)
                if collected.count > bodyLimit {
                    return .failure(await refuse(.bodyTooLarge, "The request body exceeds \(bodyLimit) bytes.", kind, requestID, principal))
                }
            }
        } catch {
            return .failure(await refuse(.malformedRequest, "The request body could not be read.", kind, requestID, principal))
        }
        return .success(collected)
    }

    func decode<T: Decodable>(_ type: T.Type, _ data: Data, principal: Principal, kind: String, requestID: String) async -> Step<T> {
        do { return .success(try JSONDecoder().decode(type, from: data)) } catch {
            return .failure(await refuse(.malformedRequest, "The body is not valid JSON of the expected shape.", kind, requestID, principal))
        }
    }

    func refuse(_ code: ReasonCode, _ detail: String, _ kind: String, _ requestID: String, _ principal: Principal?) async -> Response {
        let failure = await gateway.deny(Denial(code, detail), kind: kind, requestID: requestID, principal: principal)
        return Problem.response(failure.denial, auditIndex: failure.auditIndex)
    }

    // MARK: Routes

    func ready() async -> Response {
        guard await gateway.isReady(), let expiry = await gateway.leaseExpiry() else {
            let reason = await gateway.noLeaseReason()
            return Problem.response(Denial(reason, "The gateway holds no valid key lease (\(reason.rawValue))."))
        }
        return json(["status": "ready", "lease_expires_at": AuditRecord.timestamp(expiry)])
    }

    func models(_ request: Request) async -> Response {
        let requestID = Gateway.newRequestID()
        let grants: PrincipalSettings
        switch await authenticate(request, kind: "models", requestID: requestID) {
        case .failure(let response): return response
        case .success(let found): grants = found.1
        }
        return json(API.ModelList(data: gateway.models(for: grants).map { API.ModelItem(id: $0.rawValue) }))
    }

    func ingest(_ request: Request, collection rawCollection: String) async -> Response {
        let requestID = Gateway.newRequestID()
        let principal: Principal
        let grants: PrincipalSettings
        switch await authenticate(request, kind: "ingest", requestID: requestID) {
        case .failure(let response): return response
        case .success(let found): (principal, grants) = found
        }
        let data: Data
        switch await readBody(request, principal: principal, kind: "ingest", requestID: requestID) {
        case .failure(let response): return response
        case .success(let value): data = value
        }
        let body: API.IngestBody
        switch await decode(API.IngestBody.self, data, principal: principal, kind: "ingest", requestID: requestID) {
        case .failure(let response): return response
        case .success(let value): body = value
        }
        guard let collection = CollectionName(rawCollection) else {
            return await refuse(.malformedRequest, "The collection name is not valid.", "ingest", requestID, principal)
        }
        var id: DocumentID?
        if let raw = body.id {
            guard let valid = DocumentID(raw) else {
                return await refuse(.malformedRequest, "The document id is not valid.", "ingest", requestID, principal)
            }
            id = valid
        }
        let ingest = IngestRequest(id: id, title: body.title, text: body.text, dataClass: body.dataClass, metadata: body.metadata ?? [:])
        switch await gateway.ingest(ingest, collection: collection, principal: principal, grants: grants, requestID: requestID) {
        case .failure(let failure): return Problem.response(failure.denial, auditIndex: failure.auditIndex)
        case .success(let result):
            return json(
                API.IngestResponse(
                    id: result.id.rawValue, collection: result.collection.rawValue, dataClass: result.dataClass.rawValue,
                    chunks: result.chunks, kekVersion: result.kekVersion),
                status: .created, auditIndex: result.auditIndex)
        }
    }

    func list(_ request: Request, collection rawCollection: String) async -> Response {
        let requestID = Gateway.newRequestID()
        let principal: Principal
        let grants: PrincipalSettings
        switch await authenticate(request, kind: "list", requestID: requestID) {
        case .failure(let response): return response
        case .success(let found): (principal, grants) = found
        }
        guard let collection = CollectionName(rawCollection) else {
            return await refuse(.malformedRequest, "The collection name is not valid.", "list", requestID, principal)
        }
        switch await gateway.list(collection: collection, principal: principal, grants: grants, requestID: requestID) {
        case .failure(let failure): return Problem.response(failure.denial, auditIndex: failure.auditIndex)
        case .success(let (documents, auditIndex)):
            return json(
                API.DocumentList(
                    collection: collection.rawValue,
                    documents: documents.map {
                        API.DocumentItem(
                            id: $0.id.rawValue, title: $0.title, dataClass: $0.dataClass.rawValue, chunks: $0.chunks,
                            createdAt: AuditRecord.timestamp($0.createdAt))
                    }),
                auditIndex: auditIndex)
        }
    }

    func delete(_ request: Request, collection rawCollection: String, id rawID: String) async -> Response {
        let requestID = Gateway.newRequestID()
        let principal: Principal
        let grants: PrincipalSettings
        switch await authenticate(request, kind: "delete", requestID: requestID) {
        case .failure(let response): return response
        case .success(let found): (principal, grants) = found
        }
        guard let collection = CollectionName(rawCollection), let id = DocumentID(rawID) else {
            return await refuse(.documentNotFound, "No such document.", "delete", requestID, principal)
        }
        switch await gateway.delete(id: id, collection: collection, principal: principal, grants: grants, requestID: requestID) {
        case .failure(let failure): return Problem.response(failure.denial, auditIndex: failure.auditIndex)
        case .success(let index):
            return Response(status: .noContent, headers: [Problem.auditIndexHeader: String(index)])
        }
    }

    func query(_ request: Request) async -> Response {
        let requestID = Gateway.newRequestID()
        let principal: Principal
        let grants: PrincipalSettings
        switch await authenticate(request, kind: "query", requestID: requestID) {
        case .failure(let response): return response
        case .success(let found): (principal, grants) = found
        }
        let data: Data
        switch await readBody(request, principal: principal, kind: "query", requestID: requestID) {
        case .failure(let response): return response
        case .success(let value): data = value
        }
        let body: API.QueryBody
        switch await decode(API.QueryBody.self, data, principal: principal, kind: "query", requestID: requestID) {
        case .failure(let response): return response
        case .success(let value): body = value
        }
        let input = QueryRequest(
            question: body.question, dataClass: body.dataClass, model: body.modelPolicy, scope: body.scope.collections,
            topK: body.topK)
        switch await gateway.query(input, principal: principal, grants: grants, requestID: requestID) {
        case .failure(let failure): return Problem.response(failure.denial, auditIndex: failure.auditIndex)
        case .success(let result):
            return json(
                API.QueryResponse(
                    answer: result.answer, model: result.model.rawValue, citations: result.citations.map(API.CitationBody.init),
                    redactions: result.redactions, audit: API.AuditRef(index: result.auditIndex)),
                auditIndex: result.auditIndex)
        }
    }
}

/// A JSON response with sorted keys.
func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, auditIndex: UInt64? = nil) -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
    var headers: HTTPFields = [.contentType: "application/json"]
    if let auditIndex { headers[Problem.auditIndexHeader] = String(auditIndex) }
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// The outcome of one edge step: a value to continue with, or the response that ends the request.
enum Step<T> {
    case success(T)
    case failure(Response)
}
