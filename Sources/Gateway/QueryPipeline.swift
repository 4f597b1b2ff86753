import AccessPolicy
import Foundation
import Retrieval
import SealgateCore
import Sealing

/// The question pipeline after authentication: policy decision → key lease → retrieve → decrypt → prompt →
/// model → redact → audit record. Every stage can refuse; every refusal goes through the ``OutcomeRecorder``.
public struct QueryPipeline: Sendable {
    let policy: AccessPolicy
    let keyRing: KeyRing
    let index: TenantIndex
    let store: any DocumentStore
    let embedder: any Embedder
    let models: [ModelProfileID: any ChatModel]
    /// Model profiles whose prompts are redacted with the class's profile before the model sees them.
    let redactPromptModels: Set<ModelProfileID>
    /// How each model profile is reached, recorded with every answer.
    let modelReach: [ModelProfileID: String]
    /// The model digest each attested profile pins (its upstream's certificate proved it), recorded with every answer.
    public let modelDigests: [ModelProfileID: String]
    /// The OMS manifest digest of the sealed embedder artifact, recorded with every answer (nil: none).
    public let embedderDigest: String?
    let recorder: OutcomeRecorder

    /// Creates the pipeline.
    public init(
        policy: AccessPolicy, keyRing: KeyRing, index: TenantIndex, store: any DocumentStore, embedder: any Embedder,
        models: [ModelProfileID: any ChatModel], redactPromptModels: Set<ModelProfileID>, modelReach: [ModelProfileID: String] = [:],
        modelDigests: [ModelProfileID: String] = [:], embedderDigest: String? = nil, recorder: OutcomeRecorder
    ) {
        self.modelReach = modelReach
        self.modelDigests = modelDigests
        self.embedderDigest = embedderDigest
        self.policy = policy
        self.keyRing = keyRing
        self.index = index
        self.store = store
        self.embedder = embedder
        self.models = models
        self.redactPromptModels = redactPromptModels
        self.recorder = recorder
    }

    /// What every answer needs before the model runs.
    struct Prepared: Sendable {
        let grant: QueryGrant
        let passages: [ContextPassage]
        let keyIDs: [String]
        let model: any ChatModel
        /// The question as asked (for its keyed digest in the record; never stored).
        let question: String
    }

    /// Policy decision, retrieval and decryption, and the model profile: the stages shared by answers and streams.
    func prepare(_ request: QueryRequest, caller: Caller, requestID: String, kind: AuditKind) async -> Result<Prepared, GatewayFailure> {
        let access = QueryAccess(
            requestID: requestID, principal: caller.principal, question: request.question, dataClass: request.dataClass,
            model: request.model, scope: request.scope, topK: request.topK)
        let grant: QueryGrant
        switch policy.decide(caller.grants, access) {
        case .deny(let denial):
            return .failure(
                await recorder.deny(
                    Refusal(
                        Denial(denial.reason, denial.detail), kind: kind, requestID: requestID, principal: caller.principal,
                        dataClass: request.dataClass, model: request.model, rule: denial.rule.auditName)))
        case .allow(let value, _): grant = value
        }
        let c = grant.context
        func fail(_ denial: Denial) async -> Result<Prepared, GatewayFailure> {
            .failure(
                await recorder.deny(
                    Refusal(denial, kind: kind, requestID: requestID, principal: caller.principal, dataClass: c.dataClass.rawValue, model: c.model.rawValue)))
        }
        let retrieved: (passages: [ContextPassage], keyIDs: [String])
        do { retrieved = try await retrieve(grant, question: request.question) } catch {
            return await fail(Self.denial(for: error))
        }
        guard let model = models[c.model] else {
            return .failure(
                await recorder.deny(
                    Refusal(Denial(.unknownModelProfile, "The model profile is not available."), kind: kind, requestID: requestID, principal: caller.principal)))
        }
        return .success(Prepared(grant: grant, passages: retrieved.passages, keyIDs: retrieved.keyIDs, model: model, question: request.question))
    }

