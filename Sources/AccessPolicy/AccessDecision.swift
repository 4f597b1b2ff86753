import SealgateCore

/// A refusal by the access policy: the reason code, the rule that refused, and a client-safe explanation.
public struct PolicyDenial: Sendable, Equatable {
    /// The stable reason code.
    public let reason: ReasonCode
    /// The rule that refused.
    public let rule: RuleID
    /// A sentence for the problem response; it never quotes the request.
    public let detail: String

    /// Creates a denial.
    public init(_ reason: ReasonCode, _ rule: RuleID, _ detail: String) {
        self.reason = reason
        self.rule = rule
        self.detail = detail
    }
}

/// The outcome of one access decision.
public enum AccessDecision<Grant: Sendable>: Sendable {
    /// Allowed, with what the request may do and the rule that allowed it.
    case allow(Grant, RuleID)
    /// Refused.
    case deny(PolicyDenial)

    /// The refusal, if any.
    public var denial: PolicyDenial? {
        if case .deny(let denial) = self { return denial }
        return nil
    }
}

/// A question to answer, as the policy sees it (names not yet validated).
public struct QueryAccess: Sendable {
    public var requestID: String
    public var principal: Principal
    public var question: String
    public var dataClass: String?
    public var model: String?
    public var scope: [String]
    public var topK: Int?

    /// Creates a query access request.
    public init(requestID: String, principal: Principal, question: String, dataClass: String?, model: String?, scope: [String], topK: Int?) {
        self.requestID = requestID
        self.principal = principal
        self.question = question
        self.dataClass = dataClass
        self.model = model
        self.scope = scope
        self.topK = topK
    }
}

/// What an allowed question may do.
public struct QueryGrant: Sendable {
    /// Who asks, at which class, through which model, over which collections.
    public let context: RequestContext
    /// The rule of the request's class.
    public let classRule: ClassRule
    /// The classes whose chunks it may read: its own and less sensitive ones the principal may use.
    public let readableClasses: Set<DataClass>
    /// How many passages to retrieve.
    public let topK: Int
}

/// A document to store, as the policy sees it.
public struct IngestAccess: Sendable {
    public var collection: CollectionName
    public var dataClass: String
    public var text: String

    /// Creates an ingest access request.
    public init(collection: CollectionName, dataClass: String, text: String) {
        self.collection = collection
        self.dataClass = dataClass
        self.text = text
    }
}

/// Reading (listing) or changing (deleting) one collection.
public enum CollectionAccess: Sendable {
    case read(CollectionName)
    case write(CollectionName)
}
