import AllotAPI
import AllotCore
import AllotStore

extension Lifecycle {
    // MARK: - Submit and cancel

    /// A job's insert has committed: it joins the queue. A job the scheduler no longer takes (the cluster
    /// changed since it was checked) is kept, failed, with the reason.
    public mutating func accepted(_ job: Job, now: Double) -> (job: Job, actions: [LifecycleAction]) {
        do {
            try scheduler.submit(job.task, now: job.submittedAt)
            active[job.id] = job
            return (job, [.publishJob(job), .schedule])
        } catch {
            var failed = job
            failed.state = .failed
            failed.finishedAt = now
            failed.reason = error.message
            return (failed, Self.actions(WriteBatch(updateJobs: [failed])))
        }
    }

    /// Cancels an active job: a pending or scheduled one at once, a running one through its agent (SIGTERM,
    /// then SIGKILL after the grace period; it ends when the agent reports the exit), one whose node is down at
    /// once. `nil` when the job is not active.
    public mutating func cancel(_ id: JobID, now: Double) throws(LifecycleError) -> (job: Job, actions: [LifecycleAction])? {
        try requireChanges()
        guard var job = active[id] else { return nil }
        var batch = WriteBatch()
        let nodesOfJob = (job.placements ?? []).map(\.node.rawValue)
        let nodeDown = nodesOfJob.contains { nodes[$0]?.state != .ready }
        var schedule = false
        if job.state == .running && !nodeDown {
            job.cancelRequestedAt = now
            job.reason = "cancel requested"
            setActive(id, job)
        } else {
            if job.state != .pending { batch.attempts.append(Self.endedAttempt(job, outcome: .cancelled, at: now)) }
            try? scheduler.cancel(TaskID(id.rawValue), now: now)  // an active job is always in the scheduler
            job.state = .cancelled
            job.finishedAt = now
            job.reason = "cancelled"
            setActive(id, nil)
            schedule = true
        }
        batch.updateJobs.append(job)
        return (job, Self.actions(batch, schedule: schedule))
    }

    // MARK: - Scheduling

    /// One scheduling cycle: the scheduler's bindings, preemptions and resizes become job records.
    public mutating func cycle(now: Double) -> [LifecycleAction] {
        guard acceptsChanges else { return [] }
        return carryOut(scheduler.schedule(now: now), now: now)
    }

    /// Carries out a consolidation or drain plan: moved jobs are preempted (with the grace period) and
    /// bound again where the plan says, the target where the moves made room.
    public mutating func apply(_ plan: ConsolidationPlan, now: Double) throws(LifecycleError) -> [LifecycleAction] {
        try requireChanges()
        do throws(SchedulerError) {
            return carryOut(try scheduler.apply(plan, now: now), now: now) + [.schedule]
        } catch {
            throw LifecycleError.from(error)
        }
    }

    mutating func carryOut(_ actions: [SchedulerAction], now time: Double) -> [LifecycleAction] {
        guard !actions.isEmpty else { return [] }
        var batch = WriteBatch()
        for action in actions {
            switch action {
            case .bind(let id, let placements):
                guard var job = active[JobID(id.rawValue)] else { continue }
                job.state = .scheduled
                job.placements = placements
                job.attempt += 1
                job.scheduledAt = time
                job.reason = nil
                replicaExits[job.id] = nil
                setActive(job.id, job)
                batch.updateJobs.append(job)
                batch.attempts.append(
                    JobAttempt(
                        job: job.id,
                        number: job.attempt,
                        nodes: placements.map(\.node.rawValue),
                        startedAt: time,
                        tenant: job.tenant,
                        allocatedAt: time,
                        placements: placements
                    )
                )
            case .preempt(let id, let by):
                guard var job = active[JobID(id.rawValue)] else { continue }
                let deadline = time + settings.gracePeriodSeconds + 2 * settings.scanIntervalSeconds
                for node in Set((job.placements ?? []).map(\.node.rawValue)) {
                    vacating[node, default: []].append(Vacating(job: job.id, attempt: job.attempt, forJob: JobID(by.rawValue), deadline: deadline))
                }
                batch.attempts.append(Self.endedAttempt(job, outcome: .preempted, at: time))
                job.state = .pending
                job.placements = nil
                job.startedAt = nil
                job.reason = "preempted by \(by)"
                setActive(job.id, job)
                batch.updateJobs.append(job)
            case .resize(let id, let replica, let cpu, let memory):
                guard var job = active[JobID(id.rawValue)], var placements = job.placements, replica < placements.count else { continue }
                placements[replica].cpuMillis = cpu
                placements[replica].memoryBytes = memory
                job.placements = placements
                setActive(job.id, job)
                batch.updateJobs.append(job)
            case .requeue:
                // A cycle never requeues: lost nodes go through tick(), which removes them from the scheduler.
                break
            }
        }
        // Agents are woken when the write commits (``committed(take:)``).
        return Self.actions(batch)
    }

