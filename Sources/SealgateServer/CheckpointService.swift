import Audit
import Foundation
import Logging
import ServiceLifecycle

/// Signs a checkpoint at least every `interval` seconds while the log grows, and a last one at shutdown.
struct CheckpointService: Service {
    let log: AuditLog
    let interval: TimeInterval
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown {
                    try await Task.sleep(nanoseconds: UInt64(interval * 1_000_000_000))
                }
            } catch {
                break
            }
            do { try await log.checkpointIfNeeded() } catch {
                logger.error("audit checkpoint failed", metadata: ["error.type": "\(type(of: error))"])
            }
        }
        _ = try? await log.checkpointIfNeeded()
    }
}
