/// Where one replica of a task runs.
public struct ReplicaPlacement: Equatable, Sendable, Codable {
    public var node: NodeID
    /// The indices of the GPUs it uses on that node.
    public var gpuIndices: [Int]
    /// The memory it may use on each of those GPUs when it shares them; `nil` for whole GPUs.
    public var gpuMemoryBytes: Int64?
    /// CPU granted: its request plus any elastic share.
    public var cpuMillis: Int64
    /// Memory granted: its request plus any elastic share.
    public var memoryBytes: Int64

    public init(node: NodeID, gpuIndices: [Int], gpuMemoryBytes: Int64? = nil, cpuMillis: Int64, memoryBytes: Int64) {
        self.node = node
        self.gpuIndices = gpuIndices
        self.gpuMemoryBytes = gpuMemoryBytes
        self.cpuMillis = cpuMillis
        self.memoryBytes = memoryBytes
    }
}

/// What the shell around the scheduler must carry out, in order.
public enum SchedulerAction: Equatable, Sendable {
    /// Start the task with these replica placements.
    case bind(TaskID, [ReplicaPlacement])
    /// Stop the task (gracefully) and put it back in the queue: `by` needed its resources.
    case preempt(TaskID, by: TaskID)
    /// The task's running replicas were lost with a node; it is back in the queue.
    case requeue(TaskID, reason: String)
    /// A replica's elastic grant changed (CPU and memory granted, requests included).
    case resize(TaskID, replica: Int, cpuMillis: Int64, memoryBytes: Int64)
}
