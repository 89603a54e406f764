import AllotStore
import PostgresNIO
import Synchronization

/// Bounds a database call in time. The call runs in its own task; when the deadline passes first the caller gets
/// an error at once and the call is cancelled (a query already sent to a server that stopped answering ends when
/// its connection does).
enum Deadline {
    static func run<T: Sendable>(
        _ timeout: Duration,
        _ what: String,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws(StoreError) -> T {
        let outcome: Result<T, StoreError> = await withCheckedContinuation { continuation in
            let once = Once(continuation)
            let work = Task {
                do {
                    once.resume(.success(try await body()))
                } catch {
                    once.resume(.failure(storeError(error, what)))
                }
            }
            once.setTimer(
                Task {
                    do { try await Task.sleep(for: timeout) } catch { return }  // cancelled: the work ended first
                    if once.resume(.failure(StoreError(.database, "\(what) did not answer within \(timeout)"))) { work.cancel() }
                }
            )
        }
        return try outcome.get()
    }

    /// A store error that says what failed and the server's reason, without the query's values.
    static func storeError(_ error: any Error, _ what: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? PostgresTransactionError {
            // The first thing that failed: beginning, the work itself, or committing.
            if let cause = error.beginError ?? error.closureError ?? error.commitError { return storeError(cause, what) }
        }
        if let error = error as? PSQLError {
            if let info = error.serverInfo {
                let state = info[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                let detail = info[.detail].map { ": \($0)" } ?? ""
                return StoreError(.database, "\(what): \(info[.message] ?? "server error")\(detail)\(state)")
            }
            let cause = error.underlying.map { ": \($0)" } ?? ""
            return StoreError(.database, "\(what): \(error.code)\(cause)")
        }
        return StoreError(.database, "\(what): \(error)")
    }
}

/// Resumes a continuation once (later results are dropped) and then cancels the timer.
private final class Once<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, Never>?
        var timer: Task<Void, Never>?
    }

    private let state: Mutex<State>

    init(_ continuation: CheckedContinuation<T, Never>) { state = Mutex(State(continuation: continuation)) }

    func setTimer(_ timer: Task<Void, Never>) {
        let resumed = state.withLock { state in
            state.timer = timer
            return state.continuation == nil
        }
        if resumed { timer.cancel() }
    }

    /// Whether this call was the one that resumed.
    @discardableResult
    func resume(_ value: T) -> Bool {
        let taken = state.withLock { state in
            defer { state.continuation = nil }
            return (state.continuation, state.timer)
        }
        guard let continuation = taken.0 else { return false }
        continuation.resume(returning: value)
        taken.1?.cancel()
        return true
    }
}
