/// A deterministic synthetic cluster and queue, for benchmarks and tests at scale.
///
/// Nodes: three in four are CPU nodes (64 cores, 256 GiB); the rest are 8-GPU nodes (128 cores, 1 TiB),
/// alternately H100 and A100, 80 GiB each. Tasks: 80 % CPU work (0.5–8 cores, 1–16 GiB), 10 % whole-GPU
/// work (1, 2, 4 or 8 GPUs with 60/25/10/5 % odds, 8 cores and 64 GiB a GPU, half of them naming a model),
/// 10 % GPU shares (5–40 GiB of one GPU, 2 cores, 16 GiB); priorities 0–9, ten tenants, runtime estimates
/// of 1–120 minutes.
public struct SyntheticWorkload: Sendable {
    public var nodes: [NodeSpec]
    public var tasks: [TaskSpec]

    public init(nodes nodeCount: Int, tasks taskCount: Int, seed: UInt64 = 1) {
        var random = SplitMix64(seed: seed)
        let gib: Int64 = 1_073_741_824
        nodes = (0..<nodeCount).map { index in
            let id = NodeID("node-\(index)")
            if index % 4 == 3 {
                let model = (index / 4) % 2 == 0 ? "H100" : "A100"
                return NodeSpec(
                    id: id,
                    capacity: ResourceVector(cpuMillis: 128_000, memoryBytes: 1024 * gib),
                    gpus: (0..<8).map { GPUDevice(index: $0, model: model, memoryBytes: 80 * gib) }
                )
            }
            return NodeSpec(id: id, capacity: ResourceVector(cpuMillis: 64_000, memoryBytes: 256 * gib))
        }
        let cpuChoices: [Int64] = [500, 1000, 2000, 4000, 8000]
        let memoryChoices: [Int64] = [1, 2, 4, 8, 16]
        tasks = (0..<taskCount).map { index in
            var spec = TaskSpec(
                id: TaskID("task-\(index)"),
                tenant: TenantID("tenant-\(random.next() % 10)"),
                priority: Int(random.next() % 10),
                estimateSeconds: Double(60 + random.next() % 7140)
            )
            let kind = random.next() % 10
            if kind < 8 {
                spec.requests = ResourceRequest(
                    resources: ResourceVector(
                        cpuMillis: cpuChoices[Int(random.next() % 5)],
                        memoryBytes: memoryChoices[Int(random.next() % 5)] * gib
                    )
                )
            } else if kind == 8 {
                let roll = random.next() % 20
                let gpus = roll < 12 ? 1 : roll < 17 ? 2 : roll < 19 ? 4 : 8
                let model: String? = random.next() % 2 == 0 ? nil : (random.next() % 2 == 0 ? "H100" : "A100")
                spec.requests = ResourceRequest(
                    resources: ResourceVector(cpuMillis: Int64(gpus) * 8000, memoryBytes: Int64(gpus) * 64 * gib),
                    gpus: gpus,
                    gpuModel: model
                )
            } else {
                spec.requests = ResourceRequest(
                    resources: ResourceVector(cpuMillis: 2000, memoryBytes: 16 * gib),
                    gpus: 1,
                    gpuMemoryBytes: Int64(5 + random.next() % 36) * gib
                )
            }
            return spec
        }
    }
}
