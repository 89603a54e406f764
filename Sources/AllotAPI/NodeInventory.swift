import AllotCore

/// What an agent found on its machine: sent when it joins and again when it changes.
public struct NodeInventory: Codable, Equatable, Sendable {
    public struct CPU: Codable, Equatable, Sendable {
        public var model: String
        /// Logical cores the machine has.
        public var logicalCores: Int
        /// Cores the agent's cgroup may use, when a CPU quota limits it.
        public var quotaCores: Double?

        public init(model: String, logicalCores: Int, quotaCores: Double? = nil) {
            self.model = model
            self.logicalCores = logicalCores
            self.quotaCores = quotaCores
        }

        /// The schedulable cores: the quota when it is lower than the core count.
        public var schedulableCores: Double { min(Double(logicalCores), quotaCores ?? .infinity) }
    }

    public struct Disk: Codable, Equatable, Sendable {
        public var path: String
        public var totalBytes: Int64
        public var freeBytes: Int64

        public init(path: String, totalBytes: Int64, freeBytes: Int64) {
            self.path = path
            self.totalBytes = totalBytes
            self.freeBytes = freeBytes
        }
    }

    public struct NetworkInterface: Codable, Equatable, Sendable {
        public var name: String
        /// Link speed in bits per second, when the interface reports one.
        public var speedBitsPerSecond: Int64?
        public var up: Bool

        public init(name: String, speedBitsPerSecond: Int64?, up: Bool) {
            self.name = name
            self.speedBitsPerSecond = speedBitsPerSecond
            self.up = up
        }
    }

    public struct GPU: Codable, Equatable, Sendable {
        public var index: Int
        public var uuid: String?
        /// The product name as the driver reports it (`NVIDIA H100 80GB HBM3`).
        public var name: String
        public var memoryTotalBytes: Int64
        public var memoryUsedBytes: Int64?
        /// Percent of time a kernel ran over the last sample period.
        public var utilizationPercent: Double?
        public var migEnabled: Bool?
        public var pciBusID: String?

        public init(
            index: Int,
            uuid: String?,
            name: String,
            memoryTotalBytes: Int64,
            memoryUsedBytes: Int64? = nil,
            utilizationPercent: Double? = nil,
            migEnabled: Bool? = nil,
            pciBusID: String? = nil
        ) {
            self.index = index
            self.uuid = uuid
            self.name = name
            self.memoryTotalBytes = memoryTotalBytes
            self.memoryUsedBytes = memoryUsedBytes
            self.utilizationPercent = utilizationPercent
            self.migEnabled = migEnabled
            self.pciBusID = pciBusID
        }
    }

    public var name: String
    public var cpu: CPU
    /// Memory the agent's cgroup may use (the machine's total unless a limit is lower).
    public var memoryBytes: Int64
    public var disks: [Disk]
    public var network: [NetworkInterface]
    public var gpus: [GPU]
    /// Where each figure came from (`discovered`, `override`, or a note such as `nvidia-smi not found`).
    public var notes: [String]
    /// What the machine costs, when known.
    public var pricing: NodePricing?

    public init(
        name: String,
        cpu: CPU,
        memoryBytes: Int64,
        disks: [Disk] = [],
        network: [NetworkInterface] = [],
        gpus: [GPU] = [],
        notes: [String] = []
    ) {
        self.name = name
        self.cpu = cpu
        self.memoryBytes = memoryBytes
        self.disks = disks
        self.network = network
        self.gpus = gpus
        self.notes = notes
    }

    /// The node as the scheduler sees it: schedulable cores, memory, the first disk's size, the fastest
    /// link that is up, and every GPU under its short model name.
    public var nodeSpec: NodeSpec {
        NodeSpec(
            id: NodeID(name),
            capacity: ResourceVector(
                cpuMillis: Int64((cpu.schedulableCores * 1000).rounded(.down)),
                memoryBytes: memoryBytes,
                diskBytes: disks.first?.totalBytes ?? 0,
                networkBitsPerSecond: network.filter(\.up).compactMap(\.speedBitsPerSecond).max() ?? 0
            ),
            gpus: gpus.map {
                GPUDevice(
                    index: $0.index,
                    model: GPUModelName.normalize($0.name),
                    memoryBytes: $0.memoryTotalBytes,
                    uuid: $0.uuid,
                    migEnabled: $0.migEnabled
                )
            }
        )
    }
}

/// What a machine uses right now, sent with each heartbeat.
public struct NodeUsage: Codable, Equatable, Sendable {
    public struct GPU: Codable, Equatable, Sendable {
        public var index: Int
        public var utilizationPercent: Double?
        public var memoryUsedBytes: Int64?

        public init(index: Int, utilizationPercent: Double?, memoryUsedBytes: Int64?) {
            self.index = index
            self.utilizationPercent = utilizationPercent
            self.memoryUsedBytes = memoryUsedBytes
        }
    }

    /// Busy fraction of all cores since the previous sample (0...1), when two samples exist.
    public var cpuUtilization: Double?
    public var memoryUsedBytes: Int64
    public var gpus: [GPU]
    /// Bytes used on the file system of the first disk.
    public var diskUsedBytes: Int64?
    /// Bytes received and sent on every interface but loopback since boot (counters).
    public var networkReceivedBytes: Int64?
    public var networkSentBytes: Int64?

    public init(
        cpuUtilization: Double?,
        memoryUsedBytes: Int64,
        gpus: [GPU],
        diskUsedBytes: Int64? = nil,
        networkReceivedBytes: Int64? = nil,
        networkSentBytes: Int64? = nil
    ) {
        self.cpuUtilization = cpuUtilization
        self.memoryUsedBytes = memoryUsedBytes
        self.gpus = gpus
        self.diskUsedBytes = diskUsedBytes
        self.networkReceivedBytes = networkReceivedBytes
        self.networkSentBytes = networkSentBytes
    }
}
