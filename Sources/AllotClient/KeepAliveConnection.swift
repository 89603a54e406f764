import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP/1.1 connection reused for one request after another (an agent's reports every scan interval), so
/// that a steady caller does not open and close a connection each time. Reopened when the server has closed it;
/// requests that overlap are written one after the other and answered in order.
actor KeepAliveConnection {
    let host: String
    let port: Int
    /// For an `https://` server: what its certificate must chain to.
    let trust: ClientTrust?
    /// Where its bytes on the wire are counted, if anywhere.
    let wire: WireCount?
    private var channel: (any Channel)?
    /// When each request still awaiting its answer was sent, oldest first.
    private var awaiting: [(id: UUID, sentAt: Date)] = []
    /// Since when a connection is being made (nil: none is).
    private var connectingSince: ContinuousClock.Instant?

    init(host: String, port: Int, trust: ClientTrust? = nil, wire: WireCount? = nil) {
        self.host = host
        self.port = port
        self.trust = trust
        self.wire = wire
    }

    func send(method: HTTPMethod, uri: String, headers: [(String, String)], body: Data?, timeout: Double) async throws -> (status: Int, body: Data) {
        let channel = try await open()
        let entry = (id: UUID(), sentAt: Date())
        awaiting.append(entry)
        defer { awaiting.removeAll { $0.id == entry.id } }
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri)
        head.headers.add(name: "Host", value: "\(host):\(port)")
        head.headers.add(name: "Content-Length", value: "\(body?.count ?? 0)")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        let response = channel.eventLoop.makePromise(of: ResponseHandler.Response.self)
        let request = head
        try await channel.eventLoop.submit {
            // On the event loop the channel's state is certain: one that closed after `open` saw it active (the
            // server died) would never answer, and nothing would be left to fail the wait.
            do {
                guard channel.isActive else { throw ChannelError.ioOnClosedChannel }
                try channel.pipeline.syncOperations.handler(type: ResponseHandler.self).expect(response)
            } catch {
                response.fail(error)  // a promise is always completed
                throw error
            }
            channel.write(HTTPClientRequestPart.head(request), promise: nil)
            if let body, !body.isEmpty { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
            // A write that fails (the connection reset meanwhile) fails the wait too.
            let written = channel.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenFailure { response.fail($0) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: written)
        }.get()
        // The deadline fails the wait itself, whatever state the connection is in, then closes it.
        let timer = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) {
            response.fail(HTTPTransport.Failure(description: "no answer within \(timeout) s"))
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        do {
            // Cancellation (an agent stopping during a long poll) fails the wait at once and closes the connection.
            let answer = try await withTaskCancellationHandler {
                try await response.futureResult.get()
            } onCancel: {
                response.fail(HTTPTransport.Failure(description: "cancelled"))
                channel.close(promise: nil)
            }
            if !answer.keepAlive { close() }
            return (answer.status, Data(answer.body))
        } catch {
            close()
            throw error
        }
    }

    /// While a request awaits its answer and the server's host has acknowledged every byte of it (TCP): when
    /// that host last acknowledged anything, keep-alive probes included (sent after a second without traffic).
    /// A slow server (its store stalled) goes on acknowledging; a cut link does not. `nil` otherwise, or where
    /// TCP's state cannot be read.
    func hostLastHeard() async -> Date? {
        guard let (unacknowledged, sinceAcknowledgement) = await awaitingTCPState(), unacknowledged == 0 else { return nil }
        return Date().addingTimeInterval(-sinceAcknowledgement)
    }

    /// Whether a request is stuck on its way: the connection still being made, or a request whose bytes the
    /// server's host has not acknowledged (TCP), or whose host has stopped acknowledging keep-alive probes (none
    /// for 2 s, while a live link answers one a second). A slow answer on a live link is not.
    func undelivered() async -> Bool {
        // A connection still being made after a second: its SYN went unanswered (the first retransmission comes
        // after 1 s). A younger one is only a busy machine's event loop not having run yet.
        if let since = connectingSince, ContinuousClock.now - since > .seconds(1) { return true }
        guard let (unacknowledged, sinceAcknowledgement) = await awaitingTCPState() else { return false }
        return unacknowledged > 0 || sinceAcknowledgement > 2
    }

    /// While a request awaits its answer on an open connection: the segments the server's host has not
    /// acknowledged yet, and the seconds since it last acknowledged anything (TCP_INFO). `nil` otherwise, or where
    /// TCP's state cannot be read.
    private func awaitingTCPState() async -> (unacknowledged: UInt32, sinceAcknowledgement: Double)? {
        guard !awaiting.isEmpty, let channel, channel.isActive, let socket = channel as? any SocketOptionProvider else { return nil }
        #if os(Linux)
        // An unreadable state (the connection closing meanwhile) proves nothing.
        guard let info = try? await socket.getTCPInfo().get() else { return nil }
        return (info.tcpi_unacked, Double(info.tcpi_last_ack_recv) / 1000)
        #else
        return nil
        #endif
    }

    private func open() async throws -> any Channel {
        if let channel, channel.isActive { return channel }
        connectingSince = .now
        defer { connectingSince = nil }
        let tls = trust
        let host = host
        let wire = wire
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .channelOption(.socketOption(.so_keepalive), value: 1)
        #if os(Linux)
        // Probes after a second without traffic, every second: a live link is heard from even while a slow answer
        // is awaited (see ``hostLastHeard()``).
        bootstrap = bootstrap.channelOption(.tcpOption(NIOBSDSocket.Option(rawValue: TCP_KEEPIDLE)), value: 1)
            .channelOption(.tcpOption(NIOBSDSocket.Option(rawValue: TCP_KEEPINTVL)), value: 1)
        #endif
        let channel =
            try await bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let wire { try channel.pipeline.syncOperations.addHandler(WireCountingHandler(wire)) }
                    try HTTPTransport.addTLS(tls, host: host, to: channel)
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseHandler())
                }
            }
            .connect(host: host, port: port).get()
        self.channel = channel
        return channel
    }

    private func close() {
        channel?.close(promise: nil)
        channel = nil
    }
}

/// Collects one response at a time for ``KeepAliveConnection``; lives on the channel's event loop.
final class ResponseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    struct Response: Sendable {
        var status: Int
        var body: [UInt8]
        var keepAlive: Bool
    }

    /// The callers waiting, in the order their requests were written (HTTP/1.1 answers in that order).
    private var waiting: [EventLoopPromise<Response>] = []
    private var status = 0
    private var body: [UInt8] = []
    private var keepAlive = true

    func expect(_ promise: EventLoopPromise<Response>) {
        waiting.append(promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            keepAlive = head.isKeepAlive
            body = []
        case .body(var buffer):
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard !waiting.isEmpty else { return }  // an answer nobody waits for any more (it timed out)
            waiting.removeFirst().succeed(Response(status: status, body: body, keepAlive: keepAlive))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(HTTPTransport.Failure(description: "the connection closed before the response ended", closedByPeer: true))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.close(promise: nil)
    }

    private func fail(_ error: any Error) {
        let failed = waiting
        waiting = []
        for promise in failed { promise.fail(error) }
    }
}
