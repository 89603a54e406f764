import AllotAPI
import AllotCore
import AllotStore
import Synchronization

/// What readers see of the unfinished jobs: exactly what is durable, published by the control plane after
/// each commit (before the callers that waited on it are answered, so a caller reads its own writes), and
/// read under a lock of its own: listing and looking up jobs never wait in the control plane's queue behind
/// submissions, agents' reports and scheduling cycles.
///
/// All unfinished jobs come from one version of this model, so a listing never shows two of them holding
/// the same GPU; finished jobs come from the store, where a finished record is final.
final class JobReadModel: Sendable {
    private struct State {
        var jobs: [JobID: Job] = [:]
        var ids: [Int64: JobID] = [:]
        var order = SequenceIndex()
        var queue: QueueIndex
        /// The scheduler as of its last publication, for pending jobs' reasons and estimated starts.
        var scheduler: Scheduler?
        var schedulerPublishedAt: ContinuousClock.Instant?
    }

    private let state: Mutex<State>
    /// How stale the pending jobs' reasons and estimated starts may get once the scheduler knows more than
    /// ``smallScheduler`` tasks: publishing it costs a copy of its tables at its next change (about a
    /// millisecond per 10,000 tasks), so a large one is published at most this often; a small one each time.
    static let schedulerInterval: Duration = .milliseconds(500)
    static let smallScheduler = 10_000

    init(fifo: Bool) { state = Mutex(State(queue: QueueIndex(fifo: fifo))) }

    /// Replaces everything: memory was (re)loaded from the store.
    func reset(_ jobs: some Sequence<Job>) {
        state.withLock { state in
            state.jobs = [:]
            state.ids = [:]
            state.order = SequenceIndex()
            state.queue = QueueIndex(fifo: state.queue.fifo)
            for job in jobs { Self.put(job, in: &state) }
        }
    }

    /// Takes the job records of a batch that just committed.
    func apply(_ batch: WriteBatch) {
        guard !batch.insertJobs.isEmpty || !batch.updateJobs.isEmpty else { return }
        state.withLock { state in
            for job in batch.insertJobs { Self.put(job, in: &state) }
            for job in batch.updateJobs { Self.put(job, in: &state) }
        }
    }

    /// Publishes the scheduler, unless it holds more than ``smallScheduler`` tasks and was published less than
    /// ``schedulerInterval`` ago (and `force` is not set).
    /// Returns whether it did.
    @discardableResult
    func publish(_ scheduler: @autoclosure () -> Scheduler, tasks: Int, force: Bool = false) -> Bool {
        let now = ContinuousClock.now
        return state.withLock { state in
            if !force, tasks > Self.smallScheduler, let last = state.schedulerPublishedAt, now - last < Self.schedulerInterval {
                return false
            }
            state.scheduler = scheduler()
            state.schedulerPublishedAt = now
            return true
        }
    }

    private static func put(_ job: Job, in state: inout State) {
        if let old = state.jobs[job.id] {
            if old.state == .pending { state.queue.remove(old) }
            if old.sequence != job.sequence {
                state.order.remove(old.sequence)
                state.ids[old.sequence] = nil
            }
        }
        if job.state.isTerminal {
            state.jobs[job.id] = nil
            state.ids[job.sequence] = nil
            state.order.remove(job.sequence)
            return
        }
        state.jobs[job.id] = job
        state.ids[job.sequence] = job.id
        state.order.insert(job.sequence)
        if job.state == .pending { state.queue.insert(job) }
    }

    /// An unfinished job, as its view (with reason, queue position and estimated start while it waits).
    func view(_ id: JobID, now: Double) -> JobView? {
        let found: (job: Job, position: Int?, scheduler: Scheduler?)? = state.withLock { state in
            guard let job = state.jobs[id] else { return nil }
            guard job.state == .pending else { return (job, nil, nil) }
            return (job, state.queue.position(of: job), state.scheduler)
        }
        return found.map { Self.view($0.job, position: $0.position, scheduler: $0.scheduler, now: now) }
    }

    /// The tenant of an unfinished job.
    func tenant(of id: JobID) -> String? { state.withLock { $0.jobs[id]?.tenant } }

    /// Up to `query.limit` unfinished jobs matching `query`, in its order, as views.
    func views(_ query: JobQuery, now: Double) -> [JobView] {
        let (found, scheduler) = state.withLock { state in
            let sequences = state.order.values(
                after: query.afterSequence,
                before: query.beforeSequence,
                descending: query.newestFirst,
                limit: query.limit ?? .max
            ) { sequence in
                guard let id = state.ids[sequence], let job = state.jobs[id] else { return false }
                return query.selects(job)
            }
            let jobs = sequences.map { state.jobs[state.ids[$0]!]! }
            let found = jobs.map { job in (job, job.state == .pending ? state.queue.position(of: job) : nil) }
            return (found, state.scheduler)
        }
        return found.map { Self.view($0.0, position: $0.1, scheduler: scheduler, now: now) }
    }

    private static func view(_ job: Job, position: Int?, scheduler: Scheduler?, now: Double) -> JobView {
        guard job.state == .pending else { return JobView(job: job) }
        var shown = job
        if let reason = scheduler?.pendingReason(job.task.id) { shown.reason = reason }
        return JobView(job: shown, queuePosition: position, estimatedStartAt: scheduler?.estimatedStart(job.task.id, now: now))
    }
}

/// The pending jobs in the order the queue is shown: by submission under `fifo`, otherwise by priority
/// (highest first), then submission. A position costs a count over the priority levels and the index's buckets.
struct QueueIndex: Sendable {
    let fifo: Bool
    private var levels: [Int: SequenceIndex] = [:]

    init(fifo: Bool) { self.fifo = fifo }

    private func level(_ job: Job) -> Int { fifo ? 0 : job.task.priority }

    mutating func insert(_ job: Job) { levels[level(job), default: SequenceIndex()].insert(job.sequence) }

    mutating func remove(_ job: Job) {
        let level = level(job)
        levels[level]?.remove(job.sequence)
        if levels[level]?.count == 0 { levels[level] = nil }
    }

    /// The job's place in the queue, from 1.
    func position(of job: Job) -> Int? {
        let level = level(job)
        guard let own = levels[level], own.contains(job.sequence) else { return nil }
        var ahead = own.rank(of: job.sequence)
        for (other, index) in levels where other > level { ahead += index.count }
        return ahead + 1
    }
}
