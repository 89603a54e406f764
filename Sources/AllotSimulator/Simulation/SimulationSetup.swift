import AllotCore

/// The cluster and settings a trace is replayed on.
public struct SimulationSetup: Sendable {
    public var nodes: [NodeSpec]
    public var strategy: any PlacementStrategy
    /// Seconds of work lost each time a job is preempted (it restarts from its last checkpoint).
    public var preemptionCost: Double
    /// Runtime estimates are the true duration times a factor drawn log-uniformly from
    /// [1 / (1 + error), 1 + error]; 0 gives exact estimates.
    public var estimateError: Double
    public var seed: UInt64
    /// The service ladder of the `las` policy.
    public var levels: AttainedServiceLevels
    /// The `las` policy's starvation guard: a job that has waited this many times the seconds it ran
    /// returns to the top level; `nil` turns it off.
    public var starvationFactor: Double? = LeastAttainedServicePolicy().starvationFactor
    /// Fair-share weights, guarantees and limits per tenant (weight 1 for any tenant not named).
    public var tenants: [TenantID: TenantPolicy]
    /// The scheduler's queue depth (pending tasks that cannot start examined per cycle).
    public var queueDepth = SchedulerConfiguration().queueDepth
    /// Seconds a job runs after each start before it may be preempted (``SchedulerConfiguration/minimumRunSeconds``).
    public var minimumRun = SchedulerConfiguration().minimumRunSeconds
    /// Whether running jobs are moved to make room for one whose GPUs are free but scattered
    /// (``SchedulerConfiguration/defragmentation``).
    public var defragmentation = SchedulerConfiguration().defragmentation

    public init(
        nodes: [NodeSpec],
        strategy: any PlacementStrategy = BestFit(),
        preemptionCost: Double = 30,
        estimateError: Double = 0,
        seed: UInt64 = 1,
        levels: AttainedServiceLevels = .standard,
        tenants: [TenantID: TenantPolicy] = [:]
    ) {
        self.nodes = nodes
        self.strategy = strategy
        self.preemptionCost = preemptionCost
        self.estimateError = estimateError
        self.seed = seed
        self.levels = levels
        self.tenants = tenants
    }

    /// `count` identical nodes with `gpusPerNode` GPUs, and CPU and memory for that many default jobs
    /// (8 cores and 40 GiB per GPU, or 64 cores and 256 GiB on a node without GPUs) unless given.
    public static func uniformNodes(
        count: Int,
        gpusPerNode: Int,
        cpuMillis: Int64? = nil,
        memoryBytes: Int64? = nil,
        gpuModel: String = "V100",
        gpuMemoryBytes: Int64 = 32 << 30,
        defaults: TraceDefaults = TraceDefaults()
    ) -> [NodeSpec] {
        let cpu = cpuMillis ?? (gpusPerNode > 0 ? defaults.cpuMillisPerGPU * Int64(gpusPerNode) : 64_000)
        let memory = memoryBytes ?? (gpusPerNode > 0 ? defaults.memoryBytesPerGPU * Int64(gpusPerNode) : 256 << 30)
        let width = String(max(count - 1, 0)).count
        return (0..<count).map { index in
            let digits = String(index)
            let name = "sim-" + String(repeating: "0", count: width - digits.count) + digits
            return NodeSpec(
                id: NodeID(name),
                capacity: ResourceVector(cpuMillis: cpu, memoryBytes: memory),
                gpus: (0..<gpusPerNode).map { GPUDevice(index: $0, model: gpuModel, memoryBytes: gpuMemoryBytes) }
            )
        }
    }

    public var totalGPUs: Int { nodes.reduce(0) { $0 + $1.gpus.count } }
}
