/// One GPU of a node, as discovery reports it.
public struct GPUDevice: Equatable, Hashable, Sendable, Codable {
    /// The device index on its node (as `nvidia-smi` numbers it).
    public var index: Int
    /// The model name, e.g. `H100`, `A100`; placement matches it case-insensitively.
    public var model: String
    /// The device memory in bytes.
    public var memoryBytes: Int64
    /// The device UUID, when known (`GPU-...`).
    public var uuid: String?
    /// Whether MIG mode is enabled, when known.
    public var migEnabled: Bool?
    /// A topology group (NVLink domain, PCIe switch or NUMA node), when known; devices sharing a group are preferred together.
    public var topology: String?

    public init(index: Int, model: String, memoryBytes: Int64, uuid: String? = nil, migEnabled: Bool? = nil, topology: String? = nil) {
        self.index = index
        self.model = model
        self.memoryBytes = memoryBytes
        self.uuid = uuid
        self.migEnabled = migEnabled
        self.topology = topology
    }
}
