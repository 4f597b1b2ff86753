#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How long a connection may take and how many may be open: the bounds every listener enforces before a request
/// reaches a handler.
///
/// Timeouts are in seconds; `nil` disables one (tests and trusted networks only). The defaults suit an API whose
/// bodies are at most a few MiB: a client has 10 s to send its request line and headers, 30 s for the body, and a
/// keep-alive connection may stay silent for 60 s.
public struct ListenerLimits: Sendable, Equatable {
    /// Seconds from the first byte of a request (or the end of the previous response, when it was pipelined) until
    /// its headers are complete; answered with a `header_timeout` problem, then the connection is closed.
    public var headerTimeout: Double?
    /// Seconds from the end of the headers until the whole body has arrived; a `body_timeout` problem, then close.
    public var bodyTimeout: Double?
    /// Seconds a connection may wait for its next request with nothing received; then it is closed without answer.
    public var idleTimeout: Double?
    /// Connections open at once; further ones are answered `connection_limit` (503) and closed at once.
    public var maxConnections: Int
    /// Largest request line plus headers, in bytes; larger ones are answered `headers_too_large` (431).
    public var maxHeaderBytes: Int
    /// After an answer that leaves a request body unread, at most this many further bytes are read and discarded
    /// (so the client can read the answer before the connection is closed) ...
    public var lingerBytes: Int
    /// ... for at most this many seconds.
    public var lingerSeconds: Double

    /// Creates limits; the defaults are the listener's production settings.
    public init(
        headerTimeout: Double? = 10, bodyTimeout: Double? = 30, idleTimeout: Double? = 60,
        maxConnections: Int = ListenerLimits.defaultMaxConnections(), maxHeaderBytes: Int = 32 * 1024,
        lingerBytes: Int = 256 * 1024, lingerSeconds: Double = 2
    ) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.maxHeaderBytes = maxHeaderBytes
        self.lingerBytes = lingerBytes
        self.lingerSeconds = lingerSeconds
    }

    /// 1,024, or fewer when the open-file limit (`RLIMIT_NOFILE`) is low: half of what remains after 64
    /// descriptors for the process's own files, databases and outgoing connections (at least 16).
    public static func defaultMaxConnections() -> Int {
        var limit = rlimit()
        guard getrlimit(resourceNoFile, &limit) == 0 else { return 1024 }
        let soft = Int(clamping: limit.rlim_cur)  // RLIM_INFINITY clamps to Int.max
        return max(16, min(1024, (soft - 64) / 2))
    }

    #if canImport(Glibc)
    private static let resourceNoFile = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resourceNoFile = RLIMIT_NOFILE
    #endif
}
