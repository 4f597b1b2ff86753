import Hummingbird

/// Which of the gateway's requests keep their connection's event loop (its listener runs connections there:
/// ``HTTPHardening/ListenerSettings/runsOnEventLoop``): the answer routes, `POST /v1/chat/completions` and
/// `POST /v1/query`, whose work is microseconds per stage once the embedder runs on threads of its own
/// (`MiniLMEmbedder` moves its encoding to the cooperative pool; the hashing embedder is cheap). Every other route —
/// ingestion (chunking, embedding and sealing whole documents), listings, deletes, audit proofs, receipts, the
/// dashboard, metrics — runs on the cooperative pool as before, so none of them holds up the loop's other
/// connections; only the answer is written from the loop again.
struct EventLoopAffinity<Context: RequestContext>: RouterMiddleware {
    /// The paths served on the connection's event loop (method `POST`).
    static var answerPaths: Set<String> { ["/v1/chat/completions", "/v1/query"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method == .post, Self.answerPaths.contains(request.uri.path) { return try await next(request, context) }
        return try await withTaskExecutorPreference(globalConcurrentExecutor) { try await next(request, context) }
    }
}
