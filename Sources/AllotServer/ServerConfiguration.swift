import AllotCore
import Foundation

/// Every control-plane setting, with defaults.
public struct ServerConfiguration: Sendable {
    public var scheduler: SchedulerConfiguration
    /// Seconds between SIGTERM and SIGKILL when a job is cancelled or preempted.
    public var gracePeriodSeconds: Double
    /// The largest request body accepted, in bytes.
    public var maxBodyBytes: Int
    /// The longest an agent's long-poll for new work is held, in seconds.
    public var longPollSeconds: Double
    /// How many log chunks one logs call returns at most.
    public var maxLogChunks: Int
    /// The usage history's resolutions and retentions.
    public var history: HistoryConfiguration
    /// How often open history chunks are written (a crash loses at most this much history).
    public var historyCheckpointSeconds: Double
    /// When an allocation's GPUs count as idle.
    public var idle: IdleRule
    /// A node that has run nothing for this long is a scale-down candidate.
    public var scaleDownAfterSeconds: Double
    /// How far back rightsizing looks.
    public var rightsizingWindowSeconds: Double
    /// The billing account in cost exports.
    public var clusterName: String = "allot"
    /// How often spend is checked against budgets.
    public var budgetCheckSeconds: Double = 60
    /// A dismissed recommendation comes back for the same target only when its savings have grown by this
    /// factor.
    public var dismissedReturnFactor: Double = 2
    /// The share of a spot node's time expected to be lost to restarts after reclaims (spot savings are
    /// discounted by it).
    public var spotRestartOverhead: Double = 0.1
    /// A node billed without a break for this long is a steady baseline, a commitment candidate.
    public var commitmentBaselineSeconds: Double = 7 * 86_400
    /// The most connections served at once; past it new connections wait in the listen backlog until one
    /// closes (no descriptor is spent on them, so the process never runs out). `nil`: no cap.
    public var maxConnections: Int?
    /// Each API token's requests: this many a second on average, up to ``tokenRequestBurst`` at once (past it,
    /// `429` with `Retry-After`); 0 for no limit. Agents are not counted.
    public var tokenRequestsPerSecond: Double = 200
    public var tokenRequestBurst: Double = 2_000
    /// API reads worked on at once (more wait their turn; writes and agents never wait for them): twice the
    /// processors.
    public var concurrentReads = 2 * ProcessInfo.processInfo.activeProcessorCount
    /// Failed sign-ins from one address within a minute before more from it are answered `429` (valid
    /// credentials from it still pass).
    public var failedSignInLimit = 20
    /// A connection with no request in flight for this long is closed (as nginx's `keepalive_timeout`), so idle
    /// clients cannot hold the connection cap; a long poll in flight is never idle. `nil`: never.
    public var idleConnectionSeconds: Double? = 75
    /// The most replicas one job (a gang) may have.
    public var maxReplicas: Int = 1_024
    /// This server's advertised URL when it is one of several on a shared store (and leads, since only the
    /// leader runs a control plane): `GET /health` then says `"role": "leader"` and gives it.
    public var advertisedLeader: String?
    /// The leader's term then, sent with every directive.
    public var leaderTerm: Int64?
    /// What a task that asks for no CPU or no memory is given per replica (as a Kubernetes LimitRange's
    /// default request, or Slurm's one CPU per task), so that nothing runs for free; a zero leaves it at none.
    /// `allot server` and `allot dev` give 1 CPU and 512 MiB (`--default-cpu`, `--default-memory`).
    public var defaultRequests = ResourceVector.zero

    public init(
        scheduler: SchedulerConfiguration = SchedulerConfiguration(rejectInfeasible: true),
        gracePeriodSeconds: Double = 10,
        maxBodyBytes: Int = 1 << 20,
        longPollSeconds: Double = 30,
        maxLogChunks: Int = 1000,
        history: HistoryConfiguration = HistoryConfiguration(),
        historyCheckpointSeconds: Double = 300,
        idle: IdleRule = IdleRule(),
        scaleDownAfterSeconds: Double = 1_800,
        rightsizingWindowSeconds: Double = 86_400
    ) {
        self.scheduler = scheduler
        self.gracePeriodSeconds = gracePeriodSeconds
        self.maxBodyBytes = maxBodyBytes
        self.longPollSeconds = longPollSeconds
        self.maxLogChunks = maxLogChunks
        self.history = history
        self.historyCheckpointSeconds = historyCheckpointSeconds
        self.idle = idle
        self.scaleDownAfterSeconds = scaleDownAfterSeconds
        self.rightsizingWindowSeconds = rightsizingWindowSeconds
    }

    /// Heartbeats are expected every scan interval; three missed mark a node down.
    public var scanIntervalSeconds: Double { scheduler.scanIntervalSeconds }
}
