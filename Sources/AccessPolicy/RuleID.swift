import SealgateCore

/// The rule of the gateway's access policy that decided a request: a type, so a rule cannot be misspelt.
///
/// ``auditName`` is the text audit records and problem details carry (`rule`); checks of the request's own
/// shape (an empty question, an undefined class or model) name no configured rule and record none.
public enum RuleID: Hashable, Sendable {
    /// The question must not be empty.
    case questionPresent
    /// The data class must be defined (`data_classes`).
    case dataClassDefined
    /// The principal must be granted the data class (`principals[].data_classes`).
    case principalDataClasses
    /// A requested model profile must be defined and served.
    case modelDefined
    /// The model profile must be allowed to see the data class (`data_classes[].models`).
    case dataClassModels(DataClass)
    /// The class reaches only attested models (`data_classes[].require_attested_models`).
    case dataClassAttestedModels(DataClass)
    /// The retrieval scope must name at least one collection.
    case scopeNamed
    /// Every collection read must be granted (`principals[].read`).
    case principalRead
    /// Every collection written must be granted (`principals[].write`).
    case principalWrite
    /// A document must have text.
    case documentPresent
    /// A document must fit `retrieval.max_document_bytes`.
    case documentSize
    /// A remote embedder sees only the classes it is allowed (`retrieval.embedder.allowed_data_classes`).
    case embedderClasses

    /// The rule's name in audit records, or `nil` for checks of the request's shape.
    public var auditName: String? {
        switch self {
        case .questionPresent, .dataClassDefined, .modelDefined, .documentPresent, .documentSize: return nil
        case .principalDataClasses: return "principals.data_classes"
        case .dataClassModels(let dataClass): return "data_classes.\(dataClass).models"
        case .dataClassAttestedModels(let dataClass): return "data_classes.\(dataClass).require_attested_models"
        case .scopeNamed: return "scope"
        case .principalRead: return "principals.read"
        case .principalWrite: return "principals.write"
        case .embedderClasses: return "retrieval.embedder.allowed_data_classes"
        }
    }
}
