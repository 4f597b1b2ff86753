import Logging
import ServiceLifecycle

/// Waits for graceful shutdown, then drops keys from memory and closes the databases.
struct ShutdownService: Service {
    let logger: Logger
    let message: String
    let onShutdown: @Sendable () async -> Void

    init(logger: Logger, message: String = "sealgate stopped: keys dropped, databases closed", onShutdown: @escaping @Sendable () async -> Void) {
        self.logger = logger
        self.message = message
        self.onShutdown = onShutdown
    }

    func run() async throws {
        try? await gracefulShutdown()
        // Also when the group cancels this service (a shutdown that outlasted its grace period): the clean-up runs in
        // a task of its own, which does not inherit the cancellation, so databases are always closed (an open SQLite
        // connection must not be deinitialised) and keys always dropped.
        let onShutdown = self.onShutdown
        await Task { await onShutdown() }.value
        logger.info("\(message)")
    }
}
