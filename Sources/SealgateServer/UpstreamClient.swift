import AsyncHTTPClient

extension Sealgate {
    /// The one HTTP client of the OpenAI-compatible model profiles without attestation (`insecure_unattested`) and of
    /// the OpenAI-compatible embedder, for
    /// the process's life (never shut down, like `HTTPClient.shared`, whose settings it keeps otherwise: connection
    /// pool, timeouts, full certificate verification for `https`). It differs where the answer path gains nothing:
    /// - redirects are not followed: the prompt, with the passages retrieved for it, goes to the configured
    ///   `base_url` or nowhere (a 3xx is a failed model call, `model_unavailable`);
    /// - no `Accept-Encoding` is sent and nothing is decompressed (answers are small JSON on a local network);
    /// - no tracing span is built per request (the gateway bootstraps no tracer; the default no-op one still parsed
    ///   the URL and set span attributes on every call).
    static let upstreamClient: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.tracing.tracer = nil
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
}
