import AllotAPI
import AllotCore
import AllotLifecycle
import AllotStore
import HTTPTypes
import Logging

extension ControlPlane {
    /// Accepts a job: checked against the scheduler (fields, and that it could fit the empty cluster), made
    /// durable, then queued. Returns once it is on disk.
    public func submit(_ submission: JobSubmission) async throws(APIError) -> Job {
        try requireWritable()
        guard submission.task.gang <= configuration.maxReplicas else {
            throw APIError(
                .unprocessableContent,
                .invalidField,
                "gang: invalid value \"\(submission.task.gang)\": at most \(configuration.maxReplicas) replicas a job (--max-replicas)"
            )
        }
        let sequence = nextSequence
        nextSequence += 1
        let id = JobID(sequence: sequence)
        var task = submission.task
        task.id = TaskID(id.rawValue)
        do {
            try lifecycle.check(task)
        } catch {
            nextSequence -= 1
            throw APIError.from(error)
        }
        if let problem = budgetProblem(task.tenant.rawValue) {
            nextSequence -= 1
            throw APIError(.forbidden, .budgetExceeded, problem)
        }
        if let problem = quotaProblem(task) {
            nextSequence -= 1
            throw APIError(.forbidden, .quotaExceeded, problem)
        }
        let job = Job(
            id: id,
            name: submission.name,
            task: task,
            command: submission.command,
            environment: submission.environment,
            maxAttempts: submission.maxAttempts,
            sequence: sequence,
            submittedAt: now()
        )
        admitting[id] = job
        defer { admitting[id] = nil }
        let loaded = generation
        try await persist(WriteBatch(insertJobs: [job]))
        // Memory was reloaded from the store since the insert committed: the job is there already.
        guard generation == loaded else { return job }
        let (queued, actions) = lifecycle.accepted(job, now: now())
        if queued.state == .failed {
            // The cluster changed between the check and the write: the job is kept, failed, with the reason.
            logger.warning("job accepted but could not be queued", metadata: ["job.id": "\(id)", "reason": "\(queued.reason ?? "")"])
        }
        do { try await carry(actions) } catch {
            // Its insert is durable; the record of its failure is written once the store takes writes again.
            carried.updateJobs.append(queued)
        }
        return queued
    }

    /// Cancels a job: a pending or just-scheduled one at once; a running one once its agent has stopped it
    /// (SIGTERM, then SIGKILL after the grace period). Cancelling a finished job changes nothing.
    public func cancel(_ id: JobID) async throws(APIError) -> Job {
        guard let job = active[id] else {
            guard let stored = try await storedJob(id) else { throw APIError.notFound("job \(id)") }
            return stored
        }
        let result: (job: Job, actions: [LifecycleAction])?
        do { result = try lifecycle.cancel(id, now: now()) } catch { throw Self.apiError(error) }
        guard let (cancelled, actions) = result else { return job }
        try await carry(actions)
        return cancelled
    }

    func storedJob(_ id: JobID) async throws(APIError) -> Job? {
        do { return try await store.job(id) } catch { throw APIError.from(error) }
    }

    /// A job with, while it waits, the reason, its queue position and an estimated start.
    public func job(_ id: JobID) async throws(APIError) -> JobView {
        if let job = active[id] { return view(job, positions: queuePositions()) }
        guard let job = try await storedJob(id) else { throw APIError.notFound("job \(id)") }
        return JobView(job: job)
    }

    /// Jobs in submission order; live state overrides what the store has not caught up with yet.
    public func jobs(_ query: JobQuery) async throws(APIError) -> [JobView] {
        let stored: [Job]
        do { stored = try await store.jobs(query) } catch { throw APIError.from(error) }
        let positions = queuePositions()
        return stored.compactMap { job in
            guard let live = active[job.id] else { return JobView(job: job) }
            let wanted = query.states?.contains(live.state) ?? true
            return wanted ? view(live, positions: positions) : nil
        }
    }

    func view(_ job: Job, positions: [JobID: Int]) -> JobView {
        guard job.state == .pending else { return JobView(job: job) }
        var shown = job
        if let reason = scheduler.pendingReason(job.task.id) { shown.reason = reason }
        return JobView(job: shown, queuePosition: positions[job.id], estimatedStartAt: scheduler.estimatedStart(job.task.id, now: now()))
    }

    /// Every pending job's place in the queue (from 1), computed once for a listing rather than once per job.
    private func queuePositions() -> [JobID: Int] {
        let pending = active.values.filter { $0.state == .pending }.sorted { queueOrder($0, before: $1) }
        return Dictionary(uniqueKeysWithValues: pending.enumerated().map { ($1.id, $0 + 1) })
    }

    private func queueOrder(_ lhs: Job, before rhs: Job) -> Bool {
        if configuration.scheduler.policy.name == "fifo" { return lhs.sequence < rhs.sequence }
        if lhs.task.priority != rhs.task.priority { return lhs.task.priority > rhs.task.priority }
        return lhs.sequence < rhs.sequence
    }

    /// The tenant a job belongs to, or `nil` when there is no such job.
    public func tenant(ofJob id: JobID) async throws(APIError) -> String? {
        if let job = active[id] { return job.tenant }
        return try await storedJob(id)?.tenant
    }

    /// A job's output after an offset.
    public func logs(_ id: JobID, after offset: Int64) async throws(APIError) -> [LogChunk] {
        if active[id] == nil, try await storedJob(id) == nil { throw APIError.notFound("job \(id)") }
        do { return try await store.logs(job: id, after: offset, limit: configuration.maxLogChunks) } catch { throw APIError.from(error) }
    }
}
