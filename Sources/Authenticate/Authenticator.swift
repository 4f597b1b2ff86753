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
    }

    let resolve: @Sendable (String) async -> Context.Identity?
    let refuse: @Sendable (Refusal, Request, Context) async -> Response

    /// Creates an authenticator.
    /// - Parameters:
    ///   - resolve: maps a bearer token to the identity it proves (`nil`: unknown).
    ///   - refuse: the response for a refused request (and whatever recording the refusal needs).
    public init(
        resolve: @escaping @Sendable (String) async -> Context.Identity?,
        refuse: @escaping @Sendable (Refusal, Request, Context) async -> Response
    ) {
        self.resolve = resolve
        self.refuse = refuse
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let token: String
        switch BearerCredential.parse(request.headers) {
        case .failure(let problem): return await refuse(.credential(problem), request, context)
        case .success(let value): token = value
        }
        guard let identity = await resolve(token) else { return await refuse(.unknown, request, context) }
        var context = context
        context.identity = identity
        return try await next(request, context)
    }
}
