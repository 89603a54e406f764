import AllotAPI
import AllotCore
import AllotStore
import Logging

/// Memory rebuilt from the store: what a start and a reload after a failed commit share.
struct LoadedState {
    var scheduler: Scheduler
    var nodes: [String: NodeStatus] = [:]
    var scheduled: Set<String> = []
    var active: [String: Job] = [:]
    var openBilling: [String: NodeBillingPeriod] = [:]
    var nextSequence: Int64 = 1
    /// Writes that bring the store in line with what was loaded (jobs that could not be restored).
    var repairs = WriteBatch()
}

extension ControlPlane {
    /// Loads the store at start: every known node is taken as ready and gets three scan intervals from now to
    /// report again; repairs are written before anything else happens.
    func open() async throws(APIError) {
        let time = now()
        do {
            let periods = try await store.billingPeriods(overlapping: time - CostLedger.keepSeconds, .greatestFiniteMagnitude)
            ledger = CostLedger(
                since: time - CostLedger.keepSeconds,
                attempts: try await store.attempts(overlapping: time - CostLedger.keepSeconds, .greatestFiniteMagnitude),
                periods: periods
            )
            decisions = RecommendationDecisions(try await store.feedback(tenants: nil))
            adopt(try await load(at: time, reviveNodes: true))
            // A priced node without an open billing period (one recorded before periods were kept) starts one now.
            for node in nodes.values.sorted(by: { $0.name < $1.name })
            where openBilling[node.name] == nil && node.inventory.pricing?.hourlyPrice != nil {
                carried.billing += openBilling(for: node, at: time)
            }
            if !carried.isEmpty {
                try await store.commit(carried)
                ledger.record(carried)
                carried = WriteBatch()
            }
        } catch {
            throw APIError.from(error)
        }
        requestCycle()
    }

    /// Reads nodes, unfinished jobs and open billing periods into a fresh scheduler. Work that was scheduled or
    /// running keeps its resources; pending work is queued again in its order. `reviveNodes` (a start) takes
    /// every node as ready; otherwise nodes keep their stored state.
    func load(at time: Double, reviveNodes: Bool) async throws(StoreError) -> LoadedState {
        var state: LoadedState
        do {
            state = LoadedState(scheduler: try Scheduler(configuration: configuration.scheduler))
        } catch {
            throw StoreError(.corrupt, "scheduler configuration: \(error.description)")
        }
        if !tenantSettings.isEmpty { try? state.scheduler.setTenantPolicies(Self.policies(tenantSettings)) }
        for var node in try await store.nodes() {
            if reviveNodes {
                node.lastHeartbeatAt = time
                node.state = .ready
            } else if let live = nodes[node.name] {
                // What agents said last is newer than the store and never written there.
                node.lastHeartbeatAt = live.lastHeartbeatAt
                node.usage = live.usage
            }
            state.nodes[node.name] = node
            if node.state == .ready { Self.add(node, to: &state) }
        }
        let periods = try await store.billingPeriods(overlapping: time - CostLedger.keepSeconds, .greatestFiniteMagnitude)
        for period in periods where period.end == nil { state.openBilling[period.node] = period }
        state.nextSequence = max(nextSequence, try await store.lastJobSequence() + 1)
        for var job in try await store.jobs(JobQuery(states: [.pending, .scheduled, .running])) {
            if job.state != .pending, let placements = job.placements {
                do {
                    let remaining = job.task.estimateSeconds.map { max(0, $0 - (time - (job.startedAt ?? job.scheduledAt ?? time))) }
                    try state.scheduler.restore(
                        job.task,
                        replicas: placements.map { ($0.node, $0.gpuIndices) },
                        now: time,
                        remainingSeconds: remaining
                    )
                    state.active[job.id] = job
                    continue
                } catch {
                    // Its allocation ends here: its attempt stops costing.
                    state.repairs.attempts.append(endedAttempt(job, outcome: .lost, at: time))
                    job.state = .pending
                    job.placements = nil
                    job.reason = "requeued on restart: \(error.message)"
                }
            }
            do {
                try state.scheduler.submit(job.task, now: job.submittedAt)
                state.active[job.id] = job
            } catch {
                job.state = .failed
                job.finishedAt = time
                job.reason = "cannot be queued on restart: \(error.message)"
            }
            state.repairs.updateJobs.append(job)
        }
        return state
    }

    private static func add(_ node: NodeStatus, to state: inout LoadedState) {
        var spec = node.inventory.nodeSpec
        spec.id = NodeID(node.name)
        guard (try? state.scheduler.addNode(spec)) != nil else { return }
        state.scheduled.insert(node.name)
        if node.cordoned { try? state.scheduler.cordon(spec.id) }
    }

    /// Puts loaded state in place, in one turn.
    private func adopt(_ state: LoadedState) {
        scheduler = state.scheduler
        nodes = state.nodes
        scheduled = state.scheduled
        active = state.active
        openBilling = state.openBilling
        nextSequence = state.nextSequence
        staged = [:]
        replicaExits = replicaExits.filter { state.active[$0.key]?.state == .running }
        for (node, entries) in vacating {
            let left = entries.filter { state.active[$0.forJob]?.state == .scheduled }
            vacating[node] = left.isEmpty ? nil : left
        }
        carried.merge(state.repairs)
    }

    // MARK: - Store failures

    /// A commit failed: changes are refused from now on, memory is reloaded from the store (undoing what
    /// the failed batch recorded), and the store is tried again with backoff until it takes a write.
    func storeFailed(_ error: StoreError) {
        metrics.storeCommitFailed()
        if storeFailure == nil {
            logger.error("store commit failed; refusing changes until it takes writes again", metadata: ["error": "\(error.message)"])
            storeFailure = StoreFailure(reason: error.message, since: now())
        } else {
            storeFailure?.reason = error.message
        }
        generation += 1
        recovery?.cancel()
        recovery = Task { await self.recover() }
    }

    /// Reloads memory from the store, then writes what must be carried (or a probe) until a write commits;
    /// waits 50 ms after the first failure, doubling to 1 s.
    private func recover() async {
        var delay = 0.05
        var reloaded = false
        while !Task.isCancelled && !shuttingDown {
            do {
                if !reloaded {
                    adopt(try await load(at: now(), reviveNodes: false))
                    reloaded = true
                    notify(nodes.keys)
                }
                let batch = carried
                if batch.isEmpty {
                    try await store.setSetting("store.checked", String(now()))
                } else {
                    try await store.commit(batch)
                    ledger.record(batch)
                    carried = WriteBatch()
                }
                break
            } catch {
                logger.warning("store still failing", metadata: ["error": "\(error.message)", "retry.seconds": "\(delay)"])
                storeFailure?.reason = error.message
            }
            try? await Task.sleep(for: .seconds(delay))
            delay = min(delay * 2, 1)
        }
        guard !Task.isCancelled, !shuttingDown else { return }
        if let storeFailure {
            logger.notice("store takes writes again", metadata: ["down.seconds": "\(now() - storeFailure.since)"])
        }
        storeFailure = nil
        recovery = nil
        requestCycle()
        wakeWaiters()
    }

    /// `nil` while the store takes writes; otherwise why not.
    public func storeProblem() -> String? { storeFailure?.reason }
}
