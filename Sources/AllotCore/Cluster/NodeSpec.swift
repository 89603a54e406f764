/// A machine's schedulable resources, as discovered or declared.
public struct NodeSpec: Equatable, Sendable, Codable {
    public var id: NodeID
    /// Divisible capacity; zero for a resource the node does not offer.
    public var capacity: ResourceVector
    /// The node's GPUs, in index order.
    public var gpus: [GPUDevice]
    /// Free-form labels (zone, rack, instance type, ...).
    public var labels: [String: String]

    public init(id: NodeID, capacity: ResourceVector = .zero, gpus: [GPUDevice] = [], labels: [String: String] = [:]) {
        self.id = id
        self.capacity = capacity
        self.gpus = gpus
        self.labels = labels
    }
}
