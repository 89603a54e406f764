import AllotStore
import PostgresNIO
import Synchronization

/// Bounds a database call in time. The call runs in its own task; when the deadline passes first, or the caller
/// is cancelled, the caller gets an error at once and the call is cancelled (a query already sent to a server
/// that stopped answering ends when its connection does).
enum Deadline {
    static func run<T: Sendable>(
        _ timeout: Duration,
        _ what: String,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws(StoreError) -> T {
        let race = Race<Result<T, StoreError>>()
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                race.wait(continuation)
                let work = Task {
                    do {
                        race.finish(.success(try await body()))
                    } catch {
                        race.finish(.failure(storeError(error, what)))
                    }
                }
                race.stopOnFinish(work)
                race.stopOnFinish(
                    Task {
                        do { try await Task.sleep(for: timeout) } catch { return }  // cancelled: the work ended first
                        race.finish(.failure(StoreError(.database, "\(what) did not answer within \(timeout)")))
                    }
                )
            }
        } onCancel: {
            race.finish(.failure(StoreError(.database, "\(what): cancelled")))
        }
        return try outcome.get()
    }

    /// The store error code for a SQLSTATE that Allot's own procedures raise (migration v3).
    static func allotCode(_ state: String) -> StoreError.Code? {
        switch state {
        case "AL001": .fenced
        case "AL002": .duplicateJob
        case "AL003": .unknownJob
        default: nil
        }
    }

    /// A store error that says what failed and the server's reason, without the query's values.
    static func storeError(_ error: any Error, _ what: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? PostgresTransactionError {
            // The first thing that failed: beginning, the work itself, or committing.
            if let cause = error.beginError ?? error.closureError ?? error.commitError { return storeError(cause, what) }
        }
        if let error = error as? PSQLError {
            if let info = error.serverInfo, let code = info[.sqlState].flatMap(allotCode) {
                return StoreError(code, info[.message] ?? "\(code)")
            }
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

/// The first of several outcomes wins: it resumes the waiter (at once, or when it starts waiting) and cancels the
/// tasks still running; later outcomes are dropped.
private final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, Never>?
        var outcome: T?
        var resumed = false
        var tasks: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())

    func wait(_ continuation: CheckedContinuation<T, Never>) {
        let ready: T? = state.withLock { state in
            guard let outcome = state.outcome, !state.resumed else {
                state.continuation = continuation
                return nil
            }
            state.resumed = true
            return outcome
        }
        if let ready { continuation.resume(returning: ready) }
    }

    /// Cancels the task once an outcome is in (at once if one already is).
    func stopOnFinish(_ task: Task<Void, Never>) {
        let finished = state.withLock { state in
            state.tasks.append(task)
            return state.outcome != nil
        }
        if finished { task.cancel() }
    }

    func finish(_ outcome: T) {
        let (continuation, tasks): (CheckedContinuation<T, Never>?, [Task<Void, Never>]) = state.withLock { state in
            guard state.outcome == nil else { return (nil, []) }
            state.outcome = outcome
            guard let continuation = state.continuation else { return (nil, state.tasks) }
            state.continuation = nil
            state.resumed = true
            return (continuation, state.tasks)
        }
        continuation?.resume(returning: outcome)
        for task in tasks { task.cancel() }
    }
}
