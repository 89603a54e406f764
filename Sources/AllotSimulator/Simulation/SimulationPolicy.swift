import AllotCore

/// A scheduling policy to replay a trace under. Each maps onto the one scheduler's configuration; the
/// scheduler itself keeps the service that `las` and `srtf` order by.
public enum SimulationPolicy: String, Sendable, CaseIterable, Equatable {
    /// Submission order, strictly.
    case fifo
    /// The trace's priorities, FIFO within a level, higher priorities preempting lower ones.
    case priority
    /// Weighted Dominant Resource Fairness across tenants.
    case fair
    /// Least attained service: priority falls as a job receives GPU-seconds (``AttainedServiceLevels``);
    /// new work preempts work that has had more; work-conserving. Never reads durations.
    case las
    /// Least attained service with its levels in the order of their Gittins index, learned from the jobs that
    /// finished (``ServiceHistory``). Never reads durations.
    case gittins
    /// Shortest remaining time first, preemptive, on estimates: the true duration times `--estimate-error`
    /// noise unless the trace has estimates (clairvoyant when exact).
    case srtf
    /// FIFO with EASY backfill on runtime estimates (the true duration times `--estimate-error` noise unless
    /// the trace has estimates). Estimate-driven.
    case backfill

    /// Whether the policy reads true durations or estimates of them.
    public var usesDurations: Bool { self == .srtf || self == .backfill }

    public var summary: String {
        switch self {
        case .fifo: return "first in, first out (non-clairvoyant)"
        case .priority: return "trace priorities, preemptive (non-clairvoyant)"
        case .fair: return "weighted DRF across tenants (non-clairvoyant)"
        case .las: return "least attained service, preemptive (non-clairvoyant)"
        case .gittins: return "LAS levels by learned Gittins index (non-clairvoyant)"
        case .srtf: return "shortest remaining time first (clairvoyant)"
        case .backfill: return "FIFO + EASY backfill on estimates (estimate-driven)"
        }
    }

    func configuration(_ setup: SimulationSetup) -> SchedulerConfiguration {
        var configuration = SchedulerConfiguration(
            strategy: setup.strategy,
            headroom: 0,
            preemption: true,
            tenants: setup.tenants,
            queueDepth: setup.queueDepth,
            minimumRunSeconds: setup.minimumRun,
            defragmentation: setup.defragmentation
        )
        switch self {
        case .fifo: configuration.policy = FIFOPolicy()
        case .priority: configuration.policy = PriorityPolicy()
        case .fair: configuration.policy = FairSharePolicy()
        case .las: configuration.policy = LeastAttainedServicePolicy(levels: setup.levels, starvationFactor: setup.starvationFactor)
        case .gittins:
            configuration.policy = LeastAttainedServicePolicy(levels: setup.levels, starvationFactor: setup.starvationFactor, ranked: true)
        case .srtf: configuration.policy = ShortestRemainingTimePolicy()
        case .backfill:
            configuration.policy = FIFOPolicy()
            configuration.backfill = true
        }
        return configuration
    }
}
