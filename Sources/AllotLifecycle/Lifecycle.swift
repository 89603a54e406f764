import AllotAPI
import AllotCore
import AllotStore

/// The lifecycle of jobs and nodes, a pure state machine beside the scheduler: events go in (a job accepted, a
/// cancel, a scheduling cycle, an agent's report, a heartbeat missed, a tick, a commit that succeeded or
/// failed), ``LifecycleAction``s come out (persist this batch, publish, wake these agents, schedule, reload).
///
/// Jobs: pending → scheduled → running → succeeded | failed | cancelled | lost, with attempts, retries up to
/// `maxAttempts`, gangs (one replica failing ends the job; all must exit for success), preemption with a grace
/// period during which the preemptor waits for its victim to vacate, and cancel in every state. Nodes: joining
/// (inventory asked for), ready, cordoned, draining, down after three silent scan intervals, returned.
///
/// A change is *staged* until the write that carries it commits: ``durableJobs(on:)``, which directives are
/// built from, shows the record before it, so no agent starts, keeps or stops work on a change that may yet
/// be undone. No I/O, no clock: `now` comes with each event.
public struct Lifecycle: Sendable {
    /// The timings the lifecycle needs.
    public struct Settings: Sendable, Equatable {
        /// Seconds between SIGTERM and SIGKILL when a job is stopped.
        public var gracePeriodSeconds: Double
        /// Heartbeats are expected every scan interval; three missed mark a node down.
        public var scanIntervalSeconds: Double

        public init(gracePeriodSeconds: Double, scanIntervalSeconds: Double) {
            self.gracePeriodSeconds = gracePeriodSeconds
            self.scanIntervalSeconds = scanIntervalSeconds
        }
    }

    /// A change not yet durable: the job as agents may still see it (`nil`: not at all), and the writer's
    /// take that carries the change.
    public struct Staged: Sendable, Equatable {
        public var durable: Job?
        public var take: Int
    }

    /// An evicted job's attempt that must end before `forJob` starts on the same node.
    public struct Vacating: Sendable, Equatable {
        public var job: JobID
        public var attempt: Int
        public var forJob: JobID
        public var deadline: Double

        public init(job: JobID, attempt: Int, forJob: JobID, deadline: Double) {
            self.job = job
            self.attempt = attempt
            self.forJob = forJob
            self.deadline = deadline
        }
    }

    public let settings: Settings
    public internal(set) var scheduler: Scheduler
    /// Jobs not yet finished, by id.
    public internal(set) var active: [JobID: Job] = [:] {
        didSet {
            placedStale = true
            revision &+= 1
        }
    }
    public internal(set) var nodes: [String: NodeStatus] = [:]
    /// Nodes the scheduler holds (ready ones).
    public internal(set) var scheduled: Set<String> = [] { didSet { revision &+= 1 } }
    public internal(set) var staged: [JobID: Staged] = [:] { didSet { revision &+= 1 } }
    /// Evicted jobs still stopping (SIGTERM, then the grace period), by node.
    public internal(set) var vacating: [String: [Vacating]] = [:] { didSet { revision &+= 1 } }
    /// Silent nodes still holding jobs that wait out a partition (`--on-disconnect wait=…`), with when they were
    /// marked down: the scheduler keeps them, cordoned, until the last such job returns or is requeued.
    public internal(set) var disconnected: [String: Double] = [:] { didSet { revision &+= 1 } }
    /// Exit codes of the replicas of gang jobs that have ended, by job.
    public internal(set) var replicaExits: [JobID: [Int: Int32]] = [:]
    /// The attempt each job requeued after losing its node (or its process) gave up on, until it is placed
    /// again: should that node come back reporting the attempt's own exit, the job ends with it instead of
    /// running again. Single tasks only; memory only (a restart forgets, and the job runs again).
    public internal(set) var lostAttempts: [JobID: JobAttempt] = [:]
    /// Each priced node's open billing period.
    public internal(set) var openBilling: [String: NodeBillingPeriod] = [:]
    /// How many batches the writer has taken so far.
    public internal(set) var takes = 0
    /// Bumped by every change a directive depends on.
    public internal(set) var revision = 0
    /// While false, every change is refused (the store failed; memory is being reloaded).
    public internal(set) var acceptsChanges = true
    var placedIndex: [String: [JobID]] = [:]
    var placedStale = true

