import AllotAPI
import AllotCore
import AllotStore

extension ControlPlane {
    /// One scheduling cycle: the scheduler's actions become job records, made durable, then agents are woken.
    func runCycle() async {
        let time = now()
        let started = ContinuousClock.now
        let actions = scheduler.schedule(now: time)
        metrics.record(metrics.cycleDuration, since: started)
        await carryOut(actions, at: time)
    }

    /// Turns scheduler actions into job records, makes them durable, then wakes the agents.
    func carryOut(_ actions: [SchedulerAction], at time: Double) async {
        guard !actions.isEmpty else { return }
        var batch = WriteBatch()
        var touched: [String] = []
        var bound: [String] = []
        for action in actions {
            switch action {
            case .bind(let id, let placements):
                guard var job = active[id.rawValue] else { continue }
                job.state = .scheduled
                job.placements = placements
                job.attempt += 1
                job.scheduledAt = time
                job.reason = nil
                if job.attempt == 1 { metrics.queueWait.record(duration: .seconds(max(0, time - job.submittedAt))) }
                replicaExits[job.id] = nil
                active[job.id] = job
                unpersisted.insert(job.id)
                bound.append(job.id)
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
                touched += placements.map(\.node.rawValue)
            case .preempt(let id, let by):
                guard var job = active[id.rawValue] else { continue }
                touched += (job.placements ?? []).map(\.node.rawValue)
                let deadline = time + configuration.gracePeriodSeconds + 2 * configuration.scanIntervalSeconds
                for node in Set((job.placements ?? []).map(\.node.rawValue)) {
                    vacating[node, default: []].append(Vacating(job: job.id, attempt: job.attempt, forJob: by.rawValue, deadline: deadline))
                }
                batch.attempts.append(endedAttempt(job, outcome: "preempted", at: time))
                job.state = .pending
                job.placements = nil
                job.startedAt = nil
                job.reason = "preempted by \(by)"
                active[job.id] = job
                batch.updateJobs.append(job)
            case .resize(let id, let replica, let cpu, let memory):
                guard var job = active[id.rawValue], var placements = job.placements, replica < placements.count else { continue }
                placements[replica].cpuMillis = cpu
                placements[replica].memoryBytes = memory
                job.placements = placements
                active[job.id] = job
                batch.updateJobs.append(job)
            case .requeue:
                // A cycle never requeues: lost nodes are handled by tick(), which calls removeNode.
                break
            }
        }
        do {
            try await persist(batch)
        } catch {
            // The records stay in memory; the next write carries them again.
        }
        unpersisted.subtract(bound)
        for job in batch.updateJobs { publish(job) }
        notify(touched)
    }

    func endedAttempt(_ job: Job, outcome: String, at time: Double, exitCode: Int32? = nil) -> JobAttempt {
        JobAttempt(
            job: job.id,
            number: job.attempt,
            nodes: (job.placements ?? []).map(\.node.rawValue),
            startedAt: job.startedAt ?? job.scheduledAt ?? time,
            endedAt: time,
            outcome: outcome,
            exitCode: exitCode,
            tenant: job.tenant,
            allocatedAt: job.scheduledAt,
            placements: job.placements
        )
    }

    /// A job whose node was lost goes back to the queue while it has attempts left, else it is `lost`
    /// (or `cancelled` when a cancel was waiting). The scheduler has already requeued it.
    func requeueAfterLoss(_ id: String, reason: String, at time: Double) -> (Job, JobAttempt)? {
        guard var job = active[id] else { return nil }
        let attempt = endedAttempt(job, outcome: "lost", at: time)
        job.placements = nil
        job.startedAt = nil
        if job.cancelRequestedAt != nil || job.retries + 1 >= job.maxAttempts {
            try? scheduler.cancel(TaskID(id))
            job.state = job.cancelRequestedAt != nil ? .cancelled : .lost
            job.finishedAt = time
            job.reason = job.state == .cancelled ? "cancelled" : "\(reason); no attempts left (\(job.maxAttempts))"
            active[id] = nil
        } else {
            job.retries += 1
            job.state = .pending
            job.reason = "\(reason); requeued (retry \(job.retries) of \(job.maxAttempts - 1))"
            active[id] = job
        }
        return (job, attempt)
    }

    /// Marks down every ready node that missed three scan intervals of heartbeats and requeues its work;
    /// ends the drain of drained nodes. The server calls this every scan interval.
    public func tick() async {
        let time = now()
        await recorder.record(clusterSamples(at: time), at: time)
        trackEmptyNodes(at: time)
        await recorder.maintain(now: time)
        if time - budgetState.checkedAt >= configuration.budgetCheckSeconds { try? await checkBudgets() }
        if time - CostLedger.keepSeconds - ledger.since > 86_400 { ledger.forget(before: time - CostLedger.keepSeconds) }
        let limit = 3 * configuration.scanIntervalSeconds
        var batch = WriteBatch()
        for (node, entries) in vacating {
            let left = entries.filter { $0.deadline > time }
            if left.count < entries.count {
                vacating[node] = left.isEmpty ? nil : left
                notify([node])
            }
        }
        for name in nodes.keys.sorted() {
            guard var node = nodes[name] else { continue }
            if node.state == .ready, time - node.lastHeartbeatAt > limit {
                node.state = .down
                nodes[name] = node
                batch.nodes.append(node)
                batch.billing += closeBilling(name, at: time)
                scheduled.remove(name)
                vacating[name] = nil
                let actions = (try? scheduler.removeNode(NodeID(name), reason: "node \(name) down")) ?? []
                for case .requeue(let id, let reason) in actions {
                    if let (job, attempt) = requeueAfterLoss(id.rawValue, reason: reason, at: time) {
                        batch.updateJobs.append(job)
                        batch.attempts.append(attempt)
                    }
                }
            } else if node.draining, placedJobs(on: name).isEmpty {
                node.draining = false
                nodes[name] = node
                batch.nodes.append(node)
            }
        }
        guard !batch.isEmpty else { return }
        try? await persist(batch)
        for job in batch.updateJobs { publish(job) }
        for node in batch.nodes { publish(node) }
        requestCycle()
    }
}
