/// What each denial reason means and the document section that explains it, for the dashboards' "top denial
/// reasons" panel. Reasons not listed are shown with the generic problem table as their section.
public enum ReasonCatalog {
    /// A reason's meaning and where it is documented.
    public struct Entry: Sendable, Encodable, Equatable {
        /// One sentence.
        public let meaning: String
        /// A path and anchor in the repository's docs, e.g. `docs/api.md#problems`.
        public let section: String
    }

    static let problems = "docs/api.md#problems"
    static let broker = "docs/broker.md#audit-log-metrics-and-security-events"
    static let listener = "docs/listener.md"
    static let dashboard = "docs/dashboard.md#bad-input"

    static let entries: [String: Entry] = [
        "missing_credentials": Entry(meaning: "No bearer credential was sent.", section: problems),
        "invalid_credentials": Entry(meaning: "The credential is not known (or not of the kind the route needs).", section: problems),
        "malformed_request": Entry(meaning: "The body or parameters are not of the expected shape.", section: problems),
        "body_too_large": Entry(meaning: "The body exceeds the configured limit.", section: problems),
        "empty_question": Entry(meaning: "The question was blank.", section: problems),
        "empty_document": Entry(meaning: "The document text was blank.", section: problems),
        "unknown_data_class": Entry(meaning: "The request named a data class that is not configured.", section: problems),
        "unknown_model_profile": Entry(meaning: "The request named a model profile that is not configured.", section: problems),
        "data_class_not_permitted": Entry(meaning: "The principal may not use this data class.", section: problems),
        "model_not_permitted": Entry(meaning: "The model profile is not allowed for the data class.", section: problems),
        "model_not_attested": Entry(meaning: "The class requires an attested model and this one did not prove it.", section: problems),
        "scope_not_permitted": Entry(meaning: "Empty scope, or a collection the principal may not read.", section: problems),
        "write_not_permitted": Entry(meaning: "The principal has no write grant for the collection.", section: problems),
        "quota_exceeded": Entry(meaning: "The document would take its tenant past retrieval.max_chunks_per_tenant.", section: problems),
        "release_denied": Entry(meaning: "The broker did not release this tenant and class's key.", section: problems),
        "key_lease_unavailable": Entry(meaning: "The gateway holds no valid attested key lease.", section: problems),
        "attestation_denied": Entry(meaning: "The key broker refused the gateway's attestation.", section: problems),
        "broker_unavailable": Entry(meaning: "The key broker could not be reached.", section: problems),
        "audit_unavailable": Entry(meaning: "The audit record could not be made durable, so no answer was given.", section: problems),
        "storage_unavailable": Entry(meaning: "The document store (or the broker's store) failed or did not answer.", section: problems),
        "integrity_failure": Entry(meaning: "Stored ciphertext failed authentication.", section: problems),
        "rate_limited": Entry(meaning: "Too many requests from one address.", section: problems),
        "document_not_found": Entry(meaning: "No such document for this tenant.", section: problems),
        "not_found": Entry(meaning: "Unknown route or entry.", section: problems),
        "model_unavailable": Entry(meaning: "The model failed or timed out.", section: problems),
        "embedder_unavailable": Entry(meaning: "The embedder failed or timed out.", section: problems),
        "malformed_http": Entry(meaning: "The listener refused bytes that are not well-formed HTTP/1.1.", section: listener),
        "header_timeout": Entry(meaning: "Headers did not arrive in time.", section: listener),
        "connection_limit": Entry(meaning: "Too many open connections.", section: listener),
        "unknown_time_range": Entry(meaning: "A dashboard data request named an unknown range.", section: dashboard),
        "bucket_count_out_of_range": Entry(meaning: "A dashboard data request asked for too many (or too few) buckets.", section: dashboard),
        "tenant_not_permitted": Entry(meaning: "A tenant credential asked for another tenant's dashboard.", section: dashboard),
        // Broker reasons.
        "unauthenticated": Entry(meaning: "No session cookie or attestation token was presented.", section: broker),
        "mock_evidence_not_permitted": Entry(meaning: "Mock TEE evidence is not accepted for this resource.", section: broker),
        "status_not_accepted": Entry(meaning: "The appraisal status (e.g. TCB out of date) is not accepted by the policy.", section: broker),
        "attestation_contraindicated": Entry(meaning: "The evidence did not appraise against the reference values.", section: broker),
        "unknown_resource": Entry(meaning: "No such key or secret.", section: broker),
        "tenant_shredded": Entry(meaning: "The tenant's keys were destroyed.", section: broker),
        "token_invalid": Entry(meaning: "The attestation token is not one this broker issued.", section: broker),
        "token_expired": Entry(meaning: "The attestation token has expired.", section: broker),
        "nonce_mismatch": Entry(meaning: "The evidence does not bind this session's nonce.", section: broker),
        "nonce_replayed": Entry(meaning: "The session's nonce was already used.", section: broker),
        "role_missing": Entry(meaning: "The admin credential lacks the role the action needs.", section: "docs/broker.md#admin-credentials-and-roles"),
        "admin_unauthenticated": Entry(meaning: "No valid admin credential was sent.", section: "docs/broker.md#admin-credentials-and-roles"),
    ]

    /// The entry of `reason`.
    public static func entry(_ reason: String) -> Entry {
        entries[reason] ?? Entry(meaning: "See the reason code tables.", section: reason.contains("_") ? problems : broker)
    }
}
