/// Where a task stands in the scheduler.
public enum TaskPhase: String, Sendable, Equatable {
    case pending
    case running
}

/// Why a pending task did not start in the last cycle.
enum PendingOutcome: Sendable, Equatable {
    case notConsidered
    case noFit
    case blockedBehind(Int)
    case quota(String)
    case wouldDelay(Int)
    case heldAfterPreemption
}

/// A task as the scheduler tracks it.
struct TaskRecord: Sendable {
    var spec: TaskSpec
    /// One replica's demand.
    var demand: Demand
    var sequence: Int
    var submitted: Double
    var phase: TaskPhase = .pending
    /// One choice per replica while running.
    var choices: [Choice] = []
    var started: Double?
    /// When it is expected to end (start + estimate, or the remaining time given on restore).
    var expectedEnd: Double?
    /// Elastic CPU and memory granted above the requests, per replica.
    var extraCPU: [Int64] = []
    var extraMemory: [Int64] = []
    var preemptions = 0
    var outcome: PendingOutcome = .notConsidered
    /// The cycle ``outcome`` was set in; an older one is read through ``Scheduler/currentOutcome(_:)``.
    var outcomeCycle = 0
    /// The group of the pending queue it is in, or -1.
    var group = -1
    /// Service received before the current run, in resource-seconds (GPUs, or cores without GPUs); the seconds
    /// it ran are in the scheduler's ``RunClock`` of its slot.
    var attained = 0.0
    /// Service and seconds run when it was last at the top level (least attained service's starvation guard).
    var baseAttained = 0.0
    var baseRan = 0.0
    /// When it last joined the queue.
    var queuedSince = 0.0
    /// Changes at every start and stop; a ``ServiceEvent`` of an older stamp is stale.
    var serviceStamp = 0

    var isElastic: Bool {
        guard let limits = spec.limits else { return false }
        return limits.cpuMillis > spec.requests.resources.cpuMillis || limits.memoryBytes > spec.requests.resources.memoryBytes
    }
}
