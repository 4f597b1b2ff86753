import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import Synchronization

/// What a guarded listener enforces and how it reports refusals.
public struct ListenerSettings: Sendable {
    /// Deadlines and bounds.
    public var limits: ListenerLimits
    /// The problem document answering a refusal, in the shape of the service behind the listener.
    public var problem: @Sendable (ListenerRefusal) -> ListenerProblem
    /// Called once per refusal (a metric); never with request content.
    public var onRefusal: @Sendable (ListenerRefusal) -> Void

    /// Creates settings.
    public init(
        limits: ListenerLimits, problem: @escaping @Sendable (ListenerRefusal) -> ListenerProblem,
        onRefusal: @escaping @Sendable (ListenerRefusal) -> Void = { _ in }
    ) {
        self.limits = limits
        self.problem = problem
        self.onRefusal = onRefusal
    }
}

/// Counts a listener's open connections.
final class ConnectionCounter: Sendable {
    private let open = Atomic<Int>(0)

    /// Records a new connection; returns how many are open with it.
    func opened() -> Int { open.wrappingAdd(1, ordering: .relaxed).newValue }

    func closed() { open.wrappingSubtract(1, ordering: .relaxed) }

    var current: Int { open.load(ordering: .relaxed) }
}

/// Hummingbird's HTTP/1.1 child channel behind a ``ConnectionGuard``: the listener of the gateway and the broker.
public struct GuardedHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    public typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    public let responder: HTTPChannelHandler.Responder
    let settings: ListenerSettings
    let counter: ConnectionCounter

    init(responder: @escaping HTTPChannelHandler.Responder, settings: ListenerSettings, counter: ConnectionCounter) {
        self.responder = responder
        self.settings = settings
        self.counter = counter
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let counter = self.counter
        let overLimit = counter.opened() > settings.limits.maxConnections
        channel.closeFuture.whenComplete { _ in counter.closed() }
        let settings = self.settings
        let http = HTTP1Channel(
            responder: responder,
            configuration: .init(
                additionalChannelHandlers: [ConnectionGuard(settings: settings, overLimit: overLimit, logger: logger)],
                idleTimeout: nil,
                httpDecoderConfiguration: .init(
                    maxHeaderFieldSize: settings.limits.maxHeaderBytes, maxHeaderListSize: settings.limits.maxHeaderBytes)))
        return http.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let connection = try pipeline.handler(type: ConnectionGuard.self)
            let tap = ByteTap(connection: connection)
            if let decoder = try? pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) {
                try pipeline.addHandler(tap, position: .before(decoder))
            } else {
                try pipeline.addHandler(tap, position: .first)
            }
            return value
        }
    }

    public func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 behind the listener guard: header, body and idle deadlines, a connection limit, problem answers for
    /// malformed requests, and no connection left open with an unread body. Wrap it in `.tls(...)` for HTTPS.
    public static func guardedHTTP1(_ settings: ListenerSettings) -> HTTPServerBuilder {
        let counter = ConnectionCounter()
        return .init { responder in GuardedHTTP1Channel(responder: responder, settings: settings, counter: counter) }
    }
}

extension HTTPServerBuilder {
    /// ``guardedHTTP1(_:)`` with each connection's channel wrapped by `wrap`, e.g. in TLS whose context is chosen per
    /// connection (attested TLS swaps its certificate without dropping open connections).
    public static func guardedHTTP1(
        _ settings: ListenerSettings, wrap: @escaping @Sendable (GuardedHTTP1Channel) throws -> any ServerChildChannel
    ) -> HTTPServerBuilder {
        let counter = ConnectionCounter()
        return .init { responder in try wrap(GuardedHTTP1Channel(responder: responder, settings: settings, counter: counter)) }
    }
}