    /// Retrieval inside the boundary: embed the question, search the tenant's index, decrypt the hits.
    func retrieve(_ grant: QueryGrant, question: String) async throws -> (passages: [ContextPassage], keyIDs: [String]) {
        let tenant = grant.context.tenant
        try await index.ensure(tenant: tenant)
        guard await keyRing.keks(tenant, grant.context.dataClass) != nil else {
            // A lease is held but the broker withheld this tenant × class KEK (release policy, shredded tenant).
            throw SealgateError(await keyRing.missingKeyReason(), "no lease for the request's class")
        }
        let mismatched = index.foreignCollections(tenant: tenant, among: grant.context.scope.collections)
        guard mismatched.isEmpty else {
            throw SealgateError(.embedderMismatch, "collections \(mismatched.map(\.rawValue)) hold documents of another embedder than \(index.embedderID)")
        }
        let query: [Float]
        do { query = try await embedder.embed([question]).first ?? [] } catch {
            throw SealgateError(.embedderUnavailable, "the embedder failed")
        }
        let read = RowsRead()
        let hits = try await index.search(
            RetrievalQuery(tenant: tenant, collections: grant.context.scope.collections, classes: grant.readableClasses, topK: grant.topK),
            query: query, read: read)
        var passages: [ContextPassage] = []
        var keyIDs = Set<String>()
        let locations = hits.map { ChunkLocation(collection: $0.collection, documentID: $0.documentID, index: $0.chunkIndex) }
        // The hits are among the candidates just rescored: their rows come from that read, not from a second one.
        let rows: [ChunkLocation: ChunkWithDocument]
        if let remembered = read.rows(at: locations) { rows = remembered } else { rows = try await store.chunks(tenant: tenant, at: locations) }
        let ciphers = try await keyRing.ciphers(for: rows.values.map(\.document))
        for hit in hits {
            guard let row = rows[ChunkLocation(collection: hit.collection, documentID: hit.documentID, index: hit.chunkIndex)],
                let cipher = ciphers[KeyRing.documentKey(row.document)]
            else { continue }
            let document = row.document
            let text = try cipher.open(row.chunk.sealedText, context: document.contentContext.with(field: .text, chunkIndex: row.chunk.index))
            keyIDs.insert("\(tenant)/kek/\(document.dataClass)#\(document.dekVersion)")
            passages.append(
                ContextPassage(
                    citation: Citation(
                        collection: hit.collection, documentID: hit.documentID, chunkIndex: hit.chunkIndex, score: (hit.score * 10000).rounded() / 10000),
                    text: String(decoding: text, as: UTF8.self)))
        }
        return (passages, keyIDs.sorted())
    }

    /// The client-safe denial for a failure during retrieval.
    static func denial(for error: any Error) -> Denial {
        let code = (error as? SealgateError)?.code ?? .internalError
        switch code {
        case .keyLeaseUnavailable: return Denial(code, "No valid key lease is held; the gateway cannot decrypt.")
        case .attestationDenied: return Denial(code, "The key broker refused this gateway's attestation; it holds no keys.")
        case .brokerUnavailable: return Denial(code, "The key broker cannot be reached and no key lease is held.")
        case .releaseDenied: return Denial(code, "The key broker did not release this tenant's key for this data class to this gateway.")
        case .embedderUnavailable: return Denial(code, "The embedder failed.")
        case .embedderMismatch:
            return Denial(
                code, "A collection in scope was indexed with another embedder than this gateway's; re-index it (sealgate ingest, docs/retrieval.md).")
        case .integrityFailure: return Denial(code, "Stored ciphertext failed authentication.")
        case .storageUnavailable: return Denial(code, "The document store failed.")
        default: return Denial(.internalError, "The request failed.")
        }
    }

    /// The success record shared by answers and streams.
    func record(_ kind: AuditKind, _ prepared: Prepared) async -> AuditRecord {
        let c = prepared.grant.context
        var record = AuditRecord(
            kind: kind, time: recorder.now(), requestID: c.requestID, tenant: c.tenant.rawValue, principal: c.principal.id.rawValue,
            outcome: .allowed)
        record.dataClass = c.dataClass.rawValue
        record.model = c.model.rawValue
        record.modelAttestation = modelReach[c.model]
        record.modelDigest = modelDigests[c.model]
        record.embedderDigest = embedderDigest
        record.scopeDigest = await keyRing.auditDigest(c.scope.collections.map(\.rawValue), tenant: c.tenant)
        record.chunkIDsDigest = await keyRing.auditDigest(
            prepared.passages.map { "\($0.citation.collection)/\($0.citation.documentID)#\($0.citation.chunkIndex)" }, tenant: c.tenant)
        record.chunkCount = prepared.passages.count
        record.questionDigest = await keyRing.questionDigest(prepared.question, tenant: c.tenant)
        record.keyIDs = prepared.keyIDs
        record.rule = RuleID.dataClassModels(c.dataClass).auditName
        if let (result, digest) = keyRing.leases.publishedResult {
            record.attestationStatus = result.status.rawValue
            record.attestationResultDigest = digest
            record.referenceValueSet = result.referenceValueSet
        }
        return record
    }

    /// The prompt for the model; for profiles with `redact_prompt`, the question and passages are redacted with the
    /// data class's profile first, so that model never sees those entities.
    func prompt(_ request: QueryRequest, _ prepared: Prepared) async -> ModelPrompt {
        let grant = prepared.grant
        guard redactPromptModels.contains(grant.context.model) else {
            return ModelPrompt(question: request.question, passages: prepared.passages, maxTokens: request.maxTokens)
        }
        let redactor = await keyRing.redactor(for: grant.context.tenant)
        let profile = grant.classRule.redactionProfile
        return ModelPrompt(
            question: redactor.redact(request.question, profile: profile).text,
            passages: prepared.passages.map { ContextPassage(citation: $0.citation, text: redactor.redact($0.text, profile: profile).text) },
            maxTokens: request.maxTokens)
    }
}
