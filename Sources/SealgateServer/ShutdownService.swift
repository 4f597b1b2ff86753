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
        await onShutdown()
        logger.info("\(message)")
    }
}
