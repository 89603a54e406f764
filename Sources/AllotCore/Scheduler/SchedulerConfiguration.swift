/// Every scheduler setting, with defaults. Flags, files and environment variables map onto this one struct.
public struct SchedulerConfiguration: Sendable {
    /// How a node is chosen for each replica.
    public var strategy: any PlacementStrategy
    /// How the queue is ordered.
    public var policy: any QueuePolicy
    /// The fraction (0.0–0.3) of each divisible pool that only `critical` work may use.
    public var headroom: Double
    /// EASY backfill: a later task may start if, by runtime estimates, it does not delay the blocked head.
    public var backfill: Bool
    /// Whether higher-priority, critical or under-guarantee work may evict preemptible work.
    public var preemption: Bool
    /// How often agents report and the server rescans, in seconds (3 missed intervals mark a node down).
    public var scanIntervalSeconds: Double
    /// Per-tenant fair-share weights, guarantees and limits.
    public var tenants: [TenantID: TenantPolicy]
    /// Refuse a task that could not fit even on the empty cluster (or a gang larger than the cluster).
    public var rejectInfeasible: Bool
    /// At most this many preemption searches per cycle (each may visit every node).
    public var preemptionAttemptsPerCycle: Int
    /// At most this many pending tasks that cannot start are examined per cycle (as Slurm's
    /// `default_queue_depth` and `bf_max_job_test`): a work-conserving, fair or backfill pass over a long
    /// queue stops there, and the rest wait for a later cycle.
    public var queueDepth: Int
    /// Seconds a task runs after each start before the cycle may preempt it (as Slurm's `PreemptExemptTime`).
    /// Under policies whose priorities move by themselves (least attained service with a starvation guard),
    /// a minimum run longer than what a preemption costs the victim keeps tasks from evicting each other
    /// faster than they make progress. 0 (the default): no minimum.
    public var minimumRunSeconds: Double
    /// Moves running work to make room: when a task's whole GPUs are free in the cluster but scattered over
    /// nodes so that it fits nowhere, the fewest preemptible tasks of no higher priority (past their minimum
    /// run) are stopped and started again elsewhere, and the task starts where they were. Each move costs the
    /// moved task what a preemption costs it. Off by default.
    public var defragmentation: Bool

    public init(
        strategy: any PlacementStrategy = BestFit(),
        policy: any QueuePolicy = PriorityPolicy(),
        headroom: Double = 0.1,
        backfill: Bool = false,
        preemption: Bool = true,
        scanIntervalSeconds: Double = 10,
        tenants: [TenantID: TenantPolicy] = [:],
        rejectInfeasible: Bool = true,
        preemptionAttemptsPerCycle: Int = 64,
        queueDepth: Int = 1000,
        minimumRunSeconds: Double = 0,
        defragmentation: Bool = false
    ) {
        self.strategy = strategy
        self.policy = policy
        self.headroom = headroom
        self.backfill = backfill
        self.preemption = preemption
        self.scanIntervalSeconds = scanIntervalSeconds
        self.tenants = tenants
        self.rejectInfeasible = rejectInfeasible
        self.preemptionAttemptsPerCycle = preemptionAttemptsPerCycle
        self.queueDepth = queueDepth
        self.minimumRunSeconds = minimumRunSeconds
        self.defragmentation = defragmentation
    }

    /// The allowed headroom range.
    public static let headroomRange = 0.0...0.3

    /// Checks the settings, naming the first bad one.
    public func validate() throws(QuantityError) {
        guard Self.headroomRange.contains(headroom) else {
            throw QuantityError(field: "headroom", value: Quantity.format(headroom), reason: "must be between 0.0 and 0.3")
        }
        guard scanIntervalSeconds > 0 else {
            throw QuantityError(field: "scanInterval", value: Quantity.format(scanIntervalSeconds), reason: "must be positive")
        }
        guard queueDepth > 0 else {
            throw QuantityError(field: "queueDepth", value: String(queueDepth), reason: "must be at least 1")
        }
        guard minimumRunSeconds >= 0, minimumRunSeconds.isFinite else {
            throw QuantityError(
                field: "minimumRun",
                value: Quantity.format(minimumRunSeconds),
                reason: "must be a finite number of seconds, 0 or more"
            )
        }
        guard preemption || !defragmentation else {
            throw QuantityError(field: "defragmentation", value: "true", reason: "moves running work, which is off while preemption is")
        }
        for (tenant, policy) in tenants where !(policy.weight > 0) {
            throw QuantityError(field: "tenants.\(tenant).weight", value: Quantity.format(policy.weight), reason: "must be positive")
        }
    }

    /// The parameter presets: `small` (scan 5 s, priority, headroom 0.05), `medium` (10 s, priority, 0.10),
    /// `large` (20 s, fair, 0.15).
    public static func preset(_ name: String) throws(QuantityError) -> SchedulerConfiguration {
        switch name.lowercased() {
        case "small": return SchedulerConfiguration(policy: PriorityPolicy(), headroom: 0.05, scanIntervalSeconds: 5)
        case "medium": return SchedulerConfiguration(policy: PriorityPolicy(), headroom: 0.10, scanIntervalSeconds: 10)
        case "large": return SchedulerConfiguration(policy: FairSharePolicy(), headroom: 0.15, scanIntervalSeconds: 20)
        default: throw QuantityError(field: "preset", value: name, reason: "unknown preset (use small, medium, large)")
        }
    }
}
