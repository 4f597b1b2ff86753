import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import SealgateCore
import ServiceLifecycle
import Synchronization

/// Posts events to an HTTP webhook as `application/cloudevents+json`, from a bounded queue, with bounded retry.
///
/// `emit` only enqueues; when the queue is full the oldest event is dropped and counted. The delivery loop is a
/// `Service`: it retries each event up to `attempts` times with exponential backoff, then drops it and counts it.
public final class WebhookEventSink: SecurityEventSink, Service, Sendable {
    struct State {
        var queue: [Data] = []
        var dropped = 0
        var delivered = 0
        var waiter: CheckedContinuation<Void, Never>?
    }

    let url: String
    let source: String
    let capacity: Int
    let attempts: Int
    let client: HTTPClient
    let logger: Logger
    let state = Mutex(State())
    /// `HTTPClient.shared`'s settings except that no redirect is followed: events go to the configured URL or nowhere.
    public static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// Called with each dropped event (to count it in a metric).
    let onDrop: @Sendable () -> Void

    public init(
        url: String, source: String, client: HTTPClient = WebhookEventSink.sharedClient, capacity: Int = 10_000, attempts: Int = 5, logger: Logger,
        onDrop: @escaping @Sendable () -> Void = {}
    ) {
        self.onDrop = onDrop
        self.url = url
        self.source = source
        self.client = client
        self.capacity = max(1, capacity)
        self.attempts = max(1, attempts)
        self.logger = logger
    }

    /// Events dropped (queue full or undeliverable) and delivered so far.
    public var counts: (dropped: Int, delivered: Int) { state.withLock { ($0.dropped, $0.delivered) } }

    public func emit(_ event: SecurityEvent) {
        let body = CloudEvent.encode(event, source: source)
        let (waiter, dropped) = state.withLock { s -> (CheckedContinuation<Void, Never>?, Bool) in
            let full = s.queue.count >= capacity
            if full {
                s.queue.removeFirst()
                s.dropped += 1
                if s.dropped == 1 || s.dropped % 1000 == 0 {
                    logger.warning("security event queue full: oldest events dropped", metadata: ["events.dropped": "\(s.dropped)"])
                }
            }
            s.queue.append(body)
            defer { s.waiter = nil }
            return (s.waiter, full)
        }
        waiter?.resume()
        if dropped { onDrop() }
    }

    public func run() async throws {
        while !Task.isCancelled {
            let next = state.withLock { s -> Data? in s.queue.isEmpty ? nil : s.queue.removeFirst() }
            guard let body = next else {
                if Task.isShuttingDownGracefully { return }
                await cancelWhenGracefulShutdown { await self.waitForEvent() }
                if Task.isShuttingDownGracefully && state.withLock({ $0.queue.isEmpty }) { return }
                continue
            }
            await deliver(body)
        }
    }

    /// Suspends until an event is queued or the task is cancelled; exactly one party resumes the continuation.
    func waitForEvent() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { s -> Bool in
                    if s.queue.isEmpty && !Task.isCancelled {
                        s.waiter = continuation
                        return false
                    }
                    return true
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume()
        }
    }

    func deliver(_ body: Data) async {
        // While shutting down, one try per event: shutdown is never held up by an unreachable receiver.
        let tries = Task.isShuttingDownGracefully ? 1 : attempts
        for attempt in 0..<tries {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/cloudevents+json")
            request.body = .bytes(ByteBuffer(bytes: body))
            if let response = try? await client.execute(request, timeout: .seconds(10)),
                (200..<300).contains(Int(response.status.code))
            {
                _ = try? await response.body.collect(upTo: 64 * 1024)
                state.withLock { $0.delivered += 1 }
                return
            }
            if attempt + 1 < tries { try? await Task.sleep(nanoseconds: UInt64(200_000_000) << UInt64(min(attempt, 5))) }
        }
        state.withLock { $0.dropped += 1 }
        onDrop()
        logger.warning("security event dropped after retries", metadata: ["events.url": "\(URLOrigin.of(url))"])
    }
}
