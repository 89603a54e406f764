/// Strict priority, FIFO within a level, with optional aging: every `agingSeconds` waited adds one level,
/// so that low-priority work cannot starve.
///
/// With ``QueueBlocking/passOver`` it is work-conserving: a task that does not fit is passed over. That is the
/// queue of least-attained-service scheduling, where the driver sets priorities from
/// ``AttainedServiceLevels`` as tasks run.
public struct PriorityPolicy: QueuePolicy {
    public var agingSeconds: Double?
    public var blocking: QueueBlocking
    public var name: String

    public init(agingSeconds: Double? = nil, blocking: QueueBlocking = .wholeQueue, name: String = "priority") {
        self.agingSeconds = agingSeconds
        self.blocking = blocking
        self.name = name
    }

    /// Without aging the order is static: priority, then submission.
    public var staticOrder: StaticQueueOrder? { agingSeconds == nil ? .priority : nil }

    /// The priority a task has after waiting.
    public func effectivePriority(_ entry: QueueEntry, now: Double) -> Int {
        guard let agingSeconds, agingSeconds > 0, now > entry.submitted else { return entry.priority }
        return entry.priority + Int(((now - entry.submitted) / agingSeconds).rounded(.down))
    }

    public func makeCursor(_ entries: [QueueEntry], context: QueueContext) -> any QueueCursor {
        let keyed = entries.map { (effectivePriority($0, now: context.now), $0) }
        let sorted = keyed.sorted { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1.sequence < $1.1.sequence }
        return ListCursor(entries: sorted.map(\.1))
    }
}
