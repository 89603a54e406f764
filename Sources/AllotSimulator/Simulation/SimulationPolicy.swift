import AllotCore

/// A scheduling policy to replay a trace under. Each maps onto the one scheduler's configuration; the
/// simulator only sets priorities where the policy is defined by them (`las`, `srtf`).
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
    /// Shortest remaining time first, preemptive. Clairvoyant: reads the true remaining time.
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
        case .srtf: return "shortest remaining time first (clairvoyant)"
        case .backfill: return "FIFO + EASY backfill on estimates (estimate-driven)"
        }
    }

    func configuration(strategy: any PlacementStrategy, tenants: [TenantID: TenantPolicy], queueDepth: Int) -> SchedulerConfiguration {
        var configuration = SchedulerConfiguration(strategy: strategy, headroom: 0, preemption: true, tenants: tenants, queueDepth: queueDepth)
        switch self {
        case .fifo: configuration.policy = FIFOPolicy()
        case .priority: configuration.policy = PriorityPolicy()
        case .fair: configuration.policy = FairSharePolicy()
        case .las: configuration.policy = PriorityPolicy(blocking: .passOver, name: "las")
        case .srtf: configuration.policy = PriorityPolicy(blocking: .passOver, name: "srtf")
        case .backfill:
            configuration.policy = FIFOPolicy()
            configuration.backfill = true
        }
        return configuration
    }
}
