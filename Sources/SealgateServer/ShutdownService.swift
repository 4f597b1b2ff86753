import Logging
import ServiceLifecycle

/// Waits for graceful shutdown, then drops keys from memory and closes the databases.
struct ShutdownService: Service {
    let logger: Logger
    let onShutdown: @Sendable () async -> Void

    init(logger: Logger, onShutdown: @escaping @Sendable () async -> Void) {
        self.logger = logger
        self.onShutdown = onShutdown
    }

    func run() async throws {
        try? await gracefulShutdown()
        await onShutdown()
        logger.info("sealgate stopped: keys dropped, databases closed")
    }
}
