/// A stable, machine-readable reason for a denial or failure.
///
/// Reason codes appear in problem responses (`urn:sealgate:problem:<code>`), metric labels and audit
/// records. They never change meaning once published; new ones may be added.
public struct ReasonCode: StringCode {
    /// The code's text, `snake_case`.
    public let rawValue: String

    /// Creates a reason code from its text.
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

extension ReasonCode {
    // Authentication
    /// No `Authorization: Bearer` credential was sent.
    public static let missingCredentials = ReasonCode("missing_credentials")
    /// The credential is not known.
    public static let invalidCredentials = ReasonCode("invalid_credentials")
    // Request shape
    /// The body is not valid JSON of the expected shape.
    public static let malformedRequest = ReasonCode("malformed_request")
    /// The body exceeds the configured limit.
    public static let bodyTooLarge = ReasonCode("body_too_large")
    // Dashboards
    /// A dashboard data request named a time range the ring does not keep.
    public static let unknownTimeRange = ReasonCode("unknown_time_range")
    /// A dashboard data request asked for fewer than one bucket or more than one per minute of the range.
    public static let bucketCountOutOfRange = ReasonCode("bucket_count_out_of_range")
    /// A tenant credential asked for another tenant's figures.
    public static let tenantNotPermitted = ReasonCode("tenant_not_permitted")
    /// The request is not well-formed HTTP/1.1 (bare CR or LF, obs-fold, NUL, bad `Content-Length`,
    /// `Content-Length` with `Transfer-Encoding`, ...); answered by the listener, which then closes the connection.
    public static let malformedHTTP = ReasonCode("malformed_http")
    /// The request line and headers exceed the listener's limit.
    public static let headersTooLarge = ReasonCode("headers_too_large")
    /// The request line and headers did not arrive within the header timeout.
    public static let headerTimeout = ReasonCode("header_timeout")
    /// The request body did not arrive within the body timeout.
    public static let bodyTimeout = ReasonCode("body_timeout")
    /// A keep-alive connection sent nothing within the idle timeout (closed without an answer).
    public static let idleTimeout = ReasonCode("idle_timeout")
    /// The listener already holds its maximum number of connections.
    public static let connectionLimit = ReasonCode("connection_limit")
    /// The question is empty.
    public static let emptyQuestion = ReasonCode("empty_question")
    /// The document text is empty.
    public static let emptyDocument = ReasonCode("empty_document")
    // Policy
    /// The data class is not defined.
    public static let unknownDataClass = ReasonCode("unknown_data_class")
    /// The principal may not use this data class.
    public static let dataClassNotPermitted = ReasonCode("data_class_not_permitted")
    /// The model profile is not defined.
    public static let unknownModelProfile = ReasonCode("unknown_model_profile")
    /// The model profile may not see this data class.
    public static let modelNotPermitted = ReasonCode("model_not_permitted")
    /// Too many requests from this source address (per-source rate limit).
    public static let rateLimited = ReasonCode("rate_limited")
    /// No witnessed checkpoint covers the receipt's record yet (`GET /v1/receipts/{index}`): retry shortly.
    public static let receiptPending = ReasonCode("receipt_pending")
    /// The data class requires attested models (`require_attested_models`) and the model profile is not attested.
    public static let modelNotAttested = ReasonCode("model_not_attested")
    /// The attested upstream's workload certificate does not carry the model digest its profile pins
    /// (`attestation.digest`): nothing was sent.
    public static let modelDigestMismatch = ReasonCode("model_digest_mismatch")
    /// The retrieval scope names a collection the principal may not read.
    public static let scopeNotPermitted = ReasonCode("scope_not_permitted")
    /// The principal may not write to this collection.
    public static let writeNotPermitted = ReasonCode("write_not_permitted")
    /// The document would take its tenant's chunks past `retrieval.max_chunks_per_tenant`.
    public static let quotaExceeded = ReasonCode("quota_exceeded")
    // Keys and attestation
    /// The gateway holds no valid key lease for this tenant and data class.
    public static let keyLeaseUnavailable = ReasonCode("key_lease_unavailable")
    /// The broker refused to release a key.
    public static let releaseDenied = ReasonCode("release_denied")
    /// Attestation evidence did not appraise as affirming.
    public static let attestationFailed = ReasonCode("attestation_failed")
    /// The key broker refused this gateway's attestation, so it holds no keys.
    public static let attestationDenied = ReasonCode("attestation_denied")
    /// The key broker could not be reached (or answered malformed data) and no lease is held.
    public static let brokerUnavailable = ReasonCode("broker_unavailable")
    // Resources and dependencies
    /// The document does not exist (or belongs to someone else).
    public static let documentNotFound = ReasonCode("document_not_found")
    /// The route does not exist.
    public static let notFound = ReasonCode("not_found")
    /// The model failed or timed out.
    public static let modelUnavailable = ReasonCode("model_unavailable")
    /// The client went away while its answer streamed (recorded in the stream's closing audit record only).
    public static let clientDisconnected = ReasonCode("client_disconnected")
    /// The embedder failed or timed out.
    public static let embedderUnavailable = ReasonCode("embedder_unavailable")
    /// A collection in scope holds documents embedded by another embedder than this gateway's: re-index it.
    public static let embedderMismatch = ReasonCode("embedder_mismatch")
    /// The audit log could not record the request, so no answer is given.
    public static let auditUnavailable = ReasonCode("audit_unavailable")
    /// The document store failed or did not answer (SQLite file or PostgreSQL); the broker's store uses the same
    /// code (`BrokerReason.storageUnavailable`).
    public static let storageUnavailable = ReasonCode("storage_unavailable")
    /// Stored ciphertext failed authentication.
    public static let integrityFailure = ReasonCode("integrity_failure")
    /// Anything else.
    public static let internalError = ReasonCode("internal_error")
}

/// A refusal: the value every pipeline stage returns when it says no.
public struct Denial: Error, Sendable, Equatable {
    /// Why, as a stable code.
    public let reason: ReasonCode
    /// A short, public explanation; never contains request content, keys or internal causes.
    public let detail: String

    /// Creates a denial.
    public init(_ reason: ReasonCode, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }
}
