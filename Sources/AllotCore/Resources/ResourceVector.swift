/// An amount of each divisible node resource: CPU, memory, disk, network and named extended resources.
///
/// GPUs are not in here: they are devices, described by ``GPUDevice`` and requested through
/// ``ResourceRequest``.
public struct ResourceVector: Equatable, Hashable, Sendable, Codable {
    public var cpuMillis: Int64
    public var memoryBytes: Int64
    public var diskBytes: Int64
    public var networkBitsPerSecond: Int64
    /// Named extended resources (e.g. `example.com/fpga`), in whole units.
    public var extended: [String: Int64]

    public init(cpuMillis: Int64 = 0, memoryBytes: Int64 = 0, diskBytes: Int64 = 0, networkBitsPerSecond: Int64 = 0, extended: [String: Int64] = [:])
    {
        self.cpuMillis = cpuMillis
        self.memoryBytes = memoryBytes
        self.diskBytes = diskBytes
        self.networkBitsPerSecond = networkBitsPerSecond
        self.extended = extended
    }

    public static let zero = ResourceVector()
}
