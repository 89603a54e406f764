/// A span of time during which a node was paid for at one price: from when it joined (or its price changed)
/// until it went down or left; `end` is `nil` while it lasts.
public struct NodeBillingPeriod: Codable, Equatable, Sendable {
    public var node: String
    public var start: Double
    public var end: Double?
    public var pricing: NodePricing
    /// The node's size, for each job's share.
    public var cpuMillis: Int64
    public var memoryBytes: Int64
    public var gpus: Int
    public var gpuModel: String?
    /// Memory of one GPU, for jobs that share GPUs by memory.
    public var gpuMemoryBytes: Int64?

    public init(
        node: String,
        start: Double,
        end: Double? = nil,
        pricing: NodePricing,
        cpuMillis: Int64,
        memoryBytes: Int64,
        gpus: Int,
        gpuModel: String? = nil,
        gpuMemoryBytes: Int64? = nil
    ) {
        self.node = node
        self.start = start
        self.end = end
        self.pricing = pricing
        self.cpuMillis = cpuMillis
        self.memoryBytes = memoryBytes
        self.gpus = gpus
        self.gpuModel = gpuModel
        self.gpuMemoryBytes = gpuMemoryBytes
    }
}
