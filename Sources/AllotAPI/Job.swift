import AllotCore

/// Where a job is in its life.
public enum JobState: String, Codable, Sendable, CaseIterable {
    /// In the queue.
    case pending
    /// Given an allocation (persisted), not yet started by its agent.
    case scheduled
    /// On its node, its inputs being copied there before it starts.
    case staging
    /// Its process runs.
    case running
    case succeeded
    case failed
    case cancelled
    /// Its node went away and it had no attempts left.
    case lost

    public var isTerminal: Bool { [.succeeded, .failed, .cancelled, .lost].contains(self) }
}

/// A job: a command to run with the resources its task asks for.
public struct Job: Codable, Equatable, Sendable {
    public var id: JobID
    public var name: String?
    /// The scheduling part: tenant, priority, class, requests, limits, gang, preemptible, estimate.
    public var task: TaskSpec
    /// The program and its arguments.
    public var command: [String]
    public var environment: [String: String]
    /// How many attempts a job gets when its node is lost or it is preempted (1 = no retry).
    public var maxAttempts: Int
    public var state: JobState
    /// Submission order, kept across restarts.
    public var sequence: Int64
    /// Times in seconds since 1970.
    public var submittedAt: Double
    public var scheduledAt: Double?
    public var startedAt: Double?
    public var finishedAt: Double?
    /// The current (or last) attempt, from 1.
    public var attempt: Int
    public var exitCode: Int32?
    /// Where its replicas run while scheduled or running.
    public var placements: [ReplicaPlacement]?
    /// Why it waits, or why it ended.
    public var reason: String?
    /// When a cancel was asked for a job that runs: its processes are being stopped.
    public var cancelRequestedAt: Double?
    /// How its CPU and memory are enforced on its node (`cgroup v1: cpu 1, memory 1GiB`, or best effort and why).
    public var limits: String?
    /// How many times it was requeued because its node was lost (bounded by ``maxAttempts``).
    public var retries: Int = 0
    /// Data staged onto its node before it starts; `nil` for none.
    public var inputs: [JobInput]?
    /// While `staging`: how far the inputs are copied.
    public var staging: StagingProgress?
    /// What its node falling silent means (`nil`: ``DisconnectPolicy/requeue``).
    public var onDisconnect: DisconnectPolicy?

    public init(
        id: JobID,
        name: String? = nil,
        task: TaskSpec,
        command: [String],
        environment: [String: String] = [:],
        maxAttempts: Int = 3,
        state: JobState = .pending,
        sequence: Int64,
        submittedAt: Double,
        attempt: Int = 0
    ) {
        self.id = id
        self.name = name
        self.task = task
        self.command = command
        self.environment = environment
        self.maxAttempts = maxAttempts
        self.state = state
        self.sequence = sequence
        self.submittedAt = submittedAt
        self.attempt = attempt
    }

    public var tenant: String { task.tenant.rawValue }
}

/// One try at running a job, kept for the record.
public struct JobAttempt: Codable, Equatable, Sendable {
    public var job: JobID
    public var number: Int
    public var nodes: [String]
    public var startedAt: Double
    public var endedAt: Double?
    public var outcome: AttemptOutcome?
    public var exitCode: Int32?
    /// The job's tenant, and when its resources were set aside (the allocation, which cost accrues from).
    public var tenant: String?
    public var allocatedAt: Double?
    /// What it held on each node.
    public var placements: [ReplicaPlacement]?

    public init(
        job: JobID,
        number: Int,
        nodes: [String],
        startedAt: Double,
        endedAt: Double? = nil,
        outcome: AttemptOutcome? = nil,
        exitCode: Int32? = nil,
        tenant: String? = nil,
        allocatedAt: Double? = nil,
        placements: [ReplicaPlacement]? = nil
    ) {
        self.job = job
        self.number = number
        self.nodes = nodes
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.outcome = outcome
        self.exitCode = exitCode
        self.tenant = tenant
        self.allocatedAt = allocatedAt
        self.placements = placements
    }

    /// When its allocation began: cost accrues from here until ``endedAt``.
    public var chargedFrom: Double { allocatedAt ?? startedAt }
}

/// A piece of a job's output.
public struct LogChunk: Codable, Equatable, Sendable {
    public enum Stream: String, Codable, Sendable { case stdout, stderr }

    public var job: JobID
    /// Position in the job's combined log: chunks are numbered from 1 in the order they arrived.
    public var offset: Int64
    public var stream: Stream
    public var text: String

    public init(job: JobID, offset: Int64, stream: Stream, text: String) {
        self.job = job
        self.offset = offset
        self.stream = stream
        self.text = text
    }
}

/// A node as the control plane keeps it.
public struct NodeStatus: Codable, Equatable, Sendable {
    /// The jobs with a replica on this node (filled in by the API, not stored).
    public var jobs: [String]?
    public enum State: String, Codable, Sendable, CaseIterable {
        case ready
        /// Missed heartbeats for three scan intervals.
        case down
    }

    public var name: String
    public var inventory: NodeInventory
    public var state: State
    /// Takes no new work.
    public var cordoned: Bool
    /// Cordoned until its running work ends (then it stays cordoned).
    public var draining: Bool
    public var joinedAt: Double
    public var lastHeartbeatAt: Double
    public var usage: NodeUsage?

    public init(
        name: String,
        inventory: NodeInventory,
        state: State = .ready,
        cordoned: Bool = false,
        draining: Bool = false,
        joinedAt: Double,
        lastHeartbeatAt: Double,
        usage: NodeUsage? = nil
    ) {
        self.name = name
        self.inventory = inventory
        self.state = state
        self.cordoned = cordoned
        self.draining = draining
        self.joinedAt = joinedAt
        self.lastHeartbeatAt = lastHeartbeatAt
        self.usage = usage
    }
}
