import ArgumentParser
import HTTPHardening

/// The listener bounds `serve` and `broker` share (docs/listener.md).
struct ListenerOptions: ParsableArguments {
    @Option(name: .customLong("header-timeout"), help: "Seconds a client has to send a request line and headers once it starts (408 header_timeout).")
    var headerTimeout: Double = 10
    @Option(name: .customLong("body-timeout"), help: "Seconds a client has to send a request body after its headers (408 body_timeout).")
    var bodyTimeout: Double = 30
    @Option(name: .customLong("idle-timeout"), help: "Seconds a keep-alive connection may wait for its next request before it is closed.")
    var idleTimeout: Double = 60
    @Option(name: .customLong("max-connections"), help: "Connections open at once; more get 503 connection_limit (default: 1024, less under a low open-file limit).")
    var maxConnections: Int?

    func validate() throws {
        for (name, value) in [("--header-timeout", headerTimeout), ("--body-timeout", bodyTimeout), ("--idle-timeout", idleTimeout)]
        where !(value > 0 && value <= 86_400) {
            throw ValidationError("\(name) must be more than 0 and at most 86400 seconds")
        }
        if let maxConnections, maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
    }

    /// The limits these options give.
    var limits: ListenerLimits {
        ListenerLimits(
            headerTimeout: headerTimeout, bodyTimeout: bodyTimeout, idleTimeout: idleTimeout,
            maxConnections: maxConnections ?? ListenerLimits.defaultMaxConnections())
    }
}
