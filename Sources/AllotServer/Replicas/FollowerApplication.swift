import AllotAPI
import AllotStore
import AllotTLS
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

/// What a server that does not lead answers, on the port it will serve from once it leads: `GET /health` with its
/// role and the leader's address; the job reads from the database (``FollowerReads``), when given; and every
/// other call redirected to the leader with `307 Temporary Redirect` (method and body kept). Redirecting, not
/// forwarding: the client then talks to the leader directly, one hop, and a client that does not follow
/// redirects sees where to go. With no live leader the answer is `503` with `Retry-After`.
public func buildFollowerApplication(
    host: String,
    port: Int,
    tls: ServerCertificate? = nil,
    leader: @escaping @Sendable () async -> LeaderLease?,
    reads: FollowerReads? = nil,
    logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let responder = CallbackResponder<AllotRequestContext> { request, context in
        if let reads, FollowerReads.serves(request) {
            return await reads.respond(to: request, from: context.remoteAddress?.ipAddress ?? "unknown")
        }
        let lease = await leader()
        let address = lease.flatMap { $0.live && !$0.address.isEmpty ? $0.address : nil }
        if request.method == .get && request.uri.path == "/health" {
            var fields = ["status": "ok", "role": "follower"]
            fields["leader"] = address
            return jsonResponse(fields, status: .ok)
        }
        guard let address else {
            var response = jsonResponse(
                APIErrorBody(code: .noLeader, message: "no server leads now (a failover is under way); try again shortly"),
                status: .serviceUnavailable
            )
            response.headers[.retryAfter] = "1"
            return response
        }
        let target = address.trimmingSuffix("/") + (request.uri.string.hasPrefix("/") ? request.uri.string : "/" + request.uri.string)
        var response = jsonResponse(
            FollowerRedirect(error: .init(code: .notLeader, message: "this server follows; the leader is \(address)"), leader: address),
            status: .temporaryRedirect
        )
        response.headers[.location] = target
        return response
    }
    return Application(
        responder: responder,
        server: HTTPServerBuilder.http1(HTTP1Channel.Configuration(), tls: tls),
        configuration: .init(address: .hostname(host, port: port), serverName: "allot"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
        logger: logger
    )
}

/// A follower's `307`: the usual error body, and the leader's URL for clients that do not read `Location`.
struct FollowerRedirect: Encodable {
    struct Detail: Encodable {
        var code: ErrorCode
        var message: String
    }

    var error: Detail
    var leader: String
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
