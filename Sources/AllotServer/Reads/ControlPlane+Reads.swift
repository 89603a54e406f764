import AllotAPI
import AllotStore

/// Reading jobs: from the read model (unfinished jobs, as durable) and the store (finished ones), never
/// through the control plane's actor, so reads do not queue behind submissions, reports and cycles.
extension ControlPlane {
    /// The default page of a job listing, and the most one page holds.
    public static let defaultPage = 100
    public static let largestPage = 1_000

    nonisolated func storedJob(_ id: JobID) async throws(APIError) -> Job? {
        do { return try await store.job(id) } catch { throw APIError.from(error) }
    }

    /// A job with, while it waits, the reason, its queue position and an estimated start. O(1) for an
    /// unfinished job, one indexed read for a finished one.
    public nonisolated func job(_ id: JobID) async throws(APIError) -> JobView {
        if let view = reads.view(id, now: now()) { return provisioning.annotated(view) }
        guard let job = try await storedJob(id) else { throw APIError.notFound("job \(id)") }
        return JobView(job: job)
    }

    /// One page of jobs in submission order (newest first when asked): the unfinished ones from one version
    /// of the read model, the finished ones from the store, merged. At most ``largestPage``.
    public nonisolated func jobs(_ query: JobQuery) async throws(APIError) -> [JobView] {
        var query = query
        let limit = min(query.limit ?? Self.defaultPage, Self.largestPage)
        query.limit = limit
        let states = query.states ?? Set(JobState.allCases)
        var found: [JobID: JobView] = [:]
        if states.contains(where: { !$0.isTerminal }) {
            for view in reads.views(query, now: now()) { found[view.job.id] = provisioning.annotated(view) }
        }
        // The finished ones: a page from the store (a record there is newer than the model's version of the
        // job, and final).
        let finishedStates = states.filter(\.isTerminal)
        if !finishedStates.isEmpty {
            var finished = query
            finished.states = finishedStates
            let page: [Job]
            do { page = try await store.jobs(finished) } catch { throw APIError.from(error) }
            for job in page { found[job.id] = JobView(job: job) }
        }
        let ordered = found.values.sorted { query.newestFirst ? $0.job.sequence > $1.job.sequence : $0.job.sequence < $1.job.sequence }
        return Array(ordered.prefix(limit))
    }

    /// The tenant a job belongs to, or `nil` when there is no such job.
    public nonisolated func tenant(ofJob id: JobID) async throws(APIError) -> String? {
        if let tenant = reads.tenant(of: id) { return tenant }
        return try await storedJob(id)?.tenant
    }

    /// A job's output after an offset.
    public nonisolated func logs(_ id: JobID, after offset: Int64) async throws(APIError) -> [LogChunk] {
        if reads.tenant(of: id) == nil, try await storedJob(id) == nil { throw APIError.notFound("job \(id)") }
        do { return try await store.logs(job: id, after: offset, limit: configuration.maxLogChunks) } catch { throw APIError.from(error) }
    }
}
