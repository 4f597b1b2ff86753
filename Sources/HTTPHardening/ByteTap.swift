import NIOCore

/// Sits in front of the HTTP decoder and tells the ``ConnectionGuard`` when bytes arrive (starting the header
/// deadline) and, while it lingers before closing, drops them undecoded and keeps the socket reading even though
/// nothing downstream asks for more.
final class ByteTap: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let connection: ConnectionGuard

    init(connection: ConnectionGuard) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if connection.bytesArrived(unwrapInboundIn(data).readableBytes) {
            context.fireChannelRead(data)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
        if connection.lingering, context.channel.isActive { context.read() }
    }
}

@available(*, unavailable)
extension ByteTap: Sendable {}
