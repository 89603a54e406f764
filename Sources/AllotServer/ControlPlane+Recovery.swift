import AllotAPI
import AllotCore
import AllotLifecycle
import AllotStore
import Logging

extension ControlPlane {
    /// Loads the store at start: every known node is taken as ready and gets three scan intervals from now to
    /// report again; repairs are written before anything else happens.
    func open() async throws(APIError) {
        let time = now()
        do {
            try await costCenter.load(at: time)
            try await optimizer.load()
            var repairs = try await load(at: time, reviveNodes: true)
            // A priced node without an open billing period (one recorded before periods were kept) starts one now.
            repairs.merge(lifecycle.openMissingBilling(now: time))
            if !repairs.isEmpty {
                try await store.commit(repairs)
                await committed(repairs)
            }
        } catch {
            throw APIError.from(error)
        }
        requestCycle()
    }

    /// Reads nodes, unfinished jobs and open billing periods and puts a lifecycle restored from them in place
    /// (in one turn, after the reads); returns the writes that bring the store in line with it.
    func load(at time: Double, reviveNodes: Bool) async throws(StoreError) -> WriteBatch {
        let nodes = try await store.nodes()
        let periods = try await store.billingPeriods(overlapping: time - CostLedger.keepSeconds, .greatestFiniteMagnitude)
        let lastSequence = try await store.lastJobSequence()
        let jobs = try await store.jobs(JobQuery(states: [.pending, .scheduled, .staging, .running]))
        var scheduler: Scheduler
        do { scheduler = try Self.newScheduler(configuration) } catch { throw StoreError(.corrupt, error.message) }
        if !tenantSettings.isEmpty { try? scheduler.setTenantPolicies(Self.policies(tenantSettings)) }  // taken before
        let (restored, repairs) = Lifecycle.restore(
            StoredLifecycle(nodes: nodes, jobs: jobs, openBilling: periods.filter { $0.end == nil }),
            settings: Self.settings(configuration),
            scheduler: scheduler,
            now: time,
            reviveNodes: reviveNodes,
            previous: reviveNodes ? nil : lifecycle
        )
        lifecycle = restored
        reads.reset(jobs)
        reads.publish(restored.scheduler, tasks: jobs.count, force: true)
        nextSequence = max(nextSequence, lastSequence + 1)
        return repairs
    }

    // MARK: - Store failures

    /// A commit failed: changes are refused from now on, memory is reloaded from the store (undoing what
    /// the failed batch recorded), and the store is tried again with backoff until it takes a write.
    func storeFailed(_ error: StoreError) {
        metrics.storeCommitFailed()
        failuresSinceCommit += 1
        if storeFailure == nil {
            logger.error("store commit failed; refusing changes until it takes writes again", metadata: ["error": "\(error.message)"])
            storeFailure = StoreFailure(reason: error.message, since: now())
        } else {
            storeFailure?.reason = error.message
        }
        generation += 1
        announce(lifecycle.commitFailed())
    }

    /// Asks for a reload and retries (again, when one is under way: it reloads once more after it).
    func startRecovery() {
        recoveryRequested = true
        recoveryBell.continuation.yield()
    }

    func recoveryLoop() async {
        while recoveryRequested && !shuttingDown {
            recoveryRequested = false
            await recover()
        }
    }

    /// Reloads memory from the store, then writes what must be carried (or a probe) until a write commits;
    /// waits 50 ms after the first failure, doubling to 0.5 s. The wait goes back to 50 ms only once a batch
    /// commits: a store that takes the small probe but fails every batch is not hammered.
    private func recover() async {
        var reloaded = false
        while !shuttingDown {
            do {
                if !reloaded {
                    carried.merge(try await load(at: now(), reviveNodes: false))
                    reloaded = true
                    // Failed again since the last batch committed: the store takes probes but not batches.
                    if failuresSinceCommit > 1 { await backOff() }
                }
                let batch = carried
                if batch.isEmpty {
                    try await store.setSetting("store.checked", String(now()))
                } else {
                    try await store.commit(batch)
                    await committed(batch)
                    carried = WriteBatch()
                }
                break
            } catch {
                logger.warning("store still failing", metadata: ["error": "\(error.message)", "retry.seconds": "\(retryDelay)"])
                storeFailure?.reason = error.message
            }
            await backOff()
        }
        guard !shuttingDown else { return }
        if let storeFailure {
            logger.notice("store takes writes again", metadata: ["down.seconds": "\(now() - storeFailure.since)"])
        }
        // Another failure came in meanwhile: the next round reloads again.
        guard !recoveryRequested else { return }
        storeFailure = nil
        // A cycle, and every agent woken to fetch its directive again.
        announce(lifecycle.storeRecovered())
        wakeWaiters()
    }

    /// Waits the current retry delay, then doubles it (at most 0.5 s).
    private func backOff() async {
        try? await Task.sleep(for: .seconds(retryDelay))  // only shutdown cancels it, and the loop then ends
        retryDelay = min(retryDelay * 2, 0.5)
    }

    /// `nil` while the store takes writes; otherwise why not.
    public func storeProblem() -> String? { storeFailure?.reason }
}
