import AllotCore

/// A heterogeneous GPU cluster and task mix of the shape Weng et al. report for Alibaba's GPU-sharing
/// cluster ("Beware of Fragmentation", USENIX ATC'23): nodes of several GPU models with 1, 2, 4 or 8 GPUs
/// (and some CPU-only nodes); tasks about half whole-GPU, a tenth CPU-only, the rest shares of one GPU
/// between 0.1 and 0.9 of a device's memory; a fifth of the GPU tasks pinned to a model. The proportions are the
/// paper's published shape, not its trace; the draw is deterministic for a seed.
public struct PackingWorkload: Sendable {
    public var nodes: [NodeSpec]
    public var tasks: [TaskSpec]

    /// Models with their memory and their share of the GPUs.
    static let models: [(name: String, memoryGiB: Int64, weight: Double)] = [
        ("V100", 32, 0.35), ("T4", 16, 0.25), ("A10", 24, 0.2), ("A100", 80, 0.2),
    ]

    public init(nodes count: Int, tasks taskCount: Int, seed: UInt64, pinnedShare: Double = 0.2) {
        var random = SplitMix64(seed: seed)
        func uniform() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
        func pick<T>(_ choices: [(T, Double)]) -> T {
            var draw = uniform() * choices.reduce(0) { $0 + $1.1 }
            for (value, weight) in choices {
                draw -= weight
                if draw < 0 { return value }
            }
            return choices[choices.count - 1].0
        }
        let modelChoices = Self.models.map { ($0, $0.weight) }
        nodes = (0..<count).map { index in
            let gpus = pick([(0, 0.1), (1, 0.15), (2, 0.15), (4, 0.25), (8, 0.35)])
            let model = pick(modelChoices)
            return NodeSpec(
                id: NodeID("node-\(index)"),
                capacity: ResourceVector(cpuMillis: Int64(16 + 12 * gpus) * 1000, memoryBytes: Int64(64 + 64 * gpus) << 30),
                gpus: (0..<gpus).map { GPUDevice(index: $0, model: model.name, memoryBytes: model.memoryGiB << 30) }
            )
        }
        tasks = (0..<taskCount).map { index in
            let kind = pick([("whole", 0.5), ("cpu", 0.1), ("share", 0.4)])
            let model = pick(modelChoices)
            let pinned = uniform() < pinnedShare ? model.name : nil
            var request: ResourceRequest
            switch kind {
            case "cpu":
                request = ResourceRequest(
                    resources: ResourceVector(cpuMillis: Int64(2 + random.next() % 15) * 1000, memoryBytes: Int64(4 + random.next() % 61) << 30)
                )
            case "whole":
                let gpus = pick([(1, 0.8), (2, 0.1), (4, 0.07), (8, 0.03)])
                request = ResourceRequest(
                    resources: ResourceVector(
                        cpuMillis: Int64(gpus * Int(2 + random.next() % 7)) * 1000,
                        memoryBytes: Int64(gpus * Int(8 + random.next() % 25)) << 30
                    ),
                    gpus: gpus,
                    gpuModel: pinned
                )
            default:
                // A share is a fraction of its model's memory when pinned, else of the smallest device's, so
                // that, as in the paper, an unpinned share fits a device of any model.
                let fraction = 0.1 + 0.8 * uniform()
                let device = pinned != nil ? model.memoryGiB : Self.models.map(\.memoryGiB).min()!
                request = ResourceRequest(
                    resources: ResourceVector(cpuMillis: Int64(1 + random.next() % 4) * 1000, memoryBytes: Int64(4 + random.next() % 13) << 30),
                    gpus: 1,
                    gpuModel: pinned,
                    gpuMemoryBytes: Int64(fraction * Double(device << 30))
                )
            }
            return TaskSpec(id: TaskID("task-\(index)"), requests: request)
        }
    }
}
