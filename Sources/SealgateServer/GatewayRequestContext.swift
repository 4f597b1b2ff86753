import AccessPolicy
import Authenticate
import Gateway
import Hummingbird
import KeyBroker
import NIOCore
import SealgateCore

/// Who a gateway request's credential proves the caller to be.
public enum GatewayIdentity: Sendable {
    /// A tenant's principal, with its grants.
    case caller(Caller)
    /// An auditor: may read the audit log's entries, tiles and proofs.
    case auditor
}

/// The gateway's request context: Hummingbird's core storage, the request id every audit record and log line
/// of the request carries, and the identity the ``Authenticator`` established.
public struct GatewayRequestContext: AuthenticatedRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: GatewayIdentity?
    /// A random id, assigned when the request arrives.
    public let requestID: String
    /// The client's IP address (for per-source rate limits), if known.
    public let remoteAddress: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        identity = nil
        requestID = Gateway.newRequestID()
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    /// The authenticated caller (set by the authenticator of every `/v1` route group).
    public var caller: Caller? {
        if case .caller(let caller) = identity { return caller }
        return nil
    }
}

extension SealgateAPI {
    /// The authenticator of a tenant route: a refusal is audited and counted under the route's kind.
    func callerAuthentication(_ kind: AuditKind) -> Authenticator<GatewayRequestContext> {
        let credentials = gateway.credentials
        let recorder = gateway.recorder
        return Authenticator(
            resolve: { token in credentials.identity(for: token).map(GatewayIdentity.caller) },
            refuse: { refusal, _, context in
                let failure = await recorder.deny(Refusal(Self.denial(refusal, key: "an API key"), kind: kind, requestID: context.requestID, principal: nil))
                return Problem.response(failure.denial, auditIndex: failure.auditIndex)
            })
    }

    /// The authenticator of the auditor routes (kind `audit_read`).
    func auditorAuthentication() -> Authenticator<GatewayRequestContext> {
        let auditors = auditorKeys
        let recorder = gateway.recorder
        return Authenticator(
            resolve: { token in auditors.identity(for: token) },
            refuse: { refusal, _, context in
                let denial: Denial
                switch refusal {
                case .unknown: denial = Denial(.invalidCredentials, "The key is not an auditor key.")
                case .credential, .unavailable: denial = Self.denial(refusal, key: "an auditor key")
                }
                let failure = await recorder.deny(Refusal(denial, kind: .auditRead, requestID: context.requestID, principal: nil))
                return Problem.response(failure.denial, auditIndex: failure.auditIndex)
            })
    }

    /// The client-facing denial of an authentication refusal.
    static func denial(_ refusal: Authenticator<GatewayRequestContext>.Refusal, key: String) -> Denial {
        switch refusal {
        case .credential(.missing), .credential(.wrongScheme):
            return Denial(.missingCredentials, "Send \(key) as 'Authorization: Bearer <key>'.")
        case .credential(.empty): return Denial(.missingCredentials, "The bearer credential is empty.")
        case .credential(.malformed):
            return Denial(.invalidCredentials, "Send exactly one Authorization field with one bearer credential.")
        case .unknown: return Denial(.invalidCredentials, "The API key is not valid.")
        case .unavailable: return Denial(.internalError, "The credentials could not be checked.")
        }
    }
}

/// The broker's request context: Hummingbird's core storage and, on the admin API, the admin credential the
/// ``Authenticator`` resolved.
public struct BrokerRequestContext: AuthenticatedRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: AdminCredential?
    /// The connection, to read the TLS client certificate (mutual TLS).
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        identity = nil
        channel = source.channel
    }
}
