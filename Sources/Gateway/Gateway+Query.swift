import Crypto
import Foundation
import Retrieval
import SealgateConfig
import SealgateCore
import Sealing

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
    public let redactions: [String: Int]
    public let auditIndex: UInt64
}

/// A streamed answer: the audit index is known before the first byte; redacted deltas follow.
public struct StreamedAnswer: Sendable {
    public let model: ModelProfileID
    public let citations: [Citation]
    public let auditIndex: UInt64
    public let deltas: AsyncThrowingStream<String, any Error>
}

/// The policy decision for one request.
struct Decision: Sendable {
    let context: RequestContext
    let rule: DataClassRule
    let readableClasses: Set<DataClass>
    let topK: Int
}

extension Gateway {
    /// The policy decision: data class, model profile and scope against the configuration and the principal's grants.
    func decide(_ request: QueryRequest, principal: Principal, grants: PrincipalSettings, requestID: String, kind: String) async
        -> Result<Decision, GatewayFailure>
    {
        func fail(_ code: ReasonCode, _ detail: String, rule: String? = nil) async -> Result<Decision, GatewayFailure> {
            .failure(await deny(Denial(code, detail), kind: kind, requestID: requestID, principal: principal, dataClass: request.dataClass, model: request.model, rule: rule))
        }
        guard !request.question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return await fail(.emptyQuestion, "The question is empty.")
        }
        guard let name = request.dataClass, let dataClass = DataClass(name), let rule = config.dataClass(dataClass),
            let rank = config.rank(of: dataClass)
        else { return await fail(.unknownDataClass, "The data class is missing or not defined.") }
        guard grants.mayUse(dataClass) else {
            return await fail(.dataClassNotPermitted, "You may not use this data class.", rule: "principals.data_classes")
        }
        let modelID: ModelProfileID
        if let requested = request.model, !requested.isEmpty {
            guard let id = ModelProfileID(requested), config.model(id) != nil, deps.models[id] != nil else {
                return await fail(.unknownModelProfile, "The model profile is not defined.")
            }
            modelID = id
        } else {
            guard let first = rule.models.first else {
                return await fail(.modelNotPermitted, "No model may see this data class.", rule: "data_classes.\(dataClass).models")
            }
            modelID = first
        }
        guard rule.models.contains(modelID) else {
            return await fail(.modelNotPermitted, "This model profile may not see this data class.", rule: "data_classes.\(dataClass).models")
        }
        guard !request.scope.isEmpty else { return await fail(.scopeNotPermitted, "The retrieval scope names no collection.", rule: "scope") }
        var collections: [CollectionName] = []
        for entry in request.scope {
            guard let collection = CollectionName(entry.trimmingCharacters(in: .whitespaces)), grants.mayRead(collection) else {
                return await fail(.scopeNotPermitted, "The retrieval scope names a collection you may not read.", rule: "principals.read")
            }
            collections.append(collection)
        }
        let readable = Set(config.dataClasses.prefix(rank + 1).map(\.name).filter { grants.mayUse($0) })
        let context = RequestContext(
            requestID: requestID, principal: principal, dataClass: dataClass, model: modelID,
            scope: RetrievalScope(collections: collections))
        let topK = min(50, max(1, request.topK ?? config.retrieval.topK))
        return .success(Decision(context: context, rule: rule, readableClasses: readable, topK: topK))
    }

    /// Retrieval inside the boundary: embed the question, search the tenant's index, decrypt the hits.
    func retrieve(_ decision: Decision, question: String) async throws -> (passages: [ContextPassage], keyIDs: [String]) {
        let tenant = decision.context.tenant
        try await ensureIndex(tenant: tenant)
        guard await keks(tenant, decision.context.dataClass) != nil else {
            // A lease is held but the broker withheld this tenant × class KEK (release policy, shredded tenant).
            throw SealgateError(await isReady() ? .releaseDenied : await noLeaseReason(), "no lease for the request's class")
        }
        let embedderSettings = config.retrieval.embedder
        if embedderSettings.type == .openai && !embedderSettings.allowedDataClasses.contains(decision.context.dataClass) {
            // The question is request plaintext: a remote embedder sees it only for classes that allow it.
            throw SealgateError(.modelNotPermitted, "the embedder may not see this data class")
        }
        let query: [Float]
        do { query = try await deps.embedder.embed([question]).first ?? [] } catch {
            throw SealgateError(.embedderUnavailable, "the embedder failed")
        }
        let hits = await index.search(
            tenant: tenant, collections: decision.context.scope.collections, classes: decision.readableClasses,
            query: query, topK: decision.topK)
        var passages: [ContextPassage] = []
        var keyIDs = Set<String>()
        var documents: [String: (StoredDocument, DEKCipher)] = [:]
        for hit in hits {
            let key = "\(hit.collection)/\(hit.documentID)"
            if documents[key] == nil,
                let document = try await deps.store.document(tenant: tenant, collection: hit.collection, id: hit.documentID)
            {
                documents[key] = (document, try await self.cipher(for: document))
            }
            guard let (document, cipher) = documents[key],
                let chunk = try await deps.store.chunk(tenant: tenant, collection: hit.collection, documentID: hit.documentID, index: hit.chunkIndex)
            else { continue }
            let text = try cipher.open(chunk.sealedText, context: Self.context(document).with(field: .text, chunkIndex: chunk.index))
            keyIDs.insert("\(tenant)/kek/\(document.dataClass)#\(document.kekVersion)")
            passages.append(
                ContextPassage(
                    citation: Citation(collection: hit.collection, documentID: hit.documentID, chunkIndex: hit.chunkIndex, score: (hit.score * 10000).rounded() / 10000),
                    text: String(decoding: text, as: UTF8.self)))
        }
        return (passages, keyIDs.sorted())
    }

    func baseRecord(_ kind: String, _ decision: Decision, _ passages: [ContextPassage], _ keyIDs: [String]) async -> AuditRecord {
        let c = decision.context
        var record = AuditRecord(kind: kind, time: deps.now(), requestID: c.requestID, tenant: c.tenant.rawValue, principal: c.principal.id.rawValue, outcome: "allowed")
        record.dataClass = c.dataClass.rawValue
        record.model = c.model.rawValue
        record.scopeDigest = await auditDigest(c.scope.collections.map(\.rawValue), tenant: c.tenant)
        record.chunkIDsDigest = await auditDigest(passages.map { "\($0.citation.collection)/\($0.citation.documentID)#\($0.citation.chunkIndex)" }, tenant: c.tenant)
        record.chunkCount = passages.count
        record.keyIDs = keyIDs
        record.rule = "data_classes.\(c.dataClass).models"
        if let result = await deps.leases.result {
            record.attestationStatus = result.status.rawValue
            record.attestationResultDigest = result.digest
            record.referenceValueSet = result.referenceValueSet
        }
        return record
    }

    func mapRetrievalError(_ error: any Error) -> Denial {
        let code = (error as? SealgateError)?.code ?? .internalError
        switch code {
        case .keyLeaseUnavailable: return Denial(code, "No valid key lease is held; the gateway cannot decrypt.")
        case .attestationDenied: return Denial(code, "The key broker refused this gateway's attestation; it holds no keys.")
        case .brokerUnavailable: return Denial(code, "The key broker cannot be reached and no key lease is held.")
        case .releaseDenied: return Denial(code, "The key broker did not release this tenant's key for this data class to this gateway.")
        case .embedderUnavailable: return Denial(code, "The embedder failed.")
        case .integrityFailure: return Denial(code, "Stored ciphertext failed authentication.")
        case .storeUnavailable: return Denial(code, "The document store failed.")
        case .modelNotPermitted: return Denial(code, "The configured embedder may not see this data class.")
        default: return Denial(.internalError, "The request failed.")
        }
    }

    /// What every answer needs before the model runs.
    struct Prepared: Sendable {
        let decision: Decision
        let retrieved: (passages: [ContextPassage], keyIDs: [String])
        let model: any ChatModel
    }

    /// Policy decision, retrieval and decryption, and the model profile: the stages shared by answers and streams.
    func prepare(_ request: QueryRequest, principal: Principal, grants: PrincipalSettings, requestID: String, kind: String) async
        -> Result<Prepared, GatewayFailure>
    {
        let decision: Decision
        switch await decide(request, principal: principal, grants: grants, requestID: requestID, kind: kind) {
        case .failure(let failure): return .failure(failure)
        case .success(let value): decision = value
        }
        let c = decision.context
        let retrieved: (passages: [ContextPassage], keyIDs: [String])
        do { retrieved = try await retrieve(decision, question: request.question) } catch {
            return .failure(await deny(mapRetrievalError(error), kind: kind, requestID: requestID, principal: principal, dataClass: c.dataClass.rawValue, model: c.model.rawValue))
        }
        guard let model = deps.models[c.model] else {
            return .failure(await deny(Denial(.unknownModelProfile, "The model profile is not available."), kind: kind, requestID: requestID, principal: principal))
        }
        return .success(Prepared(decision: decision, retrieved: retrieved, model: model))
    }

    /// Answers a question through the whole pipeline.
    public func query(_ request: QueryRequest, principal: Principal, grants: PrincipalSettings, requestID: String, kind: String = "query") async
        -> Result<QueryResult, GatewayFailure>
    {
        let prepared: Prepared
        switch await prepare(request, principal: principal, grants: grants, requestID: requestID, kind: kind) {
        case .failure(let failure): return .failure(failure)
        case .success(let value): prepared = value
        }
        let (decision, retrieved, model) = (prepared.decision, prepared.retrieved, prepared.model)
        let c = decision.context
        let prompt = await modelPrompt(request, retrieved.passages, decision)
        let answer: ModelAnswer
        do { answer = try await model.answer(prompt) } catch {
            return .failure(await deny(Denial(.modelUnavailable, "The model failed or timed out."), kind: kind, requestID: requestID, principal: principal, dataClass: c.dataClass.rawValue, model: c.model.rawValue))
        }
        let redacted = await redactor(for: c.tenant).redact(answer.text, profile: decision.rule.redactionProfile)
        countRedactions(redacted.counts, tenant: c.tenant)
        var record = await baseRecord(kind, decision, retrieved.passages, retrieved.keyIDs)
        record.redactions = redacted.counts
        switch await commit(record) {
        case .failure(let failure): return .failure(failure)
        case .success(let index):
            return .success(QueryResult(answer: redacted.text, model: c.model, citations: answer.citations, redactions: redacted.counts, auditIndex: index))
        }
    }

    /// Answers as a stream. The request's audit record is written before streaming starts (its index goes in
    /// the response headers); a `chat_completion` record with the redaction counts follows when the stream ends.
    public func stream(_ request: QueryRequest, principal: Principal, grants: PrincipalSettings, requestID: String) async
        -> Result<StreamedAnswer, GatewayFailure>
    {
        let kind = "chat"
        let prepared: Prepared
        switch await prepare(request, principal: principal, grants: grants, requestID: requestID, kind: kind) {
        case .failure(let failure): return .failure(failure)
        case .success(let value): prepared = value
        }
        let (decision, retrieved, model) = (prepared.decision, prepared.retrieved, prepared.model)
        let c = decision.context
        let start = await baseRecord(kind, decision, retrieved.passages, retrieved.keyIDs)
        let index: UInt64
        switch await commit(start) {
        case .failure(let failure): return .failure(failure)
        case .success(let value): index = value
        }
        let upstream = model.stream(await modelPrompt(request, retrieved.passages, decision))
        let redactor = await redactor(for: c.tenant)
        let profile = decision.rule.redactionProfile
        let deltas = AsyncThrowingStream<String, any Error> { continuation in
            let task = Task {
                var redaction = redactor.streaming(profile: profile)
                var outcome = "allowed"
                var reason: String?
                do {
                    for try await delta in upstream {
                        let safe = redaction.feed(delta)
                        if !safe.isEmpty { continuation.yield(safe) }
                    }
                    let rest = redaction.finish()
                    if !rest.isEmpty { continuation.yield(rest) }
                } catch {
                    outcome = "error"
                    reason = ReasonCode.modelUnavailable.rawValue
                }
                var end = start
                end.kind = "chat_completion"
                end.time = AuditRecord.timestamp(self.deps.now())
                end.outcome = outcome
                end.reason = reason
                end.redactions = redaction.counts
                self.countRedactions(redaction.counts, tenant: c.tenant)
                _ = await self.commit(end)
                if outcome == "allowed" {
                    continuation.finish()
                } else {
                    continuation.finish(throwing: SealgateError(.modelUnavailable, "the model stream failed"))
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        let citations = retrieved.passages.map(\.citation)
        return .success(StreamedAnswer(model: c.model, citations: citations, auditIndex: index, deltas: deltas))
    }

    /// The prompt for the model; for profiles with `redact_prompt`, the question and passages are redacted with the
    /// data class's profile first, so that model never sees those entities.
    func modelPrompt(_ request: QueryRequest, _ passages: [ContextPassage], _ decision: Decision) async -> ModelPrompt {
        guard config.model(decision.context.model)?.redactPrompt == true else {
            return ModelPrompt(question: request.question, passages: passages, maxTokens: request.maxTokens)
        }
        let redactor = await redactor(for: decision.context.tenant)
        let profile = decision.rule.redactionProfile
        return ModelPrompt(
            question: redactor.redact(request.question, profile: profile).text,
            passages: passages.map { ContextPassage(citation: $0.citation, text: redactor.redact($0.text, profile: profile).text) },
            maxTokens: request.maxTokens)
    }

    func countRedactions(_ counts: [String: Int], tenant: TenantID) {
        for (label, n) in counts where n > 0 {
            deps.metrics.increment("sealgate_redactions_total", labels: [("tenant", tenant.rawValue), ("label", label)], by: n)
        }
    }
}

