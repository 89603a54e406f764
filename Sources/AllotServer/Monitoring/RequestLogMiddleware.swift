import Hummingbird
import Logging
import Synchronization

/// Who made a request, noted by ``AccessMiddleware`` for the request log (contexts are copied inward, so the
/// note is shared by reference).
public final class CallerNote: Sendable {
    private let identity = Mutex<Identity?>(nil)

    public init() {}

    func set(_ value: Identity) { identity.withLock { $0 = value } }
    var value: Identity? { identity.withLock { $0 } }
}

/// One log line per request: method, path, status, duration, token and tenant. Agents' reports and long polls
/// (one or two a second per node) are logged at debug, every other call at info.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = AllotRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let level: Logger.Level = request.uri.path.hasPrefix("/v1/agent/") ? .debug : .info
        guard logger.logLevel <= level else { return try await next(request, context) }
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            log(request, context, status: Int(response.status.code), since: start, level: level)
            return response
        } catch {
            let status = (error as? APIError)?.status.code ?? (error as? HTTPError)?.status.code ?? 500
            log(request, context, status: status, since: start, level: level)
            throw error
        }
    }

    private func log(_ request: Request, _ context: Context, status: Int, since start: ContinuousClock.Instant, level: Logger.Level) {
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15
        var metadata: Logger.Metadata = [
            "http.method": "\(request.method.rawValue)",
            "http.path": "\(request.uri.path)",
            "http.status": "\(status)",
            "duration.ms": "\((milliseconds * 1_000).rounded() / 1_000)",
        ]
        if let caller = context.callerNote.value {
            metadata["token.id"] = "\(caller.actor)"
            metadata["tenant"] = "\(caller.tenant)"
        }
        logger.log(level: level, "request", metadata: metadata)
    }
}
