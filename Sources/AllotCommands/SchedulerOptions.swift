import AllotCore
import ArgumentParser

/// The scheduler settings a command can take from flags, mapped onto ``SchedulerConfiguration``.
public struct SchedulerOptions: ParsableArguments {
    @Option(help: "Placement strategy: first-fit, best-fit, worst-fit, binpack, spread, fragmentation.")
    public var strategy: String = "best-fit"

    @Option(
        help:
            "Queue policy: fifo, priority, fair, las (least attained service), gittins (las's levels by their learned Gittins index), srtf (shortest remaining time on estimates); defaults to the preset's, else priority."
    )
    public var policy: String?

    @Option(help: "Fraction (0.0-0.3) of each pool kept for critical work (defaults to the preset's, else 0.1).")
    public var headroom: Double?

    @Option(help: "Parameter preset: small, medium, large.")
    public var preset: String?

    @Flag(help: "EASY backfill: let later tasks start when, by estimates, they do not delay the blocked head.")
    public var backfill = false

    @Flag(help: "Never evict running work.")
    public var noPreemption = false

    @Option(help: "Priority aging: one priority level added per this many seconds waited.")
    public var aging: Double?

    @Option(help: "Seconds a job runs after each start before it may be preempted (0: no minimum).")
    public var minRun: Double?

    @Flag(
        help:
            "Move running jobs to make room for one whose GPUs are free but scattered over nodes: each moved job is stopped with the grace period and started again elsewhere."
    )
    public var defragment = false

    public init() {}

    public func validate() throws {
        _ = try configuration()
    }

    /// The configuration these flags describe.
    public func configuration() throws -> SchedulerConfiguration {
        do {
            var configuration = try preset.map { name throws(QuantityError) in try SchedulerConfiguration.preset(name) } ?? SchedulerConfiguration()
            configuration.strategy = try PlacementStrategies.named(strategy)
            if let policy {
                configuration.policy = try QueuePolicies.named(policy, agingSeconds: aging)
            } else if aging != nil, configuration.policy is PriorityPolicy {
                configuration.policy = PriorityPolicy(agingSeconds: aging)
            }
            if let aging, !(aging > 0) {
                throw QuantityError(field: "aging", value: Quantity.format(aging), reason: "must be a positive number of seconds")
            }
            if let headroom { configuration.headroom = headroom }
            configuration.backfill = backfill
            configuration.preemption = !noPreemption
            if let minRun {
                guard minRun >= 0, minRun.isFinite else {
                    throw QuantityError(field: "min-run", value: Quantity.format(minRun), reason: "must be a finite number of seconds, 0 or more")
                }
                configuration.minimumRunSeconds = minRun
            }
            if defragment && noPreemption {
                throw QuantityError(field: "defragment", value: "true", reason: "moves running work, which --no-preemption forbids")
            }
            configuration.defragmentation = defragment
            try configuration.validate()
            return configuration
        } catch let error as QuantityError {
            throw ValidationError("--\(error.field): invalid value \"\(error.value)\": \(error.reason)")
        }
    }
}
