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
        if task.requests.resources.cpuMillis == 0 { task.requests.resources.cpuMillis = configuration.defaultRequests.cpuMillis }
        if task.requests.resources.memoryBytes == 0 { task.requests.resources.memoryBytes = configuration.defaultRequests.memoryBytes }
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
        var job = Job(
            id: id,
            name: submission.name,
            task: task,
            command: submission.command,
            environment: submission.environment,
            maxAttempts: submission.maxAttempts,
            sequence: sequence,
            submittedAt: now()
        )
        job.inputs = submission.inputs.isEmpty ? nil : submission.inputs
        job.onDisconnect = submission.onDisconnect == .requeue ? nil : submission.onDisconnect
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
}
