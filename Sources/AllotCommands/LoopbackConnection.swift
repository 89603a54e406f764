import NIOCore
import NIOHTTP1
import NIOPosix

/// One keep-alive HTTP/1.1 connection to a server on loopback, one request at a time: the benchmarks'
/// client, thin so that it measures the server and not itself.
struct LoopbackConnection: ~Copyable {
    private let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    init(port: Int) async throws {
        channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
            }
        }
    }

    /// Runs `body` with a function that sends a request and returns the response's status once its body has
    /// been read, then closes the connection.
    consuming func use<Result: Sendable>(
        _ body: (_ send: (HTTPMethod, String, [(String, String)], ByteBuffer?) async throws -> HTTPResponseStatus) async throws -> Result
    ) async throws -> Result {
        try await channel.executeThenClose { inbound, outbound in
            var responses = inbound.makeAsyncIterator()
            return try await body { method, uri, headers, payload in
                var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri)
                head.headers.add(name: "Host", value: "127.0.0.1")
                for (name, value) in headers { head.headers.add(name: name, value: value) }
                if let payload { head.headers.add(name: "Content-Length", value: "\(payload.readableBytes)") }
                var parts: [HTTPClientRequestPart] = [.head(head)]
                if let payload { parts.append(.body(.byteBuffer(payload))) }
                parts.append(.end(nil))
                try await outbound.write(contentsOf: parts)
                var status = HTTPResponseStatus.internalServerError
                reading: while let part = try await responses.next() {
                    switch part {
                    case .head(let response): status = response.status
                    case .body: break
                    case .end: break reading
                    }
                }
                return status
            }
        }
    }
}
