/// Strict priority, FIFO within a level, with optional aging: every `agingSeconds` waited adds one level,
/// so that low-priority work cannot starve.
public struct PriorityPolicy: QueuePolicy {
    public var agingSeconds: Double?

    public init(agingSeconds: Double? = nil) { self.agingSeconds = agingSeconds }
    public var name: String { "priority" }
    public var blocking: QueueBlocking { .wholeQueue }

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
