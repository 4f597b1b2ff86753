import Foundation

/// The collections a request may retrieve from.
public struct RetrievalScope: Sendable, Hashable, Codable {
    /// The collections, deduplicated and sorted.
    public let collections: [CollectionName]

    /// Creates a scope from collection names (duplicates are removed).
    public init(collections: [CollectionName]) {
        self.collections = Array(Set(collections)).sorted()
    }
}

/// An authenticated caller.
public struct Principal: Sendable, Hashable {
    /// The tenant the credential belongs to: the only tenant this caller can ever touch.
    public let tenant: TenantID
    /// The principal's id inside the tenant.
    public let id: PrincipalID

    /// Creates a principal.
    public init(tenant: TenantID, id: PrincipalID) {
        self.tenant = tenant
        self.id = id
    }
}

/// Everything the pipeline knows about one request once it is authenticated and decided.
public struct RequestContext: Sendable {
    /// A random id for correlating logs and the audit record.
    public let requestID: String
    /// Who asks.
    public let principal: Principal
    /// The data class the request is made at; chunks of this class or lower may be retrieved.
    public let dataClass: DataClass
    /// The model profile that will see the retrieved plaintext.
    public let model: ModelProfileID
    /// Where retrieval may look.
    public let scope: RetrievalScope

    /// Creates a context.
    public init(requestID: String, principal: Principal, dataClass: DataClass, model: ModelProfileID, scope: RetrievalScope) {
        self.requestID = requestID
        self.principal = principal
        self.dataClass = dataClass
        self.model = model
        self.scope = scope
    }

    /// The tenant of the request.
    public var tenant: TenantID { principal.tenant }
}
