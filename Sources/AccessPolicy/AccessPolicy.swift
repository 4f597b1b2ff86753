import Foundation
import SealgateCore

/// The gateway's access policy: who may ask what, at which data class, through which model, over which
/// collections. Pure — no I/O, no clock, no randomness — so every decision is a value that can be read and
/// tested on its own. (The broker's key-release policy over attestation results is `ReleasePolicy`.)
public struct AccessPolicy: Sendable {
    /// The resolved policy values.
    public let table: PolicyTable

    /// Creates a policy over a table.
    public init(_ table: PolicyTable) { self.table = table }

    /// Decides a question: non-empty, a defined class the principal may use, a model allowed at that class,
    /// a non-empty scope of readable collections, and an embedder allowed to see the class.
    public func decide(_ grants: Grants, _ request: QueryAccess) -> AccessDecision<QueryGrant> {
        guard request.question.contains(where: { !$0.isWhitespace }) else {
            return .deny(PolicyDenial(.emptyQuestion, .questionPresent, "The question is empty."))
        }
        guard let name = request.dataClass, let dataClass = DataClass(name),
            let rank = table.classes.firstIndex(where: { $0.name == dataClass })
        else { return .deny(PolicyDenial(.unknownDataClass, .dataClassDefined, "The data class is missing or not defined.")) }
        let rule = table.classes[rank]
        guard grants.mayUse(dataClass) else {
            return .deny(PolicyDenial(.dataClassNotPermitted, .principalDataClasses, "You may not use this data class."))
        }
        let modelID: ModelProfileID
        if let requested = request.model, !requested.isEmpty {
            guard let id = ModelProfileID(requested), table.models.contains(id) else {
                return .deny(PolicyDenial(.unknownModelProfile, .modelDefined, "The model profile is not defined."))
            }
            modelID = id
        } else {
            guard let first = rule.models.first else {
                return .deny(PolicyDenial(.modelNotPermitted, .dataClassModels(dataClass), "No model may see this data class."))
            }
            modelID = first
        }
        guard rule.models.contains(modelID) else {
            return .deny(PolicyDenial(.modelNotPermitted, .dataClassModels(dataClass), "This model profile may not see this data class."))
        }
        if rule.requireAttestedModels && !table.attestedModels.contains(modelID) {
            // Decided before retrieval: no passage of this class is decrypted for a model outside attested TEEs.
            return .deny(
                PolicyDenial(
                    .modelNotAttested, .dataClassAttestedModels(dataClass),
                    "This data class may reach only attested models; this model profile is not attested."))
        }
        guard !request.scope.isEmpty else {
            return .deny(PolicyDenial(.scopeNotPermitted, .scopeNamed, "The retrieval scope names no collection."))
        }
        var collections: [CollectionName] = []
        for entry in request.scope {
            guard let collection = CollectionName(ScopeEntry.trimmed(entry)), grants.mayRead(collection) else {
                return .deny(PolicyDenial(.scopeNotPermitted, .principalRead, "The retrieval scope names a collection you may not read."))
            }
            collections.append(collection)
        }
        if let allowed = table.remoteEmbedderClasses, !allowed.contains(dataClass) {
            // The question is request plaintext: a remote embedder sees it only for classes that allow it.
            return .deny(PolicyDenial(.modelNotPermitted, .embedderClasses, "The configured embedder may not see this data class."))
        }
        let readable = Set(table.classes.prefix(rank + 1).map(\.name).filter { grants.mayUse($0) })
        let context = RequestContext(
            requestID: request.requestID, principal: request.principal, dataClass: dataClass, model: modelID,
            scope: RetrievalScope(collections: collections))
        let topK = min(table.maxTopK, max(1, request.topK ?? table.defaultTopK))
        return .allow(QueryGrant(context: context, classRule: rule, readableClasses: readable, topK: topK), .dataClassModels(dataClass))
    }

    /// Decides a document: a writable collection, a defined class the principal may use, non-empty text within
    /// the size limit, and an embedder allowed to see the class.
    public func decide(_ grants: Grants, _ request: IngestAccess) -> AccessDecision<DataClass> {
        guard grants.mayWrite(request.collection) else {
            return .deny(PolicyDenial(.writeNotPermitted, .principalWrite, "You may not write to this collection."))
        }
        guard let dataClass = DataClass(request.dataClass), table.rule(dataClass) != nil else {
            return .deny(PolicyDenial(.unknownDataClass, .dataClassDefined, "The data class is not defined."))
        }
        guard grants.mayUse(dataClass) else {
            return .deny(PolicyDenial(.dataClassNotPermitted, .principalDataClasses, "You may not use this data class."))
        }
        guard request.text.contains(where: { !$0.isWhitespace }) else {
            return .deny(PolicyDenial(.emptyDocument, .documentPresent, "The document text is empty."))
        }
        guard request.text.utf8.count <= table.maxDocumentBytes else {
            return .deny(PolicyDenial(.bodyTooLarge, .documentSize, "The document exceeds retrieval.max_document_bytes."))
        }
        if let allowed = table.remoteEmbedderClasses, !allowed.contains(dataClass) {
            return .deny(PolicyDenial(.modelNotPermitted, .embedderClasses, "The configured embedder may not see this data class."))
        }
        return .allow(dataClass, .principalWrite)
    }

    /// Decides reading (listing) or changing (deleting) a collection.
    public func decide(_ grants: Grants, _ request: CollectionAccess) -> AccessDecision<CollectionName> {
        switch request {
        case .read(let collection):
            guard grants.mayRead(collection) else {
                return .deny(PolicyDenial(.scopeNotPermitted, .principalRead, "You may not read this collection."))
            }
            return .allow(collection, .principalRead)
        case .write(let collection):
            guard grants.mayWrite(collection) else {
                return .deny(PolicyDenial(.writeNotPermitted, .principalWrite, "You may not write to this collection."))
            }
            return .allow(collection, .principalWrite)
        }
    }
}
