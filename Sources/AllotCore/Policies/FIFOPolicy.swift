/// First in, first out, strictly: a task that cannot start holds back every later one.
public struct FIFOPolicy: QueuePolicy {
    public init() {}
    public var name: String { "fifo" }
    public var blocking: QueueBlocking { .wholeQueue }
    public var staticOrder: StaticQueueOrder? { .submission }

    public func makeCursor(_ entries: [QueueEntry], context: QueueContext) -> any QueueCursor {
        ListCursor(entries: entries.sorted { $0.sequence < $1.sequence })
    }
}
