@testable import AllotCore

let GiB: Int64 = 1_073_741_824

/// A scheduler with headroom 0 unless told otherwise.
func makeScheduler(
    strategy: any PlacementStrategy = FirstFit(),
    policy: any QueuePolicy = FIFOPolicy(),
    headroom: Double = 0,
    backfill: Bool = false,
    preemption: Bool = true,
    tenants: [TenantID: TenantPolicy] = [:],
    minimumRunSeconds: Double = 0,
    defragmentation: Bool = false
) -> Scheduler {
    try! Scheduler(
        configuration: SchedulerConfiguration(
            strategy: strategy,
            policy: policy,
            headroom: headroom,
            backfill: backfill,
            preemption: preemption,
            tenants: tenants,
            minimumRunSeconds: minimumRunSeconds,
            defragmentation: defragmentation
        )
    )
}

/// A node with only GPUs, of the given memories in GiB.
func gpuNode(_ name: String, _ memoriesGiB: [Int64], model: String = "A100", cpu: Double = 0, memoryGiB: Int64 = 0) -> NodeSpec {
    NodeSpec(
        id: NodeID(name),
        capacity: ResourceVector(cpuMillis: Int64(cpu * 1000), memoryBytes: memoryGiB * GiB),
        gpus: memoriesGiB.enumerated().map { GPUDevice(index: $0.offset, model: model, memoryBytes: $0.element * GiB) }
    )
}

func cpuNode(_ name: String, cpu: Double, memoryGiB: Int64) -> NodeSpec {
    NodeSpec(id: NodeID(name), capacity: ResourceVector(cpuMillis: Int64(cpu * 1000), memoryBytes: memoryGiB * GiB))
}

/// A task taking a share of one GPU's memory.
func shareTask(_ id: String, _ gib: Int64, priority: Int = 0, estimate: Double? = nil, tenant: String = "default") -> TaskSpec {
    TaskSpec(
        id: TaskID(id),
        tenant: TenantID(tenant),
        priority: priority,
        requests: ResourceRequest(gpus: 1, gpuMemoryBytes: gib * GiB),
        estimateSeconds: estimate
    )
}

func cpuTask(_ id: String, cpu: Double, memoryGiB: Double, priority: Int = 0, tenant: String = "default", limitCPU: Double? = nil) -> TaskSpec {
    TaskSpec(
        id: TaskID(id),
        tenant: TenantID(tenant),
        priority: priority,
        requests: ResourceRequest(resources: ResourceVector(cpuMillis: Int64(cpu * 1000), memoryBytes: Int64(memoryGiB * Double(GiB)))),
        limits: limitCPU.map { ResourceVector(cpuMillis: Int64($0 * 1000)) }
    )
}

extension [SchedulerAction] {
    /// The bound tasks, in action order.
    var bound: [TaskID] {
        compactMap { if case .bind(let id, _) = $0 { return id } else { return nil } }
    }

    func placement(_ id: TaskID) -> [ReplicaPlacement]? {
        for action in self { if case .bind(id, let placements) = action { return placements } }
        return nil
    }
}

func pool(_ report: UtilizationReport, _ node: String, _ resource: String) -> PoolUtilization? {
    report.pools.first { $0.node == NodeID(node) && $0.resource == resource }
}
