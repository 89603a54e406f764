/// Priorities that the scheduler sets itself from the service tasks receive, as the lifecycle tells it
/// (binds, exits, preemptions) and by the `now` of each call.
public enum ServiceOrder: Sendable, Equatable {
    /// Least attained service (Tiresias' discretized LAS): a task drops a level each time the resource-seconds
    /// it has received pass a threshold; a pending task that has waited `starvationFactor` times the seconds
    /// it has run since it last reached the top goes back to the top.
    /// With `ranked`, the levels are taken in the order of their Gittins index learned from the tasks that
    /// finished (``ServiceHistory``), instead of top to bottom.
    case attainedService(AttainedServiceLevels, starvationFactor: Double?, ranked: Bool = false)
    /// Shortest remaining time first, on estimates: estimate minus the seconds run so far. Tasks without an
    /// estimate come last.
    case remainingTime
}

/// Least attained service, preemptive and work-conserving: new work starts at the top level and preempts
/// work that has received more, which drops as it runs (see ``AttainedServiceLevels``). Never reads
/// estimates. A task's own priority is not used.
public struct LeastAttainedServicePolicy: QueuePolicy {
    public var levels: AttainedServiceLevels
    /// A pending task that has waited this many times the seconds it ran since it was last at the top
    /// returns to the top; `nil` (the default) turns the guard off. On the Philly trace the guard bought
    /// little (K = 8: 5,267 s against 5,317 s average JCT on the 100-job window, 15,616 s against 15,432 s on
    /// the full trace at 80 × 8 GPUs) and, on a contended cluster, many repeated preemption searches.
    public var starvationFactor: Double?
    /// The levels in the order of their Gittins index, learned from finished tasks (``ServiceHistory``):
    /// the `gittins` policy.
    public var ranked: Bool

    public init(levels: AttainedServiceLevels = .standard, starvationFactor: Double? = nil, ranked: Bool = false) {
        self.levels = levels
        self.starvationFactor = starvationFactor
        self.ranked = ranked
    }

    public var name: String { ranked ? "gittins" : "las" }
    public var blocking: QueueBlocking { .passOver }
    public var staticOrder: StaticQueueOrder? { .priority }
    public var service: ServiceOrder? { .attainedService(levels, starvationFactor: starvationFactor, ranked: ranked) }

    public func makeCursor(_ entries: [QueueEntry], context: QueueContext) -> any QueueCursor {
        ListCursor(entries: entries.sorted { $0.priority != $1.priority ? $0.priority > $1.priority : $0.sequence < $1.sequence })
    }
}

/// Shortest remaining time first on runtime estimates, preemptive and work-conserving.
public struct ShortestRemainingTimePolicy: QueuePolicy {
    public init() {}

    public var name: String { "srtf" }
    public var blocking: QueueBlocking { .passOver }
    public var staticOrder: StaticQueueOrder? { .priority }
    public var service: ServiceOrder? { .remainingTime }

    public func makeCursor(_ entries: [QueueEntry], context: QueueContext) -> any QueueCursor {
        ListCursor(entries: entries.sorted { $0.priority != $1.priority ? $0.priority > $1.priority : $0.sequence < $1.sequence })
    }
}
