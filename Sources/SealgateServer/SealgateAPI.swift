import AccessPolicy
import Audit
import Authenticate
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import NIOCore
import SealgateConfig
import SealgateCore

/// The HTTP edge: routes, body limits, JSON mapping. Authentication is the ``Authenticator`` of each route group;
/// decisions live in the gateway's stages.
struct SealgateAPI: Sendable {
    let gateway: Gateway
    let metrics: PrometheusRecorder
    let bodyLimit: Int
    let auditLog: AuditLog
    /// The bearer keys (SHA-256 only) that may read the audit log's entries, tiles and proofs.
    let auditorKeys: CredentialTable<GatewayIdentity>
    /// Adds witness cosignatures to the served checkpoint (`audit.witnesses`), if any are configured.
    var witnesses: WitnessCosigner?
    /// Why the document store cannot serve now (`nil`: it can), for `/readyz`; absent for the embedded file.
    var storageUnavailable: (@Sendable () async -> String?)?

    typealias Context = GatewayRequestContext

    func register(on router: Router<Context>) {
        router.get("/healthz") { _, _ in json(["status": "ok"]) }
        router.get("/readyz") { _, _ in await ready() }
        router.get("/metrics") { _, _ in
            let (acquired, expires) = await gateway.keyRing.leaseTimes()
            let now = Date()
            let tee = gateway.keyRing.tee
            metrics.gauge("sealgate_key_lease_valid", labels: [("tee", tee)], value: expires == nil ? 0 : 1)
            metrics.gauge("sealgate_key_lease_age_seconds", labels: [("tee", tee)], value: acquired.map { max(0, now.timeIntervalSince($0)) } ?? 0)
            metrics.gauge("sealgate_key_lease_expiry_seconds", labels: [("tee", tee)], value: expires.map { max(0, $0.timeIntervalSince(now)) } ?? 0)
            metrics.gauge("sealgate_audit_log_size", value: Double(await auditLog.size))
            if let signed = await auditLog.latestSignedAt {
                metrics.gauge("sealgate_audit_checkpoint_age_seconds", value: max(0, Date().timeIntervalSince(signed)))
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        func authenticated(_ kind: AuditKind) -> RouterGroup<Context> {
            router.group().add(middleware: callerAuthentication(kind))
        }
        authenticated(.models).get("/v1/models") { _, context in models(context) }
        authenticated(.ingest).post("/v1/collections/:collection/documents") { request, context in
            await ingest(request, context, collection: context.parameters.get("collection") ?? "")
        }
        authenticated(.list).get("/v1/collections") { _, context in await collections(context) }
        authenticated(.list).get("/v1/collections/:collection/documents") { _, context in
            await list(context, collection: context.parameters.get("collection") ?? "")
        }
        authenticated(.delete).delete("/v1/collections/:collection/documents/:id") { _, context in
            await delete(context, collection: context.parameters.get("collection") ?? "", id: context.parameters.get("id") ?? "")
        }
        authenticated(.query).post("/v1/query") { request, context in await query(request, context) }
        authenticated(.chat).post("/v1/chat/completions") { request, context in await chat(request, context) }
    }

    // MARK: Shared steps

    /// The authenticated caller, or the refusal when a route runs outside its authenticator (a wiring error).
    func caller(_ context: Context) -> Step<Caller> {
        guard let caller = context.caller else { return .failure(Problem.response(Denial(.internalError, "The request failed."))) }
        return .success(caller)
    }

    /// Reads the body up to the limit; larger bodies get an audited 413 and are not read further.
    func readBody(_ request: Request, principal: Principal, kind: AuditKind, requestID: String) async -> Step<Data> {
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

    /// The body as `T`, or the audited 400.
    func decodedBody<T: Decodable>(_ type: T.Type, _ request: Request, principal: Principal, kind: AuditKind, requestID: String) async -> Step<T> {
        let data: Data
        switch await readBody(request, principal: principal, kind: kind, requestID: requestID) {
        case .failure(let response): return .failure(response)
        case .success(let value): data = value
        }
        do { return .success(try JSONDecoder().decode(type, from: data)) } catch {
            return .failure(await refuse(.malformedRequest, "The body is not valid JSON of the expected shape.", kind, requestID, principal))
        }
    }

    func refuse(_ code: ReasonCode, _ detail: String, _ kind: AuditKind, _ requestID: String, _ principal: Principal?) async -> Response {
        let failure = await gateway.recorder.deny(Refusal(Denial(code, detail), kind: kind, requestID: requestID, principal: principal))
        return Problem.response(failure.denial, auditIndex: failure.auditIndex)
    }

    // MARK: Routes

    func ready() async -> Response {
        if let probe = storageUnavailable, let why = await probe() {
            return Problem.response(Denial(.storageUnavailable, "The document store is unavailable: \(why)."))
        }
        guard await gateway.keyRing.isReady(), let expiry = await gateway.keyRing.leaseTimes().expires else {
            let reason = await gateway.keyRing.noLeaseReason()
            return Problem.response(Denial(reason, "The gateway holds no valid key lease (\(reason.rawValue))."))
        }
        return json(["status": "ready", "lease_expires_at": AuditRecord.timestamp(expiry)])
    }

    func models(_ context: Context) -> Response {
        let caller: Caller
        switch self.caller(context) {
        case .failure(let response): return response
        case .success(let value): caller = value
        }
        let pipeline = gateway.pipeline
        return json(
            API.ModelList(
                data: gateway.policy.table.models(for: caller.grants).map { API.ModelItem(id: $0.rawValue, digest: pipeline.modelDigests[$0]) },
                embedder: API.EmbedderItem(id: gateway.index.embedderID, digest: pipeline.embedderDigest)))
    }

    func ingest(_ request: Request, _ context: Context, collection rawCollection: String) async -> Response {
        let requestID = context.requestID
        let caller: Caller
        switch self.caller(context) {
        case .failure(let response): return response
        case .success(let value): caller = value
        }
        let body: API.IngestBody
        switch await decodedBody(API.IngestBody.self, request, principal: caller.principal, kind: .ingest, requestID: requestID) {
        case .failure(let response): return response
        case .success(let value): body = value
        }
        guard let collection = CollectionName(rawCollection) else {
            return await refuse(.malformedRequest, "The collection name is not valid.", .ingest, requestID, caller.principal)
        }
        var id: DocumentID?
        if let raw = body.id {
            guard let valid = DocumentID(raw) else {
                return await refuse(.malformedRequest, "The document id is not valid.", .ingest, requestID, caller.principal)
            }
            id = valid
        }
        let ingest = IngestRequest(id: id, title: body.title, text: body.text, dataClass: body.dataClass, metadata: body.metadata ?? [:])
        switch await gateway.documents.ingest(ingest, collection: collection, caller: caller, requestID: requestID) {
        case .failure(let failure): return Problem.response(failure.denial, auditIndex: failure.auditIndex)
        case .success(let result):
            return json(
                API.IngestResponse(
                    id: result.id.rawValue, collection: result.collection.rawValue, dataClass: result.dataClass.rawValue,
                    chunks: result.chunks, kekVersion: result.kekVersion),
                status: .created, auditIndex: result.auditIndex)
        }
    }

    func list(_ context: Context, collection rawCollection: String) async -> Response {
        let caller: Caller
        switch self.caller(context) {
        case .failure(let response): return response
        case .success(let value): caller = value
        }
        guard let collection = CollectionName(rawCollection) else {
            return await refuse(.malformedRequest, "The collection name is not valid.", .list, context.requestID, caller.principal)
        }
        switch await gateway.documents.list(collection: collection, caller: caller, requestID: context.requestID) {
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

    /// `GET /v1/collections`: `{"collections": [{"name", "documents"}]}`, the readable collections of the caller's tenant.
    func collections(_ context: Context) async -> Response {
        struct Item: Encodable {
            var name: String
            var documents: Int
        }
        struct Body: Encodable { var collections: [Item] }
        let caller: Caller
        switch self.caller(context) {
        case .failure(let response): return response
        case .success(let value): caller = value
        }
        switch await gateway.documents.collections(caller: caller, requestID: context.requestID) {
        case .failure(let failure): return Problem.response(failure.denial, auditIndex: failure.auditIndex)
        case .success(let (collections, auditIndex)):
            return json(Body(collections: collections.map { Item(name: $0.name.rawValue, documents: $0.documents) }), auditIndex: auditIndex)
        }
    }

    func delete(_ context: Context, collection rawCollection: String, id rawID: String) async -> Response {
        let caller: Caller
        switch self.caller(context) {
        case .failure(let response): return response
        case .success(let value): caller = value
        }
        guard let collection = CollectionName(rawCollection), let id = DocumentID(rawID) else {
            return await refuse(.documentNotFound, "No such document.", .delete, context.requestID, caller.principal)
        }
        switch await gateway.documents.delete(id: id, collection: collection, caller: caller, requestID: context.requestID) {
        case .failure(let failure): return Problem.response(failure.denial, auditIndex: failure.auditIndex)
        case .success(let index):
            return Response(status: .noContent, headers: [Problem.auditIndexHeader: String(index)])
        }
    }

    func query(_ request: Request, _ context: Context) async -> Response {
        let caller: Caller
        switch self.caller(context) {
        case .failure(let response): return response
        case .success(let value): caller = value
        }
        let body: API.QueryBody
        switch await decodedBody(API.QueryBody.self, request, principal: caller.principal, kind: .query, requestID: context.requestID) {
        case .failure(let response): return response
        case .success(let value): body = value
        }
        let input = QueryRequest(
            question: body.question, dataClass: body.dataClass, model: body.modelPolicy, scope: body.scope.collections,
            topK: body.topK)
        switch await gateway.pipeline.query(input, caller: caller, requestID: context.requestID) {
        case .failure(let failure): return Problem.response(failure.denial, auditIndex: failure.auditIndex)
        case .success(let result):
            let receipt = await receipt(index: result.auditIndex, requestID: context.requestID)
            return withReceipt(
                json(
                    API.QueryResponse(
                        answer: result.answer, model: result.model.rawValue, citations: result.citations.map(API.CitationBody.init),
                        retrieved: result.retrieved.map(API.CitationBody.init), redactions: result.redactions, audit: API.AuditRef(index: result.auditIndex, receipt: receipt?.headerValue)),
                    auditIndex: result.auditIndex), receipt)
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