    // MARK: - Agents' reports

    /// Job statuses from a node's agent: starts, exits (a gang ends when all replicas have exited or one has
    /// failed), processes lost. Statuses of other attempts, or of replicas placed elsewhere, are ignored.
    public mutating func reported(
        _ statuses: [AgentReport.JobStatus],
        node name: String,
        now time: Double
    ) throws(LifecycleError)
        -> [LifecycleAction]
    {
        // While changes are refused, memory may still hold changes that are not on disk: a report that could
        // change anything (an end, a start) is refused whole, and the agent sends it again.
        if !acceptsChanges, statuses.contains(where: { $0.state != .running || active[$0.id]?.state != .running }) {
            try requireChanges()
        }
        var batch = WriteBatch()
        var woken: Set<String> = []
        var finished = false
        if let entries = vacating[name] {
            let ended = Set(statuses.filter { $0.state != .running }.map { "\($0.id)#\($0.attempt)" })
            let left = entries.filter { !ended.contains("\($0.job)#\($0.attempt)") }
            if left.count < entries.count {
                vacating[name] = left.isEmpty ? nil : left
                woken.insert(name)
            }
        }
        for status in statuses {
            if let late = try lateExit(status, node: name, at: time) {
                batch.merge(late)
                finished = true
                continue
            }
            if let adopted = try adoptReturning(status, node: name, at: time) {
                batch.merge(adopted)
                continue
            }
            guard var job = active[status.id], job.attempt == status.attempt,
                let placements = job.placements, status.replica >= 0, status.replica < placements.count,
                placements[status.replica].node.rawValue == name
            else { continue }
            if status.state != .running || job.state == .scheduled || job.state == .staging { try requireChanges() }
            switch status.state {
            case .staging:
                let progress = StagingProgress(bytesDone: status.stagedBytes ?? 0, bytes: status.stagingBytes ?? 0)
                guard job.state == .scheduled || (job.state == .staging && job.staging != progress) else { continue }
                job.state = .staging
                job.staging = progress
                setActive(job.id, job)
                batch.updateJobs.append(job)
            case .lost:
                try? scheduler.requeue(TaskID(job.id.rawValue), now: time)  // an active job is always in the scheduler
                if let (requeued, attempt) = requeueAfterLoss(job.id, reason: "the agent on \(name) lost its process", at: time) {
                    batch.updateJobs.append(requeued)
                    batch.attempts.append(attempt)
                }
                replicaExits[job.id] = nil
                finished = true
            case .running:
                guard job.state == .scheduled || job.state == .staging else { continue }
                job.state = .running
                job.startedAt = time
                job.limits = status.message
                setActive(job.id, job)
                batch.updateJobs.append(job)
            case .exited, .failedToStart:
                var exits = replicaExits[job.id] ?? [:]
                exits[status.replica] = status.exitCode ?? 127
                replicaExits[job.id] = exits
                let failedReplica = exits.values.first { $0 != 0 }
                guard exits.count == placements.count || failedReplica != nil else { continue }
                let code = failedReplica ?? 0
                if status.state == .exited, job.limits == nil { job.limits = status.message }
                job.exitCode = code
                job.finishedAt = time
                if job.cancelRequestedAt != nil {
                    job.state = .cancelled
                    job.reason = "cancelled"
                } else if status.state == .failedToStart {
                    job.state = .failed
                    job.reason = "the command could not start: \(status.message ?? "unknown error")"
                } else {
                    job.state = code == 0 ? .succeeded : .failed
                    job.reason = code == 0 ? nil : "exit code \(code)"
                }
                batch.attempts.append(Self.endedAttempt(job, outcome: AttemptOutcome(ending: job.state), at: time, exitCode: code))
                try? scheduler.finish(TaskID(job.id.rawValue), now: time)  // an active job is always in the scheduler
                setActive(job.id, nil)
                replicaExits[job.id] = nil
                batch.updateJobs.append(job)
                finished = true
            }
        }
        return Self.actions(batch, wake: woken, schedule: finished)
    }

