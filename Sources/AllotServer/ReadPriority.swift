import AllotAPI
import Hummingbird
import Synchronization

/// Bulk reads wait their turn: at most `limit` of them are worked on at once, the rest wait (without a
/// thread) in arrival order, and past `queueLimit` waiting they are answered `429` with `Retry-After`. So a
/// storm of listings cannot fill the executor ahead of submissions, cancels and agents' reports, which never
/// wait here (as Kubernetes' API priority and fairness keeps a lane for its controllers).
final class ReadGate: Sendable {
    private struct State {
        var running = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    let limit: Int
    let queueLimit: Int
    private let state = Mutex(State())
    private enum Entry { case now, wait, full }

    /// Reads waiting now.
    var waiting: Int { state.withLock { $0.waiting.count } }

    init(limit: Int, queueLimit: Int) {
        self.limit = max(1, limit)
        self.queueLimit = queueLimit
    }

    /// Runs `body` once a place is free; `nil` (without running it) when the queue is full.
    func run<Result>(_ body: () async throws -> Result) async throws -> Result? {
        let entry = state.withLock { state -> Entry in
            if state.running < limit {
                state.running += 1
                return .now
            }
            return state.waiting.count < queueLimit ? .wait : .full
        }
        switch entry {
        case .full: return nil
        case .wait:
            await withCheckedContinuation { continuation in
                // Taken over by `leave()`: the place is handed on, `running` stays as it is.
                let handedOn = state.withLock { state -> Bool in
                    if state.running < limit {
                        state.running += 1
                        return true
                    }
                    state.waiting.append(continuation)
                    return false
                }
                if handedOn { continuation.resume() }
            }
        case .now: break
        }
        defer { leave() }
        return try await body()
    }

    private func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiting.isEmpty else {
                state.running -= 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}

/// Puts the API's reads (`GET /v1/…` but agents' calls and the event stream, and `/metrics`) through a ``ReadGate``.
struct ReadPriorityMiddleware<Context: RequestContext>: RouterMiddleware {
    let gate: ReadGate

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        let bulk =
            (request.method == .get || request.method == .head)
            && ((path.hasPrefix("/v1/") && !path.hasPrefix("/v1/agent/") && path != "/v1/events") || path == "/metrics")
        guard bulk else { return try await next(request, context) }
        guard let response = try await gate.run({ try await next(request, context) }) else {
            throw APIError(.tooManyRequests, .tooManyRequests, "too many reads are waiting; try again shortly", retryAfter: 1)
        }
        return response
    }
}
