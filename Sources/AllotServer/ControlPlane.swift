import AllotAPI
import AllotCore
import AllotLifecycle
import AllotStore
import Foundation
import HTTPTypes
import Logging

/// The control plane: the shell around the job and node lifecycle (``Lifecycle``, a pure state machine that
/// owns the scheduler), fed by API calls, agent reports and ticks, carrying out what it asks: writes first,
/// then events, agents woken, cycles.
///
/// Writes go through a single writer that merges whatever is queued into one transaction (group commit), so
/// concurrent submissions share a disk sync and their order is kept.
public actor ControlPlane {
    let store: any AllotStore
    public let configuration: ServerConfiguration
    let now: @Sendable () -> Double
    /// Jobs and nodes: the state machine this actor drives.
    var lifecycle: Lifecycle
    var directiveVersions: [String: Int] = [:] { didSet { shellRevision &+= 1 } }
    var waiters: [String: [UUID: CheckedContinuation<Void, Never>]] = [:]
    var nextSequence: Int64 = 1
    /// Tenants' limits, for admission (a limit covers every tenant below its owner; the tree is ``tenantTree``).
    var tenantLimits: [String: ResourceQuota] = [:]
    /// Jobs past the quota check whose insert is not yet durable (they count against quotas already).
    var admitting: [JobID: Job] = [:]
    nonisolated let events = EventHub()
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
    /// The last output chunk stored of each active job's attempt and replica (`attempt#replica`), by job: a
    /// report sent again stores nothing twice.
    var outputStored: [JobID: [String: Int64]] = [:]
    /// Reports being taken, by node: a node whose report waits on a slow store is alive, not silent.
    var reportsInProgress: [String: Int] = [:]
    /// Costs, budgets and the spend forecast, fed every committed batch.
    public nonisolated let costCenter: CostCenter
    /// Recommendations and users' decisions on them.
    public nonisolated let optimizer: Optimizer
    /// The autoscaler's intents and decisions, for the job and node routes.
    public nonisolated let provisioning = ProvisioningBoard()
    /// The tenants' tree, shared with the cost center.
    let tenantTree = TenantTree()
    /// The unfinished jobs as durable, for readers that must not wait on this actor.
    nonisolated let reads: JobReadModel
    /// Set when the scheduler changed since it was last published to ``reads``.
    var schedulerUnpublished = false
    /// Bumped when a directive's version changes (the lifecycle bumps its own revision for everything else).
    var shellRevision = 0
    var encodedDirectives: [String: EncodedDirective] = [:]
    /// This process's identity in directives.
    let epoch = UUID().uuidString

    let logger: Logger

    var queued = WriteBatch()
    var acknowledgements: [CheckedContinuation<Result<Void, StoreError>, Never>] = []
    var writing = false
    var shuttingDown = false
    var cycleRequested = false
    var cycling = false
    /// Callers of ``quiesce()`` and ``flush()``, woken when the writer (and, for quiesce, the cycle) stops.
    var quietWaiters: [CheckedContinuation<Void, Never>] = []
    var flushWaiters: [CheckedContinuation<Void, Never>] = []

    /// Set while the store refuses writes: changes are answered `503 store_unavailable`, reads go on.
    var storeFailure: StoreFailure?
    /// Writes that must reach the store once it takes writes again: audit entries of failed batches and the
    /// repairs found while reloading.
    var carried = WriteBatch()
    /// Bumped each time memory is reloaded from the store.
    var generation = 0
    /// The tenants last taken, applied again to a reloaded scheduler.
    var tenantSettings: [Tenant] = []
    /// Asked for: a reload from the store and retries until it takes a write.
    var recoveryRequested = false
    /// Wake the writer, the cycle loop and the recovery loop, which ``run()`` runs as child tasks.
    nonisolated let writerBell = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    nonisolated let cycleBell = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    nonisolated let recoveryBell = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    /// How long recovery waits before its next try: 50 ms, doubling to 0.5 s, back to 50 ms when a batch commits.
    var retryDelay = 0.05
    var failuresSinceCommit = 0

    // Read-only views of the lifecycle for the monitoring, optimizer, cost and console code.
    var scheduler: Scheduler { lifecycle.scheduler }
    var active: [JobID: Job] { lifecycle.active }
    var nodes: [String: NodeStatus] { lifecycle.nodes }
    var scheduled: Set<String> { lifecycle.scheduled }
    var openBilling: [String: NodeBillingPeriod] { lifecycle.openBilling }
    /// Bumped by every change a directive depends on; encoded directives are reused while it stands still.
    var revision: Int { lifecycle.revision &+ shellRevision }

    init(
        store: any AllotStore,
        history: any HistoryStore,
        configuration: ServerConfiguration,
        logger: Logger,
        now: @escaping @Sendable () -> Double
    ) throws(APIError) {
        self.store = store
        self.logger = logger
        recorder = UsageRecorder(
            store: history,
            configuration: configuration.history,
            checkpointSeconds: configuration.historyCheckpointSeconds,
            logger: logger
        )
        self.configuration = configuration
        self.now = now
        costCenter = CostCenter(store: store, configuration: configuration, events: events, tenants: tenantTree, logger: logger, now: now)
        optimizer = Optimizer(store: store, configuration: configuration, now: now)
        reads = JobReadModel(fifo: configuration.scheduler.policy.name == "fifo")
        lifecycle = Lifecycle(settings: Self.settings(configuration), scheduler: try Self.newScheduler(configuration))
    }

    static func settings(_ configuration: ServerConfiguration) -> Lifecycle.Settings {
        Lifecycle.Settings(gracePeriodSeconds: configuration.gracePeriodSeconds, scanIntervalSeconds: configuration.scanIntervalSeconds)
    }

    static func newScheduler(_ configuration: ServerConfiguration) throws(APIError) -> Scheduler {
        do { return try Scheduler(configuration: configuration.scheduler) } catch {
            throw APIError(.internalServerError, .internal, error.description)
        }
    }

    /// Opens the control plane on a store, recovering nodes and jobs: work that was scheduled or running
    /// keeps its resources (no double booking), pending work is queued again in its order.
    /// With `runsWorkers` (tests, benchmarks) the plane runs its own workers in a task of its own that lives
    /// as long as the process; a server passes `false` and runs ``ControlPlaneService`` in its service group.
    public static func start(
        store: any AllotStore,
        history: any HistoryStore = MemoryHistoryStore(),
        configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = Logger(label: "allot.server", factory: { _ in SwiftLogNoOpLogHandler() }),
        runsWorkers: Bool = true,
        now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) async throws(APIError) -> ControlPlane {
        let plane = try ControlPlane(store: store, history: history, configuration: configuration, logger: logger, now: now)
        await plane.costCenter.sendAudit { [weak plane] entry in await plane?.recordAudit(entry) }
        await plane.optimizer.connect { [weak plane] in await plane?.recommendationBuilder() }
        if runsWorkers { Task { await plane.run() } }
        try await plane.open()
        return plane
    }

    // MARK: - Persistence

    /// Makes a batch durable, merged with whatever else is waiting, in call order. The memory changes the
    /// batch records must have been made in the same turn as this call, after ``requireWritable()``; when the
    /// commit fails they are undone (memory is reloaded from the store) and the caller gets
    /// `503 store_unavailable`.
    func persist(_ batch: WriteBatch) async throws(APIError) {
        queued.merge(batch)
        let result = await withCheckedContinuation { continuation in
            acknowledgements.append(continuation)
            startWriter()
        }
        do { try result.get() } catch { throw APIError.from(error) }
    }

    /// Queues a batch for the next transaction without waiting for it.
    func queue(_ batch: WriteBatch) {
        queued.merge(batch)
        startWriter()
    }

    /// Refuses a change while the store does not take writes (or memory is being reloaded from it).
    func requireWritable() throws(APIError) {
        if let storeFailure { throw APIError.storeUnavailable(storeFailure.reason) }
    }

    /// Carries out what the lifecycle asked, in order: the write first (its failure is thrown, and nothing
    /// after it is done), then events, agents woken, a cycle, a reload. Must be called in the same turn as the
    /// event that produced `actions`.
    func carry(_ actions: [LifecycleAction]) async throws(APIError) {
        for case .persist(let batch) in actions { try await persist(batch) }
        announce(actions)
    }

    /// Passes a batch that committed to its readers: the job read model, then the cost center.
    func committed(_ batch: WriteBatch) async {
        reads.apply(batch)
        await costCenter.record(batch)
    }

    /// Carries out every action but a write: events, agents woken, a cycle, a reload.
    func announce(_ actions: [LifecycleAction]) {
        for action in actions {
            switch action {
            case .persist: break
            case .publishJob(let job): publish(job)
            case .publishNode(let node): publish(node)
            case .wake(let names): notify(names)
            case .schedule: requestCycle()
            case .reload: startRecovery()
            }
        }
    }

    /// Translates the lifecycle's refusals for the API.
    static func apiError(_ error: LifecycleError) -> APIError {
        switch error.code {
        case .storeUnavailable: APIError.storeUnavailable(error.message)
        case .notFound: APIError(.notFound, .notFound, error.message)
        case .scheduler(let code): APIError.from(SchedulerError(code, error.message))
        }
    }

    /// Returns once no scheduling cycle runs or is asked for and everything queued is on disk: the point
    /// where a caller sees every consequence of what it did. (While the store fails, asked-for cycles wait
    /// for it and do not count.)
    public func quiesce() async {
        while !isQuiet { await withCheckedContinuation { quietWaiters.append($0) } }
    }

    /// Returns once everything queued (audit entries included) is on disk, or has failed.
    public func flush() async {
        while writing || !queued.isEmpty { await withCheckedContinuation { flushWaiters.append($0) } }
    }

    var isQuiet: Bool { !cycling && !(cycleRequested && storeFailure == nil) && !writing && queued.isEmpty }

    /// Wakes ``quiesce()`` and ``flush()`` callers so they look again.
    func wakeWaiters() {
        if !writing && queued.isEmpty {
            for waiter in flushWaiters { waiter.resume() }
            flushWaiters = []
        }
        if isQuiet {
            for waiter in quietWaiters { waiter.resume() }
            quietWaiters = []
        }
    }

    private func startWriter() {
        guard !writing else { return }
        writing = true
        writerBell.continuation.yield()
    }

    // MARK: - Workers

    /// Runs the writer, the scheduling cycles and the store's recovery, each a child task, until
    /// ``finishWork()``; what is queued by then is written first. The server runs this as a service
    /// (``ControlPlaneService``); ``start(store:history:configuration:logger:runsWorkers:now:)`` can run it itself.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for await _ in self.writerBell.stream { await self.drain() } }
            group.addTask {
                await withTaskGroup(of: Void.self) { producers in
                    producers.addTask { for await _ in self.cycleBell.stream { await self.cycleLoop() } }
                    producers.addTask { for await _ in self.recoveryBell.stream { await self.recoveryLoop() } }
                }
                // No cycle or recovery runs any more: the writer commits what they queued (a cycle in flight at
                // shutdown waits for its write), then ends.
                self.writerBell.continuation.finish()
            }
        }
    }

    /// Lets ``run()`` end once the work already asked for is done: cycles and recovery first, then the writer.
    public nonisolated func finishWork() {
        cycleBell.continuation.finish()
        recoveryBell.continuation.finish()
    }

    private func drain() async {
        while !queued.isEmpty {
            let batch = queued
            let waiting = acknowledgements
            queued = WriteBatch()
            acknowledgements = []
            let take = lifecycle.batchTaken()
            let started = ContinuousClock.now
            let result: Result<Void, StoreError>
            do { result = .success(try await store.commit(batch)) } catch { result = .failure(error) }
            metrics.record(metrics.storeCommitDuration, since: started)
            switch result {
            case .success:
                retryDelay = 0.05
                failuresSinceCommit = 0
                await committed(batch)
                announce(lifecycle.committed(take: take))
                for continuation in waiting { continuation.resume(returning: .success(())) }
            case .failure(let error):
                // What was queued since was built on the changes that just failed: it fails with them.
                let failed = waiting + acknowledgements
                carried.audit += batch.audit + queued.audit
                queued = WriteBatch()
                acknowledgements = []
                storeFailed(error)
                for continuation in failed { continuation.resume(returning: .failure(error)) }
            }
        }
        writing = false
        wakeWaiters()
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
        cycleBell.continuation.yield()
    }

    private func cycleLoop() async {
        while cycleRequested && storeFailure == nil && !shuttingDown {
            cycleRequested = false
            await runCycle()
        }
        cycling = false
        wakeWaiters()
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
        /// The directive's digest, and the short answer for an agent that has it.
        var digest: String
        var unchanged: [UInt8]
    }

    /// Why the store refuses writes, and since when.
    struct StoreFailure: Sendable {
        var reason: String
        var since: Double
    }

    /// The ids of the active jobs with a replica on `node`, in submission order.
    func placedJobs(on node: String) -> [JobID] { lifecycle.placedJobs(on: node) }

    /// Announces a job's change (it is durable by now) on the event stream and in the log.
    func publish(_ job: Job) {
        if logger.logLevel <= .debug {
            var metadata: Logger.Metadata = ["job.id": "\(job.id)", "job.state": "\(job.state.rawValue)", "job.attempt": "\(job.attempt)"]
            if let reason = job.reason { metadata["reason"] = "\(reason)" }
            if let nodes = job.placements?.map(\.node.rawValue), !nodes.isEmpty { metadata["node.names"] = "\(nodes.joined(separator: ","))" }
            logger.debug("job transition", metadata: metadata)
        }
        events.publish("job", job, tenant: job.tenant)
    }
    func publish(_ node: NodeStatus) { events.publish("node", node) }
}