    /// The job, as it was in the attempt given up on when node `name` went silent, when `status` reports that
    /// attempt from that node while the job still waits to be placed again (single tasks only): its placement
    /// and start back, its retry given back. `nil` otherwise.
    func givenUpAttempt(_ status: AgentReport.JobStatus, node name: String) -> (job: Job, attempt: JobAttempt)? {
        guard status.replica == 0, var job = active[status.id], job.state == .pending, let lost = lostAttempts[status.id],
            lost.number == status.attempt, lost.nodes == [name]
        else { return nil }
        job.retries -= 1
        job.placements = lost.placements
        job.startedAt = lost.startedAt
        return (job, lost)
    }

    /// The exit of an attempt given up on when its node went silent, reported by that node on its return: the
    /// process ended by itself, and the job, still waiting for its next placement, ends with that exit instead of
    /// running again. `nil` for any other status.
    mutating func lateExit(_ status: AgentReport.JobStatus, node name: String, at time: Double) throws(LifecycleError) -> WriteBatch? {
        guard status.state == .exited, status.endedByItself == true, var (job, attempt) = givenUpAttempt(status, node: name) else { return nil }
        try requireChanges()
        try? scheduler.cancel(TaskID(job.id.rawValue), now: time)  // a pending job is in the scheduler's queue
        let code = status.exitCode ?? 127
        job.exitCode = code
        job.finishedAt = time
        job.state = code == 0 ? .succeeded : .failed
        job.reason = code == 0 ? nil : "exit code \(code)"
        if job.limits == nil { job.limits = status.message }
        attempt.outcome = AttemptOutcome(ending: job.state)
        attempt.exitCode = code
        setActive(job.id, nil)
        replicaExits[job.id] = nil
        return WriteBatch(updateJobs: [job], attempts: [attempt])
    }

    /// An attempt given up on when its node went silent, still running when that node returns: the job, still
    /// waiting for its next placement, takes it back where it runs (the same node and devices) instead of stopping
    /// it and starting again. `nil` for any other status, or when its resources are no longer free.
    mutating func adoptReturning(_ status: AgentReport.JobStatus, node name: String, at time: Double) throws(LifecycleError) -> WriteBatch? {
        guard status.state == .running, scheduled.contains(name), var (job, attempt) = givenUpAttempt(status, node: name),
            let placements = job.placements
        else { return nil }
        try requireChanges()
        let id = TaskID(job.id.rawValue)
        do throws(SchedulerError) {
            try scheduler.cancel(id, now: time)
            try scheduler.restore(job.task, replicas: placements.map { ($0.node, $0.gpuIndices) }, now: time)
        } catch {
            // Taken meanwhile: it waits in the queue as before, and its old attempt is stopped.
            try? scheduler.submit(job.task, now: job.submittedAt)  // it was in the queue a moment ago
            return nil
        }
        job.state = .running
        job.reason = nil
        attempt.endedAt = nil
        attempt.outcome = nil
        setActive(job.id, job)
        return WriteBatch(updateJobs: [job], attempts: [attempt])
    }

    /// A job whose node or process was lost goes back to the queue while it has attempts left, else it is
    /// `lost` (or `cancelled` when a cancel was waiting). The scheduler has already requeued it.
    mutating func requeueAfterLoss(_ id: JobID, reason: String, at time: Double) -> (Job, JobAttempt)? {
        guard var job = active[id] else { return nil }
        let attempt = Self.endedAttempt(job, outcome: .lost, at: time)
        job.placements = nil
        job.startedAt = nil
        job.staging = nil
        if job.cancelRequestedAt != nil || job.retries + 1 >= job.maxAttempts {
            try? scheduler.cancel(TaskID(id.rawValue), now: time)  // an active job is always in the scheduler
            job.state = job.cancelRequestedAt != nil ? .cancelled : .lost
            job.finishedAt = time
            job.reason = job.state == .cancelled ? "cancelled" : "\(reason); no attempts left (\(job.maxAttempts))"
            setActive(id, nil)
        } else {
            job.retries += 1
            job.state = .pending
            job.reason = "\(reason); requeued (retry \(job.retries) of \(job.maxAttempts - 1))"
            setActive(id, job)
            if attempt.nodes.count == 1 { lostAttempts[id] = attempt }
        }
        return (job, attempt)
    }
}

extension Lifecycle {
    /// Whether the scheduler would take `spec` (its fields, and that it fits the empty cluster); changes nothing
    /// a caller can see.
    public mutating func check(_ spec: TaskSpec) throws(SchedulerError) { try scheduler.check(spec) }
}
