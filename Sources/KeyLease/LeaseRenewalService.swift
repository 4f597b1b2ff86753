import Foundation
import KBSProtocol
import Logging
import ServiceLifecycle

/// Keeps the lease fresh: renews at two thirds of its life, retries failures with backoff and jitter, and
/// drops the keys when it cannot renew before expiry.
public struct LeaseRenewalService: Service {
    let manager: LeaseManager
    let resources: @Sendable () -> [ResourcePath]
    let lease: TimeInterval
    let logger: Logger
    let initialDelay: TimeInterval
    let secrets: @Sendable () -> [String]
    let onRenewed: @Sendable () async -> Void

    /// Creates the service.
    /// - Parameters:
    ///   - initialDelay: how long to wait before the first renewal (the composition root attests at start-up).
    ///   - secrets: secret resource paths to lease alongside the KEKs.
    ///   - onRenewed: runs after each successful renewal (the gateway re-wraps DEKs after a rotation).
    public init(
        manager: LeaseManager, lease: TimeInterval, logger: Logger, initialDelay: TimeInterval = 0,
        secrets: @escaping @Sendable () -> [String] = { [] }, onRenewed: @escaping @Sendable () async -> Void = {},
        resources: @escaping @Sendable () -> [ResourcePath]
    ) {
        self.manager = manager
        self.secrets = secrets
        self.onRenewed = onRenewed
        self.initialDelay = initialDelay
        self.resources = resources
        self.lease = lease
        self.logger = logger
    }

    public func run() async throws {
        var failures = 0
        if initialDelay > 0 {
            do { try await gracefulShutdownAwareSleep(seconds: initialDelay) } catch { return }
        }
        while !Task.isCancelledOrShuttingDown {
            let ok = await manager.acquire(resources: resources(), secrets: secrets())
            let delay: TimeInterval
            if ok {
                failures = 0
                await onRenewed()
                delay = max(1, lease * 2 / 3)
            } else {
                failures += 1
                let base = min(30, pow(2, Double(min(failures, 5))) * 0.5)
                delay = base * Double.random(in: 0.5...1.0)
                if await manager.expiry == nil { await manager.drop() }
            }
            do {
                try await gracefulShutdownAwareSleep(seconds: delay)
            } catch {
                break
            }
        }
        await manager.drop()
    }

    private func gracefulShutdownAwareSleep(seconds: TimeInterval) async throws {
        try await cancelWhenGracefulShutdown {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
        }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}
