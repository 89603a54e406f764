import AllotAPI
import AllotCore
import AllotStore
import Foundation
import HTTPTypes

/// The control plane: the scheduler state machine driven by API calls and agent reports, with every change
/// made durable in the store before anyone acts on it.
///
/// One actor owns the scheduler. Writes go through a single writer that merges whatever is queued into one
/// transaction (group commit), so concurrent submissions share a disk sync and their order is kept.
public actor ControlPlane {
    let store: any AllotStore
    public let configuration: ServerConfiguration
    let now: @Sendable () -> Double
    var scheduler: Scheduler
    /// Jobs not yet finished, by id.
    var active: [String: Job] = [:] {
        didSet {
            placedStale = true
            revision &+= 1
        }
    }
    /// Which active jobs have a replica on each node, in submission order: rebuilt on demand after `active`
    /// changes, so that the many per-node questions (every report, every directive) do not scan all jobs.
    var placedIndex: [String: [String]] = [:]
    var placedStale = true
    var nodes: [String: NodeStatus] = [:]
    /// Nodes the scheduler currently holds (ready ones).
    var scheduled: Set<String> = [] { didSet { revision &+= 1 } }
    /// Jobs whose latest binding is not yet durable: agents do not see them until it is.
    var unpersisted: Set<String> = [] { didSet { revision &+= 1 } }
    /// Exit codes of the replicas of gang jobs that have ended, by job.
    var replicaExits: [String: [Int: Int32]] = [:]
    var directiveVersions: [String: Int] = [:] { didSet { revision &+= 1 } }
    var waiters: [String: [UUID: CheckedContinuation<Void, Never>]] = [:]
    var nextSequence: Int64 = 1
    /// Tenants' limits and parents, for admission (a limit covers every tenant below its owner).
    var tenantLimits: [String: ResourceQuota] = [:]
    var tenantParents: [String: String] = [:]
    /// Jobs past the quota check whose insert is not yet durable (they count against quotas already).
    var admitting: [String: Job] = [:]
    let events = EventHub()
    /// Prometheus metrics of this server.
    public nonisolated let metrics = ServerMetrics()
    /// The usage history.
    public nonisolated let recorder: UsageRecorder
    /// Each node's last network counters, for rates.
    var networkCounters: [String: (time: Double, received: Int64, sent: Int64)] = [:]
    /// Each running job's last CPU-seconds reading, for its rate.
    var jobCPU: [String: (time: Double, seconds: Double)] = [:]
    /// Since when each ready node has run nothing.
    var emptySince: [String: Double] = [:]
    /// Evicted jobs still stopping (SIGTERM, then the grace period), by node: the job that evicted them is
    /// not handed to that node's agent until they have exited or the grace period has passed.
    var vacating: [String: [Vacating]] = [:] { didSet { revision &+= 1 } }
    /// Each priced node's open billing period.
    var openBilling: [String: NodeBillingPeriod] = [:]
    /// The recent attempts and billing periods, for cost reports.
    var ledger = CostLedger()
    /// Budgets' last check: spend per budget, and the hard budgets that now refuse submissions, by tenant.
    var budgetState = BudgetState()
    /// Decisions users made on recommendations (latest per kind and target), and counts per kind.
    var decisions = RecommendationDecisions()
    /// Bumped by every change a directive depends on; encoded directives are reused while it stands still.
    var revision = 0
    var encodedDirectives: [String: EncodedDirective] = [:]
    /// This process's identity in directives.
    let epoch = UUID().uuidString

    var queued = WriteBatch()
    var acknowledgements: [CheckedContinuation<Result<Void, StoreError>, Never>] = []
    var writing = false
    var shuttingDown = false
    var cycleRequested = false
    var cycling = false

    init(store: any AllotStore, history: any HistoryStore, configuration: ServerConfiguration, now: @escaping @Sendable () -> Double) throws(APIError)
    {
        self.store = store
        recorder = UsageRecorder(store: history, configuration: configuration.history, checkpointSeconds: configuration.historyCheckpointSeconds)
        self.configuration = configuration
        self.now = now
        do {
            scheduler = try Scheduler(configuration: configuration.scheduler)
        } catch {
            throw APIError(.internalServerError, "configuration", error.description)
        }
    }

    /// Opens the control plane on a store, recovering nodes and jobs: work that was scheduled or running
    /// keeps its resources (no double booking), pending work is queued again in its order.
    public static func start(
        store: any AllotStore,
        history: any HistoryStore = MemoryHistoryStore(),
        configuration: ServerConfiguration = ServerConfiguration(),
        now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) async throws(APIError) -> ControlPlane {
        let plane = try ControlPlane(store: store, history: history, configuration: configuration, now: now)
        try await plane.recover()
        return plane
    }

    private func recover() async throws(APIError) {
        let time = now()
        do {
            for var node in try await store.nodes() {
                // Every known node gets three scan intervals from now to report again.
                node.lastHeartbeatAt = time
                node.state = .ready
                nodes[node.name] = node
                addToScheduler(node)
            }
            let recent = time - CostLedger.keepSeconds
            let periods = try await store.billingPeriods(overlapping: recent, .greatestFiniteMagnitude)
            for period in periods where period.end == nil { openBilling[period.node] = period }
            ledger = CostLedger(since: recent, attempts: try await store.attempts(overlapping: recent, .greatestFiniteMagnitude), periods: periods)
            // A priced node without an open billing period (one recorded before periods were kept) starts one now.
            var billing = WriteBatch()
            for node in nodes.values.sorted(by: { $0.name < $1.name })
            where openBilling[node.name] == nil && node.inventory.pricing?.hourlyPrice != nil {
                billing.billing += openBilling(for: node, at: time)
            }
            if !billing.isEmpty {
                try await store.commit(billing)
                ledger.record(billing)
            }
            decisions = RecommendationDecisions(try await store.feedback(tenants: nil))
            nextSequence = try await store.lastJobSequence() + 1
            var batch = WriteBatch()
            for var job in try await store.jobs(JobQuery(states: [.pending, .scheduled, .running])) {
                if job.state != .pending, let placements = job.placements {
                    do {
                        let remaining = job.task.estimateSeconds.map { max(0, $0 - (time - (job.startedAt ?? job.scheduledAt ?? time))) }
                        try scheduler.restore(job.task, replicas: placements.map { ($0.node, $0.gpuIndices) }, now: time, remainingSeconds: remaining)
                        active[job.id] = job
                        continue
                    } catch {
                        // Its allocation ends here: its attempt stops costing.
                        batch.attempts.append(endedAttempt(job, outcome: "lost", at: time))
                        job.state = .pending
                        job.placements = nil
                        job.reason = "requeued on restart: \(error.message)"
                    }
                }
                do {
                    try scheduler.submit(job.task, now: job.submittedAt)
                    active[job.id] = job
                } catch {
                    job.state = .failed
                    job.finishedAt = time
                    job.reason = "cannot be queued on restart: \(error.message)"
                }
                batch.updateJobs.append(job)
            }
            if !batch.isEmpty {
                try await store.commit(batch)
                ledger.record(batch)
            }
        } catch {
            throw APIError.from(error)
        }
        requestCycle()
    }

    func addToScheduler(_ node: NodeStatus) {
        var spec = node.inventory.nodeSpec
        spec.id = NodeID(node.name)
        do {
            try scheduler.addNode(spec)
            scheduled.insert(node.name)
            if node.cordoned { try scheduler.cordon(spec.id) }
        } catch {
            // Already known: nothing to do.
        }
    }

    // MARK: - Persistence

    /// Makes a batch durable, merged with whatever else is waiting, in call order.
    func persist(_ batch: WriteBatch) async throws(StoreError) {
        ledger.record(batch)
        queued.merge(batch)
        let result = await withCheckedContinuation { continuation in
            acknowledgements.append(continuation)
            if !writing {
                writing = true
                Task { await self.drain() }
            }
        }
        try result.get()
    }

    /// Returns once no scheduling cycle runs or is asked for and everything queued is on disk (at most 5 s):
    /// the point where a caller sees every consequence of what it did.
    public func quiesce() async {
        for _ in 0..<2_500 where cycling || cycleRequested || writing || !queued.isEmpty {
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Returns once everything queued (audit entries included) is on disk.
    public func flush() async {
        while writing || !queued.isEmpty { try? await Task.sleep(for: .milliseconds(5)) }
    }

    /// Queues a batch for the next transaction without waiting for it.
    func queue(_ batch: WriteBatch) {
        ledger.record(batch)
        queued.merge(batch)
        if !writing {
            writing = true
            Task { await self.drain() }
        }
    }

    private func drain() async {
        while !queued.isEmpty {
            let batch = queued
            let waiting = acknowledgements
            queued = WriteBatch()
            acknowledgements = []
            let result: Result<Void, StoreError>
            let started = ContinuousClock.now
            defer { metrics.record(metrics.storeCommitDuration, since: started) }
            do {
                try await store.commit(batch)
                result = .success(())
            } catch {
                result = .failure(error)
            }
            for continuation in waiting { continuation.resume(returning: result) }
        }
        writing = false
    }

    // MARK: - Notifications

    /// Wakes the agents of these nodes: their set of jobs changed.
    func notify(_ names: some Sequence<String>) {
        for name in Set(names) {
            directiveVersions[name, default: 0] += 1
            for continuation in (waiters.removeValue(forKey: name) ?? [:]).values { continuation.resume() }
        }
    }

    /// Asks for a scheduling cycle as soon as the current one (if any) is done.
    func requestCycle() {
        cycleRequested = true
        guard !cycling else { return }
        cycling = true
        Task { await self.cycleLoop() }
    }

    private func cycleLoop() async {
        while cycleRequested {
            cycleRequested = false
            await runCycle()
        }
        cycling = false
    }

    /// A stream of job and node changes.
    /// Job and node changes; with a scope, only the job changes of those tenants.
    public nonisolated func subscribe(scope: Set<String>? = nil) -> AsyncStream<ControlPlaneEvent> { events.subscribe(scope: scope) }

    /// A node's directive as sent, and what it was computed from.
    struct EncodedDirective: Sendable {
        var revision: Int
        var inventoryRequested: Bool
        var inventory: NodeInventory?
        var bytes: [UInt8]
    }

    /// An evicted job's attempt that must end before `forJob` starts on the same node.
    struct Vacating: Sendable {
        var job: String
        var attempt: Int
        var forJob: String
        var deadline: Double
    }

    /// The ids of the active jobs with a replica on `node`, in submission order.
    func placedJobs(on node: String) -> [String] {
        if placedStale {
            var index: [String: [(Int64, String)]] = [:]
            for job in active.values {
                guard let placements = job.placements else { continue }
                var seen: Set<String> = []
                for placement in placements where seen.insert(placement.node.rawValue).inserted {
                    index[placement.node.rawValue, default: []].append((job.sequence, job.id))
                }
            }
            placedIndex = index.mapValues { $0.sorted { $0.0 < $1.0 }.map(\.1) }
            placedStale = false
        }
        return placedIndex[node] ?? []
    }

    func publish(_ job: Job) { events.publish("job", job, tenant: job.tenant) }
    func publish(_ node: NodeStatus) { events.publish("node", node) }
}