    public init(settings: Settings, scheduler: Scheduler) {
        self.settings = settings
        self.scheduler = scheduler
    }

    func requireChanges() throws(LifecycleError) {
        guard acceptsChanges else { throw LifecycleError(.storeUnavailable, "the store does not take writes") }
    }

    /// Changes an active job (`nil` ends it); until the take after this one commits, directives show it as it was.
    mutating func setActive(_ id: JobID, _ job: Job?) {
        if staged[id] == nil {
            staged[id] = Staged(durable: active[id], take: takes)
        } else {
            let take = takes
            staged[id]?.take = take
        }
        active[id] = job
        if job?.state != .pending { lostAttempts[id] = nil }
    }

    // MARK: - Queries

    /// The ids of the active jobs with a replica on `node`, in submission order.
    public mutating func placedJobs(on node: String) -> [JobID] {
        if placedStale {
            var index: [String: [(Int64, JobID)]] = [:]
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

    /// The jobs on a node as they are on disk: a staged change shows the record before it.
    public mutating func durableJobs(on name: String) -> [Job] {
        var jobs = placedJobs(on: name).compactMap { id in staged[id] == nil ? active[id] : nil }
        var extra = false
        for entry in staged.values {
            guard let job = entry.durable, job.placements?.contains(where: { $0.node.rawValue == name }) == true else { continue }
            jobs.append(job)
            extra = true
        }
        if extra { jobs.sort { $0.sequence < $1.sequence } }
        return jobs
    }

    /// The jobs a node must run now: durable, scheduled, staging or running, not being cancelled, and not waiting for
    /// an evicted job to vacate.
    public mutating func assignedJobs(on name: String) -> [Job] {
        let held = Set((vacating[name] ?? []).map(\.forJob))
        return durableJobs(on: name).filter { job in
            (job.state == .scheduled || job.state == .staging || job.state == .running) && job.cancelRequestedAt == nil && !held.contains(job.id)
        }
    }

    // MARK: - Commits

    /// The writer takes the queued batch: changes staged from now on wait for the next take.
    public mutating func batchTaken() -> Int {
        takes += 1
        return takes
    }

    /// Take `take` committed: the changes staged before it are durable, and their agents are woken.
    public mutating func committed(take: Int) -> [LifecycleAction] {
        var touched: Set<String> = []
        for (id, entry) in staged where entry.take < take {
            staged[id] = nil
            for placement in (entry.durable?.placements ?? []) + (active[id]?.placements ?? []) { touched.insert(placement.node.rawValue) }
        }
        return touched.isEmpty ? [] : [.wake(touched.sorted())]
    }

    /// A commit failed: memory holds changes that are not on disk. Changes are refused until memory is
    /// reloaded from the store and the store takes a write again.
    public mutating func commitFailed() -> [LifecycleAction] {
        acceptsChanges = false
        return [.reload]
    }

    /// The store takes writes again.
    public mutating func storeRecovered() -> [LifecycleAction] {
        acceptsChanges = true
        return [.schedule, .wake(nodes.keys.sorted())]
    }

    static func endedAttempt(_ job: Job, outcome: AttemptOutcome?, at time: Double, exitCode: Int32? = nil) -> JobAttempt {
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

    /// Writes, then announcements: the actions of one event.
    static func actions(_ batch: WriteBatch, wake: some Sequence<String> = [String](), schedule: Bool = false) -> [LifecycleAction] {
        var actions: [LifecycleAction] = []
        if !batch.isEmpty { actions.append(.persist(batch)) }
        actions += batch.updateJobs.map { .publishJob($0) }
        actions += batch.nodes.map { .publishNode($0) }
        let woken = Set(wake)
        if !woken.isEmpty { actions.append(.wake(woken.sorted())) }
        if schedule { actions.append(.schedule) }
        return actions
    }
}
