import Hummingbird

/// A request context that carries the identity the ``Authenticator`` established.
public protocol AuthenticatedRequestContext<Identity>: RequestContext {
    /// Who the credential proves the caller to be.
    associatedtype Identity: Sendable
    /// Set by ``Authenticator`` before any route of its group runs; `nil` only outside such a group.
    var identity: Identity? { get set }
}

/// The stage that authenticates: parses the bearer credential (``BearerCredential``), resolves it to an
/// identity, and either hands the request on with the identity in its context or answers the refusal.
///
/// One authenticator per route group; the same type guards the gateway routes, the auditor routes and
/// the broker's admin API, each with its own resolver and refusal.
public struct Authenticator<Context: AuthenticatedRequestContext>: RouterMiddleware {
    /// Why a request was refused.
    public enum Refusal: Sendable, Equatable {
        /// The request carried no usable bearer credential.
        case credential(BearerCredentialProblem)
        /// The credential is well formed but proves nobody.
        case unknown
        /// The credentials could not be looked up (their store failed): fail closed.
        case unavailable
    }

    /// What a token resolved to.
    public enum Resolution: Sendable {
        /// The identity the token proves.
        case identity(Context.Identity)
        /// Nobody: the token is not known.
        case unknown
        /// The lookup itself failed.
        case unavailable
    }

    let resolve: @Sendable (String) async -> Resolution
    let refuse: @Sendable (Refusal, Request, Context) async -> Response

    /// Creates an authenticator whose lookup can fail (a credential store).
    /// - Parameters:
    ///   - resolve: maps a bearer token to what it proves.
    ///   - refuse: the response for a refused request (and whatever recording the refusal needs).
    public init(
        resolving resolve: @escaping @Sendable (String) async -> Resolution,
        refuse: @escaping @Sendable (Refusal, Request, Context) async -> Response
    ) {
        self.resolve = resolve
        self.refuse = refuse
    }

    /// Creates an authenticator over an in-memory lookup (`nil`: unknown).
    public init(
        resolve: @escaping @Sendable (String) async -> Context.Identity?,
        refuse: @escaping @Sendable (Refusal, Request, Context) async -> Response
    ) {
        self.init(resolving: { token in await resolve(token).map(Resolution.identity) ?? .unknown }, refuse: refuse)
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let token: String
        switch BearerCredential.parse(request.headers) {
        case .failure(let problem): return await refuse(.credential(problem), request, context)
        case .success(let value): token = value
        }
        let identity: Context.Identity
        switch await resolve(token) {
        case .identity(let value): identity = value
        case .unknown: return await refuse(.unknown, request, context)
        case .unavailable: return await refuse(.unavailable, request, context)
        }
        var context = context
        context.identity = identity
        return try await next(request, context)
    }
}
