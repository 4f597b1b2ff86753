import HTTPTypes
import SealgateCore

/// Why a listener refused a connection or request before (or instead of) a handler: the reason code of the
/// problem it answers, the HTTP status, and the label of the `reason` in refusal metrics.
public struct ListenerRefusal: Sendable, Hashable, CustomStringConvertible {
    /// The stable reason code (`urn:sealgate:problem:<code>`, metric label).
    public let reason: ReasonCode
    /// The status of the answer, or `nil` when the connection is closed without one (idle timeout).
    public let status: HTTPResponse.Status?
    /// A short public explanation.
    public let detail: String

    public var description: String { reason.rawValue }

    /// The request is not well-formed HTTP/1.1 (400).
    public static let malformedHTTP = ListenerRefusal(
        reason: .malformedHTTP, status: .badRequest, detail: "The request is not well-formed HTTP/1.1; the connection is closed.")
    /// The request line and headers are too large (431).
    public static let headersTooLarge = ListenerRefusal(
        reason: .headersTooLarge, status: .init(code: 431, reasonPhrase: "Request Header Fields Too Large"),
        detail: "The request line and headers exceed the limit; the connection is closed.")
    /// The headers were too slow (408).
    public static let headerTimeout = ListenerRefusal(
        reason: .headerTimeout, status: .requestTimeout, detail: "The request headers did not arrive in time; the connection is closed.")
    /// The body was too slow (408).
    public static let bodyTimeout = ListenerRefusal(
        reason: .bodyTimeout, status: .requestTimeout, detail: "The request body did not arrive in time; the connection is closed.")
    /// The connection was idle too long (no answer).
    public static let idleTimeout = ListenerRefusal(reason: .idleTimeout, status: nil, detail: "The connection was idle too long.")
    /// Too many connections are open (503).
    public static let connectionLimit = ListenerRefusal(
        reason: .connectionLimit, status: .serviceUnavailable, detail: "Too many connections are open; try again later.")

    /// Every refusal, for documentation and metric pre-registration.
    public static let all: [ListenerRefusal] = [.malformedHTTP, .headersTooLarge, .headerTimeout, .bodyTimeout, .idleTimeout, .connectionLimit]
}

/// The answer a listener sends for a refusal: a problem document in the shape of the service it fronts.
public struct ListenerProblem: Sendable {
    /// The media type, `application/problem+json`.
    public var contentType: String
    /// The encoded problem document.
    public var body: [UInt8]

    /// Creates an answer.
    public init(contentType: String = "application/problem+json", body: [UInt8]) {
        self.contentType = contentType
        self.body = body
    }
}

/// The error the listener raises into a request body it refused mid-way (a body timeout or a framing error), so a
/// handler reading the body fails instead of taking a truncated body for a complete one.
public struct ListenerRefusalError: Error, Sendable {
    /// What the listener refused.
    public let refusal: ListenerRefusal
}
