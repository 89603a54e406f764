import AllotAPI
import AllotCore
import AllotStore
import Logging

extension ControlPlane {
    /// One scheduling cycle: the scheduler's actions become job records, made durable, then agents are woken.
    func runCycle() async {
        let time = now()
        let started = ContinuousClock.now
        let actions = scheduler.schedule(now: time)
        metrics.record(metrics.cycleDuration, since: started)
        do {
            try await carryOut(actions, at: time)
        } catch {
            // The store failed: memory is reloaded from it and the cycle runs again once it takes writes.
            logger.debug("scheduling cycle not recorded", metadata: ["error": "\(error.message)"])
        }
    }

    /// Turns scheduler actions into job records, makes them durable, then wakes the agents. The scheduler
    /// has already changed: this must run in the same turn as the call that produced `actions`.
    func carryOut(_ actions: [SchedulerAction], at time: Double) async throws(APIError) {
        guard !actions.isEmpty else { return }
        var batch = WriteBatch()
        var touched: [String] = []
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
                touched += placements.map(\.node.rawValue)
            case .preempt(let id, let by):
                guard var job = active[id.rawValue] else { continue }
                touched += (job.placements ?? []).map(\.node.rawValue)
                let deadline = time + configuration.gracePeriodSeconds + 2 * configuration.scanIntervalSeconds
                for node in Set((job.placements ?? []).map(\.node.rawValue)) {
                    vacating[node, default: []].append(Vacating(job: job.id, attempt: job.attempt, forJob: by.rawValue, deadline: deadline))
                }
                batch.attempts.append(endedAttempt(job, outcome: .preempted, at: time))
                job.state = .pending
                job.placements = nil
                job.startedAt = nil
                job.reason = "preempted by \(by)"
                setActive(job.id, job)
                batch.updateJobs.append(job)
            case .resize(let id, let replica, let cpu, let memory):
                guard var job = active[id.rawValue], var placements = job.placements, replica < placements.count else { continue }
                placements[replica].cpuMillis = cpu
                placements[replica].memoryBytes = memory
                job.placements = placements
                setActive(job.id, job)
                batch.updateJobs.append(job)
            case .requeue:
                // A cycle never requeues: lost nodes are handled by tick(), which calls removeNode.
                break
            }
        }
        try await persist(batch)
        for job in batch.updateJobs { publish(job) }
        notify(touched)
    }

    /// Takes a job out of the scheduler; one it does not hold is logged, not fatal.
    func forget(_ id: String) {
        do { try scheduler.cancel(TaskID(id)) } catch {
            logger.debug("job not in the scheduler", metadata: ["job.id": "\(id)", "error": "\(error.message)"])
        }
    }

    func endedAttempt(_ job: Job, outcome: AttemptOutcome?, at time: Double, exitCode: Int32? = nil) -> JobAttempt {
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
        let attempt = endedAttempt(job, outcome: .lost, at: time)
        job.placements = nil
        job.startedAt = nil
        if job.cancelRequestedAt != nil || job.retries + 1 >= job.maxAttempts {
            forget(id)
            job.state = job.cancelRequestedAt != nil ? .cancelled : .lost
            job.finishedAt = time
            job.reason = job.state == .cancelled ? "cancelled" : "\(reason); no attempts left (\(job.maxAttempts))"
            setActive(id, nil)
        } else {
            job.retries += 1
            job.state = .pending
            job.reason = "\(reason); requeued (retry \(job.retries) of \(job.maxAttempts - 1))"
            setActive(id, job)
        }
        return (job, attempt)
    }

    /// Marks down every ready node that missed three scan intervals of heartbeats and requeues its work;
    /// ends the drain of drained nodes. The server calls this every scan interval.
    public func tick() async {
        var time = now()
        await recorder.record(clusterSamples(at: time), at: time)
        trackEmptyNodes(at: time)
        await recorder.maintain(now: time)
        if time - budgetState.checkedAt >= configuration.budgetCheckSeconds {
            do { try await checkBudgets() } catch { logger.warning("budget check failed", metadata: ["error": "\(error.message)"]) }
        }
        if time - CostLedger.keepSeconds - ledger.since > 86_400 { ledger.forget(before: time - CostLedger.keepSeconds) }
        // Nodes are marked down only when that can be recorded; agents that report keep theirs alive meanwhile.
        guard storeFailure == nil else { return }
        time = now()
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
                let actions: [SchedulerAction]
                do { actions = try scheduler.removeNode(NodeID(name), reason: "node \(name) down") } catch {
                    logger.error("a ready node was not in the scheduler", metadata: ["node.name": "\(name)", "error": "\(error.message)"])
                    actions = []
                }
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
        for node in batch.nodes where node.state == .down {
            logger.warning("node down: no heartbeat", metadata: ["node.name": "\(node.name)", "silent.seconds": "\(time - node.lastHeartbeatAt)"])
        }
        do { try await persist(batch) } catch {
            logger.debug("node changes not recorded", metadata: ["error": "\(error.message)"])
            return
        }
        for job in batch.updateJobs { publish(job) }
        for node in batch.nodes { publish(node) }
        requestCycle()
    }
}
