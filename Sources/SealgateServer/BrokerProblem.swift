import Foundation
import HTTPTypes
import Hummingbird
import KeyBroker
import NIOCore

/// RFC 7807 problem responses of the broker, with Trustee-compatible KBS error types
/// (`https://github.com/confidential-containers/kbs/errors/<Name>`) and the stable Sealgate reason in `reason`.
enum BrokerProblem {
    static let typePrefix = "https://github.com/confidential-containers/kbs/errors/"

    struct Body: Encodable {
        var type: String
        var title: String
        var status: Int
        var detail: String
        var reason: String
        var rule: String
        /// Attestation failure reasons (stable codes), when the evidence did not appraise.
        var causes: [String]?
    }

    /// The HTTP status and KBS error name of a broker reason.
    static func classify(_ reason: BrokerReason, byPolicy: Bool) -> (HTTPResponse.Status, String) {
        if byPolicy { return (.forbidden, "PolicyDeny") }
        switch reason {
        case .unauthenticated: return (.unauthorized, "TokenNotFound")
        case .unknownSession, .nonceReplayed: return (.unauthorized, "UnAuthenticatedCookie")
        case .sessionExpired: return (.unauthorized, "ExpiredCookie")
        case .tokenInvalid: return (.unauthorized, "TokenParseFailed")
        case .tokenExpired: return (.unauthorized, "TokenExpired")
        case .adminUnauthenticated: return (.unauthorized, "AdminAuth")
        case .roleMissing: return (.forbidden, "AdminAuth")
        case .unsupportedVersion: return (.badRequest, "ProtocolVersion")
        case .unsupportedTEE: return (.badRequest, "UnsupportedTee")
        case .malformedJWK, .malformedRequest, .unknownTimeRange, .bucketCountOutOfRange, .imageSignatureRefused: return (.badRequest, "InvalidRequest")
        case .nonceMismatch, .attestationContraindicated: return (.forbidden, "AttestationFailed")
        case .unknownResource, .tenantShredded: return (.notFound, "ResourceNotFound")
        case .alreadyExists, .conflict: return (.conflict, "Conflict")
        case .encryptionFailed: return (.internalServerError, "JWEFailed")
        case .tokenIssueFailed: return (.internalServerError, "TokenIssueFailed")
        case .storageUnavailable: return (.serviceUnavailable, "StorageUnavailable")
        case .workloadKeyNotBound: return (.forbidden, "AttestationFailed")
        case .workloadNotEnrolled: return (.notFound, "ResourceNotFound")
        case .certificateIssueFailed: return (.internalServerError, "CertificateIssueFailed")
        case .clientCertificateRequired: return (.unauthorized, "ClientCertificateRequired")
        case .clientCertificateMismatch: return (.forbidden, "ClientCertificateMismatch")
        case .quorumRequired: return (.forbidden, "QuorumRequired")
        case .rateLimited: return (.tooManyRequests, "TooManyRequests")
        case .proposalSelfApproval, .proposalApproverTooNew, .breakGlassNotPermitted: return (.forbidden, "AdminAuth")
        case .credentialRevoked: return (.unauthorized, "AdminAuth")
        case .proposalAlreadyApproved, .proposalExpired, .proposalDigestMismatch, .proposalClosed: return (.conflict, "Conflict")
        default: return (.forbidden, "PolicyDeny")
        }
    }

    static func detail(_ decision: ReleaseDecision) -> String {
        switch decision.reason {
        case .unauthenticated where decision.rule == "session.attested": return "The session has not attested yet."
        case .unauthenticated: return "No kbs-session-id cookie or bearer token was presented."
        case .rateLimited: return "Too many requests from this address; retry in a second."
        case .unknownSession: return "The session is unknown."
        case .sessionExpired: return "The session has expired; start again with auth."
        case .nonceReplayed: return "This session's nonce was already used."
        case .nonceMismatch: return "The runtime data does not carry this session's nonce."
        case .tokenInvalid: return "The token is not one this broker issued."
        case .tokenExpired: return "The token has expired; attest again."
        case .malformedJWK: return "tee-pubkey is not a valid public JWK (EC P-256/P-384/P-521 or RSA ≥ 2048 bits)."
        case .attestationContraindicated:
            let failures = decision.result?.failures.map(\.reason.rawValue).joined(separator: ", ") ?? ""
            return "The evidence did not appraise: \(failures)."
        case .unknownResource: return "No such resource."
        case .tenantShredded: return "The tenant's keys were destroyed."
        case .workloadKeyNotBound: return "The public key is not the workload key the attested evidence bound (runtime-data workload-pubkey)."
        case .clientCertificateRequired: return "This broker requires the workload certificate on the TLS connection (mutual TLS)."
        case .clientCertificateMismatch: return "The TLS client certificate does not certify the workload key the token's evidence bound."
        case .workloadNotEnrolled: return "No enrolment for this workload class: enrol it with `sealgate keys enrol-workload`."
        case .adminUnauthenticated: return "A valid admin bearer credential is required."
        case .roleMissing: return "The credential lacks the role this call needs (\(decision.rule))."
        case .quorumRequired:
            return "The operations policy needs a quorum for this action: propose it with `sealgate keys propose` and have other credentials approve it."
        case .proposalSelfApproval: return "A proposer cannot approve its own proposal."
        case .proposalApproverTooNew: return "A credential created after a proposal cannot approve it."
        case .proposalAlreadyApproved: return "This credential already approved the proposal."
        case .proposalExpired: return "The proposal expired before it had its approvals; propose it again."
        case .proposalDigestMismatch: return "The digest approved is not the digest of the proposal's content: look at `sealgate keys pending` again."
        case .proposalClosed: return "The proposal was already executed or failed."
        case .credentialRevoked: return "This admin credential was revoked."
        case .breakGlassNotPermitted: return "The operations policy does not let this credential open a break-glass override of that length."
        default: return "Refused: \(decision.reason.rawValue) (rule \(decision.rule))."
        }
    }

    static func response(_ decision: ReleaseDecision) -> Response {
        let (status, name) = classify(decision.reason, byPolicy: decision.byPolicy)
        let body = Body(
            type: typePrefix + name, title: name, status: status.code, detail: detail(decision), reason: decision.reason.rawValue,
            rule: decision.rule, causes: decision.causes.isEmpty ? nil : decision.causes.map(\.rawValue))
        var headers: HTTPFields = [.contentType: "application/problem+json", .cacheControl: "no-store"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"sealgate-broker\"" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: (try? encoder.encode(body)) ?? Data("{}".utf8))))
    }

    static func bad(_ detail: String) -> Response {
        response(ReleaseDecision(allowed: false, reason: .malformedRequest, rule: detail, result: nil))
    }
}
