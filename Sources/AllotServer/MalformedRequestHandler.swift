import AllotAPI
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request the HTTP parser refused with the API's error body instead of an empty `400`: `431`
/// when its header is too large (a 100 KiB `Authorization`, say), `400` otherwise; then the connection closes.
/// Sits after the HTTP codecs, so it sees what the application writes and never answers over a response
/// already under way.
final class MalformedRequestHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var responding = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch Self.unwrapOutboundIn(data) {
        case .head(let head) where head.status.kind != .informational: responding = true
        case .end: responding = false
        default: break
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, !responding else {
            context.fireErrorCaught(error)
            return
        }
        let tooLarge = parserError == .headerOverflow
        let body = APIErrorBody(
            code: .badRequest,
            message: tooLarge ? "the request's header is too large" : "malformed HTTP request (\(parserError))"
        )
        // The encoder only fails on values it cannot represent; this body has none.
        let bytes = (try? JSONEncoder().encode(body)) ?? Data()
        let head = HTTPResponse(
            status: tooLarge ? .requestHeaderFieldsTooLarge : .badRequest,
            headerFields: [.contentType: "application/json", .contentLength: "\(bytes.count)", .connection: "close"]
        )
        context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
        context.write(Self.wrapOutboundOut(.body(ByteBuffer(bytes: bytes))), promise: nil)
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
        context.close(promise: nil)
    }
}
