import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SealgateCore

/// RFC 7807 problem responses. The only place where reason codes become HTTP.
enum Problem {
    static let auditIndexHeader = HTTPField.Name.constant("Sealgate-Audit-Index")

    static func status(for code: ReasonCode) -> HTTPResponse.Status {
        switch code {
        case .modelDigestMismatch: return .forbidden
        case .missingCredentials, .invalidCredentials: return .unauthorized
        case .malformedRequest, .emptyQuestion, .emptyDocument, .unknownDataClass, .unknownModelProfile, .unknownTimeRange, .bucketCountOutOfRange:
            return .badRequest
        case .bodyTooLarge: return .contentTooLarge
        case .dataClassNotPermitted, .modelNotPermitted, .modelNotAttested, .scopeNotPermitted, .writeNotPermitted, .releaseDenied, .tenantNotPermitted,
            .quotaExceeded:
            return .forbidden
        case .documentNotFound, .notFound: return .notFound
        case .keyLeaseUnavailable, .auditUnavailable, .receiptPending, .storageUnavailable, .attestationFailed, .attestationDenied, .brokerUnavailable:
            return .serviceUnavailable
        case .modelUnavailable, .embedderUnavailable: return .badGateway
        case .rateLimited: return .tooManyRequests
        case .embedderMismatch: return .conflict
        default: return .internalServerError
        }
    }

    static func title(for code: ReasonCode) -> String {
        let words = code.rawValue.split(separator: "_").map(String.init)
        guard let first = words.first else { return "Error" }
        return ([first.prefix(1).uppercased() + first.dropFirst()] + words.dropFirst()).joined(separator: " ")
    }

    struct Body: Encodable {
        var type: String
        var title: String
        var status: Int
        var detail: String
        var instance: String?
    }

    /// The problem response for a denial; `auditIndex` goes in `Sealgate-Audit-Index` when the denial was recorded.
    static func response(_ denial: Denial, auditIndex: UInt64? = nil, instance: String? = nil) -> Response {
        let status = status(for: denial.reason)
        let body = Body(
            type: "urn:sealgate:problem:\(denial.reason.rawValue)", title: title(for: denial.reason), status: status.code,
            detail: denial.detail, instance: instance)
        var headers: HTTPFields = [.contentType: "application/problem+json", .cacheControl: "no-store"]
        if let auditIndex { headers[auditIndexHeader] = String(auditIndex) }
        if denial.reason == .receiptPending { headers[.retryAfter] = "1" }
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"sealgate\"" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(body)) ?? Data("{}".utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Turns anything thrown past a handler into a problem response without internal detail.
struct ProblemMiddleware<Context: Hummingbird.RequestContext>: RouterMiddleware {
    let metrics: any MetricsRecorder

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            metrics.increment("sealgate_requests_total", labels: [("route", "unknown"), ("outcome", "not_found")])
            return Problem.response(Denial(.notFound, "No such endpoint."))
        } catch let error as HTTPError where error.status == .contentTooLarge {
            return Problem.response(Denial(.bodyTooLarge, "The request body exceeds the limit."))
        } catch {
            context.logger.error("unhandled error", metadata: ["error.type": "\(type(of: error))"])
            return Problem.response(Denial(.internalError, "The request failed."))
        }
    }
}

extension HTTPField.Name {
    /// A header name written in the source: a valid token by construction (the tests exercise every one), so an
    /// invalid literal is a programming error, not a runtime condition.
    static func constant(_ name: String) -> HTTPField.Name {
        guard let field = HTTPField.Name(name) else { preconditionFailure("invalid HTTP field name literal \(name)") }
        return field
    }
}
