import AllotAPI
import AllotStore
import Foundation
import HTTPTypes
import Hummingbird

/// What a follower answers itself, from the database: one job, a page of jobs, and a job's output, with the
/// leader's authentication, roles and tenant visibility. A job there is as stored (the leader adds its queue
/// position and estimated start). Everything else goes to the leader, whose memory holds it (nodes, the queue,
/// the console) or which alone may change it.
///
/// Tokens and tenants are reread from the database at most once a second, and at once (at most every 200 ms)
/// for a token not seen yet: a token made on the leader works on a follower at once, a revoked one stops
/// working there within a second.
public actor FollowerReads {
    let store: any AllotStore
    let maxLogChunks: Int
    private var directory: Directory?
    private var loadedAt: ContinuousClock.Instant?
    private var loading: Task<Void, any Error>?
    private let failures = FailedSignIns()

    public init(store: any AllotStore, maxLogChunks: Int = 1_000) {
        self.store = store
        self.maxLogChunks = maxLogChunks
    }

    /// Whether a follower answers `request` itself.
    nonisolated static func serves(_ request: Request) -> Bool {
        guard request.method == .get else { return false }
        let parts = request.uri.path.split(separator: "/")
        guard parts.count >= 2, parts[0] == "v1", parts[1] == "jobs" else { return false }
        return parts.count == 2 || parts.count == 3 || (parts.count == 4 && parts[3] == "logs")
    }

    /// The answer to a call ``serves(_:)`` accepted: the resource, or the leader's error for the same call.
    func respond(to request: Request, from address: String) async -> Response {
        do {
            return try await answer(request, from: address)
        } catch let error as APIError {
            return error.response
        } catch {
            return jsonResponse(APIErrorBody(code: .internal, message: "internal error"), status: .internalServerError)
        }
    }

    private func answer(_ request: Request, from address: String) async throws -> Response {
        guard let secret = bearerToken(request), let caller = try await identify(secret) else {
            if failures.isBlocked(address) { throw APIError.tooManyFailedSignIns }
            failures.record(address)
            throw APIError.invalidToken
        }
        guard let rule = AccessControl.rule(method: request.method, path: request.uri.path) else {
            throw APIError.notFound("\(request.method.rawValue) \(request.uri.path)")
        }
        try AccessControl.authorize(caller, rule.requirement)
        guard case .job(let name) = rule.resource else {
            return try await JobListing.respond(to: request, caller: caller) { query in try await self.page(query) }
        }
        let id = JobID(name)
        let job: Job?
        do { job = try await store.job(id) } catch { throw APIError.from(error) }
        try AccessControl.requireVisible(caller, tenant: job?.tenant, resource: "job \(id)")
        guard let job else { throw APIError.notFound("job \(id)") }
        if request.uri.path.hasSuffix("/logs") {
            let after = request.uri.queryParameters.get("after").flatMap { Int64($0) } ?? 0
            do { return jsonResponse(try await store.logs(job: id, after: after, limit: maxLogChunks)) } catch { throw APIError.from(error) }
        }
        return jsonResponse(JobView(job: job))
    }

    private func page(_ query: JobQuery) async throws(APIError) -> [JobView] {
        do { return try await store.jobs(query).map { JobView(job: $0) } } catch { throw APIError.from(error) }
    }

    /// The caller a bearer token stands for, from tokens at most a second old.
    private func identify(_ secret: String) async throws(APIError) -> Identity? {
        if loadedAt.map({ ContinuousClock.now - $0 >= .seconds(1) }) ?? true { try await refresh() }
        if let identity = await directory?.identify(secret) { return identity }
        // Perhaps a token made on the leader since the last read.
        guard let loadedAt, ContinuousClock.now - loadedAt >= .milliseconds(200) else { return nil }
        try await refresh()
        return await directory?.identify(secret)
    }

    /// Rereads tokens and tenants; calls that arrive meanwhile wait for the same read.
    private func refresh() async throws(APIError) {
        let task: Task<Void, any Error>
        if let loading {
            task = loading
        } else {
            task = Task { try await self.load() }
            loading = task
        }
        do { try await task.value } catch {
            if loading == task { loading = nil }
            throw (error as? APIError) ?? APIError.storeUnavailable("\(error)")
        }
        if loading == task { loading = nil }
    }

    private func load() async throws {
        if directory == nil {
            let authenticator: Authenticator?
            do { authenticator = try await Authenticator.existing(in: store) } catch { throw APIError.from(error) }
            guard let authenticator else {
                throw APIError(.serviceUnavailable, .noLeader, "no server has led yet (the database holds no tokens); try again shortly")
            }
            directory = Directory(store: store, bootstrap: authenticator)
        }
        try await directory?.reload()
        loadedAt = .now
    }
}
