import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// The per-connection guard between the HTTP/1.1 codec and the request handlers: deadlines for headers, body and
/// idle keep-alive; problem answers for framing errors, slow clients and the connection limit; and closing a
/// connection whose request body was left unread.
///
/// An answer written while the request body is still arriving (a 413, or a 401 before the body) carries
/// `Connection: close`; once it is written the output is shut down and at most ``ListenerLimits/lingerBytes``
/// more bytes are read and discarded for at most ``ListenerLimits/lingerSeconds`` (so the client can read the
/// answer instead of losing it to a reset), then the connection is closed. Nothing of the unread body is buffered.
///
/// Runs on the channel's event loop only; its ``ByteTap`` sits in front of the HTTP decoder and reports raw bytes.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Where the request being read is.
    enum Phase {
        /// Waiting for a request; nothing of it received.
        case waiting
        /// Bytes of a request arrived; its head is not complete.
        case head
        /// The head arrived; the end of the body has not.
        case body
    }

    enum Deadline { case idle, header, body, linger }

    let settings: ListenerSettings
    let overLimit: Bool
    let logger: Logger
    private var context: ChannelHandlerContext?
    private(set) var phase = Phase.waiting
    /// Request heads read whose answer has not been completely written.
    private var pending = 0
    /// The handler has begun an answer and not finished it.
    private var responseOpen = false
    /// The answer being written must end the connection (the request body is unread).
    private var closeAfterResponse = false
    /// The listener answered itself; the handler's writes are dropped.
    private var owned = false
    /// The output is (being) shut down; input is read and discarded until the connection closes.
    private(set) var lingering = false
    private var lingerBytes = 0
    private var closing = false
    private var heldCloses: [EventLoopPromise<Void>] = []
    private var timer: Scheduled<Void>?
    private var started = false

    init(settings: ListenerSettings, overLimit: Bool, logger: Logger) {
        self.settings = settings
        self.overLimit = overLimit
        self.logger = logger
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        let held = heldCloses
        heldCloses = []
        held.forEach { $0.succeed() }
        context.fireChannelInactive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        if overLimit {
            refuse(.connectionLimit, context: context)
        } else {
            arm(.idle, context: context)
        }
    }

    // MARK: Inbound

    /// Called by the ``ByteTap`` for every buffer before it is decoded; `false` drops the buffer.
    func bytesArrived(_ count: Int) -> Bool {
        guard let context else { return true }
        if lingering {
            lingerBytes += count
            if lingerBytes > settings.limits.lingerBytes { finishLinger(context) }
            return false
        }
        if phase == .waiting {
            phase = .head
            if pending == 0 { arm(.header, context: context) }
        }
        return true
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if lingering || owned { return }
        switch unwrapInboundIn(data) {
        case .head:
            phase = .body
            pending += 1
            arm(.body, context: context)
        case .body:
            break
        case .end:
            phase = .waiting
            cancelTimer()
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if lingering, let event = event as? ChannelEvent, event == .inputClosed {
            finishLinger(context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if lingering { return }
        guard let refusal = Self.framingRefusal(error) else {
            context.fireErrorCaught(error)
            return
        }
        refuseIfAnswerable(refusal, context: context)
        // A handler reading a body must fail, not see it truncated. Before a request head was delivered there is no
        // handler to tell: passing the error on would make the HTTP server write its own 400 on a connection this
        // guard has already answered and shut for output — a write that never completes, so the connection (and a
        // graceful shutdown waiting for it) would hang.
        if phase == .body { context.fireErrorCaught(error) }
    }

    /// The refusal a decoding error stands for, or `nil` when it is not about the request's framing.
    static func framingRefusal(_ error: any Error) -> ListenerRefusal? {
        switch error {
        case let error as HTTPParserError: return error == .headerOverflow ? .headersTooLarge : .malformedHTTP
        case is HTTP1TypeConversionError: return .malformedHTTP
        default: return nil
        }
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if owned || lingering {
            promise?.succeed()  // dropped on purpose: the listener already answered, or the connection is ending
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(var response):
            responseOpen = true
            if phase == .body && pending == 1 { closeAfterResponse = true }
            if closeAfterResponse {
                response.headerFields[.connection] = "close"
                context.write(wrapOutboundOut(.head(response)), promise: promise)
            } else {
                context.write(data, promise: promise)
            }
        case .body:
            context.write(data, promise: promise)
        case .end:
            responseOpen = false
            pending = max(0, pending - 1)
            if closeAfterResponse {
                let written = context.eventLoop.makePromise(of: Void.self)
                if let promise { written.futureResult.cascade(to: promise) }
                context.writeAndFlush(data, promise: written)
                lingerAfter(written.futureResult, context: context)
            } else {
                context.write(data, promise: promise)
                if pending == 0 { arm(phase == .waiting ? .idle : .header, context: context) }
            }
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        // While lingering, a full close waits until the client has had the chance to read the answer.
        if lingering, !closing, mode == .all {
            if let promise { heldCloses.append(promise) }
            return
        }
        context.close(mode: mode, promise: promise)
    }

    // MARK: Refusals and closing

    /// Answers `refusal` with a problem (when it has a status) and closes the connection.
    private func refuse(_ refusal: ListenerRefusal, context: ChannelHandlerContext) {
        settings.onRefusal(refusal)
        logger.debug("listener refused a request", metadata: ["http.refusal": "\(refusal.reason.rawValue)"])
        guard let status = refusal.status else {
            closeNow(context)
            return
        }
        owned = true
        let problem = settings.problem(refusal)
        let fields: HTTPFields = [
            .contentType: problem.contentType, .contentLength: String(problem.body.count), .connection: "close", .cacheControl: "no-store",
        ]
        var buffer = context.channel.allocator.buffer(capacity: problem.body.count)
        buffer.writeBytes(problem.body)
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(buffer)), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        lingerAfter(written.futureResult, context: context)
    }

    /// Starts lingering once `written` (the last part of an answer) is on the wire; closes at once if it fails.
    private func lingerAfter(_ written: EventLoopFuture<Void>, context: ChannelHandlerContext) {
        lingering = true
        cancelTimer()
        written.assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success: beginLinger(context)
            case .failure: closeNow(context)
            }
        }
    }

    /// Shuts the output down and reads (and discards) what the client still sends, within the linger bounds.
    private func beginLinger(_ context: ChannelHandlerContext) {
        lingering = true
        guard !closing else { return }
        arm(.linger, context: context)
        let shutdown = context.eventLoop.makePromise(of: Void.self)
        shutdown.futureResult.assumeIsolated().whenFailure { [self] error in
            // Already shut down (Hummingbird finishing its side first) is fine; anything else ends the linger.
            if let error = error as? ChannelError, error == .outputClosed { return }
            closeNow(context)
        }
        context.close(mode: .output, promise: shutdown)
        context.read()
    }

    private func finishLinger(_ context: ChannelHandlerContext) { closeNow(context) }

    private func closeNow(_ context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        cancelTimer()
        let held = heldCloses
        heldCloses = []
        let closed = context.eventLoop.makePromise(of: Void.self)
        closed.futureResult.assumeIsolated().whenComplete { _ in held.forEach { $0.succeed() } }
        context.close(mode: .all, promise: closed)
    }

    // MARK: Deadlines

    private func seconds(_ deadline: Deadline) -> Double? {
        switch deadline {
        case .idle: return settings.limits.idleTimeout
        case .header: return settings.limits.headerTimeout
        case .body: return settings.limits.bodyTimeout
        case .linger: return settings.limits.lingerSeconds
        }
    }

    private func arm(_ deadline: Deadline, context: ChannelHandlerContext) {
        cancelTimer()
        guard let seconds = seconds(deadline) else { return }
        let delay = TimeAmount.nanoseconds(Int64(max(0, seconds) * 1e9))
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            timer = nil
            expired(deadline, context: context)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    private func expired(_ deadline: Deadline, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        switch deadline {
        case .linger:
            finishLinger(context)
        case .idle:
            guard phase == .waiting, pending == 0 else { return }
            settings.onRefusal(.idleTimeout)
            closeNow(context)
        case .header:
            guard phase == .head else { return }
            refuseIfAnswerable(.headerTimeout, context: context)
        case .body:
            guard phase == .body else { return }
            refuseIfAnswerable(.bodyTimeout, context: context)
            // The handler waiting for the body fails rather than taking what arrived for the whole body.
            context.fireErrorCaught(ListenerRefusalError(refusal: .bodyTimeout))
        }
    }

    /// Answers `refusal` when no earlier answer is still owed (pipelining) and the handler has not begun one;
    /// otherwise counts it and just closes.
    private func refuseIfAnswerable(_ refusal: ListenerRefusal, context: ChannelHandlerContext) {
        if !responseOpen && (pending == 0 || (pending == 1 && phase == .body)) {
            refuse(refusal, context: context)
        } else {
            settings.onRefusal(refusal)
            beginLinger(context)
        }
    }
}

@available(*, unavailable)
extension ConnectionGuard: Sendable {}
