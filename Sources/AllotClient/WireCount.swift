import NIOCore
import Synchronization

/// Bytes a client's kept-alive report connections put on the wire and took off it, TLS records and HTTP
/// heads included: what a report costs a site's link.
public final class WireCount: Sendable {
    private let sentBytes = Atomic<Int>(0)
    private let receivedBytes = Atomic<Int>(0)

    public init() {}

    public var sent: Int { sentBytes.load(ordering: .relaxed) }
    public var received: Int { receivedBytes.load(ordering: .relaxed) }

    func add(sent: Int) { sentBytes.wrappingAdd(sent, ordering: .relaxed) }
    func add(received: Int) { receivedBytes.wrappingAdd(received, ordering: .relaxed) }
}

/// First in a connection's pipeline (next to the socket): counts every byte either way into a ``WireCount``.
final class WireCountingHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let count: WireCount

    init(_ count: WireCount) {
        self.count = count
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        count.add(received: unwrapInboundIn(data).readableBytes)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        count.add(sent: unwrapOutboundIn(data).readableBytes)
        context.write(data, promise: promise)
    }
}
