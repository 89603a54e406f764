import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP/1.1 exchange over its own connection, with SwiftNIO: cancellation closes the connection at once
/// (Foundation's URLSession on Linux can deadlock when a task awaiting it is cancelled), and a timeout closes it too.
enum HTTPTransport {
    /// TLS first in the pipeline, for `https://` servers (see ``ClientTrust/handler(host:)``).
    static func addTLS(_ trust: ClientTrust?, host: String, to channel: any Channel) throws {
        guard let trust else { return }
        try channel.pipeline.syncOperations.addHandler(trust.handler(host: host))
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        /// The server closed the connection before it answered (it died, or restarted).
        var closedByPeer = false
    }

    static func send(
        method: HTTPMethod,
        host: String,
        port: Int,
        uri: String,
        headers: [(String, String)],
        body: Data?,
        timeout: Double,
        tls: ClientTrust? = nil
    ) async throws -> (status: Int, body: Data) {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try addTLS(tls, host: host, to: channel)
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        let raw = channel.channel
        let started = ContinuousClock.now
        let timer = raw.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) { raw.close(promise: nil) }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await channel.executeThenClose { inbound, outbound in
                var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri)
                head.headers.add(name: "Host", value: "\(host):\(port)")
                head.headers.add(name: "Connection", value: "close")
                head.headers.add(name: "Content-Length", value: "\(body?.count ?? 0)")
                for (name, value) in headers { head.headers.add(name: name, value: value) }
                // The whole request in one write: a server that answers as soon as it has the head, and closes
                // (Connection: close), must not find half a request still to come.
                var parts: [HTTPClientRequestPart] = [.head(head)]
                if let body, !body.isEmpty { parts.append(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                parts.append(.end(nil))
                try await outbound.write(contentsOf: parts)
                var status: Int?
                var received = Data()
                for try await part in inbound {
                    switch part {
                    case .head(let response): status = Int(response.status.code)
                    case .body(var buffer): received.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
                    case .end:
                        guard let status else { throw Failure(description: "response without a status") }
                        return (status, received)
                    }
                }
                throw Failure(
                    description: Task.isCancelled ? "cancelled" : "the connection closed before the response ended (timeout \(timeout) s)",
                    closedByPeer: !Task.isCancelled && ContinuousClock.now - started < .milliseconds(Int64(timeout * 1000))
                )
            }
        } onCancel: {
            raw.close(promise: nil)
        }
    }
}
