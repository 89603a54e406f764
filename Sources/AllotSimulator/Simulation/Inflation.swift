import AllotCore

/// Arrivals without departures until the cluster is full, as in the "inflation" experiments of Weng et al.
/// ("Beware of Fragmentation", USENIX ATC'23): tasks arrive one at a time in trace order and either start
/// at once or fail; nothing ends. What is measured is how much GPU capacity is left unallocated as the arrived
/// demand grows: a strategy that fragments leaves pieces of GPUs that later tasks cannot use.
public struct InflationRun: Sendable, Equatable {
    public struct Point: Sendable, Equatable {
        /// GPUs asked for by every arrival so far (a share counts its fraction of the device it would take,
        /// or took), over the cluster's GPUs.
        public var arrived: Double
        /// GPUs allocated (a share counts its fraction of its device), over the cluster's GPUs.
        public var allocated: Double
        /// GPUs left unallocated: the cluster's GPUs minus those allocated.
        public var unallocatedGPUs: Double
    }

    public var strategy: String
    public var totalGPUs: Int
    public var placed: Int
    public var failed: Int
    /// One point each time the arrived demand passes another 5 % of the cluster, and the last.
    public var points: [Point]
    /// Where the unallocated GPUs are at the end, per model: devices left wholly free, and the free parts
    /// of devices in use (fragments unless a small enough share comes).
    public var leftover: [String: (free: Int, partial: Double)] = [:]

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.strategy == rhs.strategy && lhs.totalGPUs == rhs.totalGPUs && lhs.placed == rhs.placed && lhs.failed == rhs.failed
            && lhs.points == rhs.points
            && lhs.leftover.mapValues { [Double($0.free), $0.partial] } == rhs.leftover.mapValues { [Double($0.free), $0.partial] }
    }

    public var unallocatedGPUs: Double { points.last?.unallocatedGPUs ?? Double(totalGPUs) }
}

public enum Inflation {
    /// Runs the arrivals of `tasks` on `nodes` under `strategy` until the cluster is full: `patience`
    /// arrivals in a row found no room (or the tasks ran out, or the arrived GPU demand reached `until`
    /// times the cluster's GPUs). Each task starts at once or is dropped.
    public static func run(
        _ tasks: [TaskSpec],
        nodes: [NodeSpec],
        strategy: any PlacementStrategy,
        until: Double = .infinity,
        patience: Int = 1000
    ) throws(SchedulerError) -> InflationRun {
        var configuration = SchedulerConfiguration(strategy: strategy, policy: FIFOPolicy(), headroom: 0, preemption: false)
        configuration.rejectInfeasible = false
        var state: Scheduler
        do {
            state = try Scheduler(configuration: configuration)
        } catch {
            throw SchedulerError(.invalidTask, error.description)
        }
        var memory: [NodeID: [Int: Int64]] = [:]
        for node in nodes {
            try state.addNode(node)
            memory[node.id] = Dictionary(node.gpus.map { ($0.index, $0.memoryBytes) }, uniquingKeysWith: { first, _ in first })
        }
        let total = nodes.reduce(0) { $0 + $1.gpus.count }
        // What a share would take of a device when it fails: its fraction of the largest matching device.
        func modelKey(_ model: String) -> String { GPUModelName.normalize(model).lowercased() }
        var largest: [String: Int64] = [:]
        for gpu in nodes.flatMap(\.gpus) { largest[modelKey(gpu.model)] = max(largest[modelKey(gpu.model)] ?? 0, gpu.memoryBytes) }
        let largestOfAny = largest.values.max() ?? 1
        func largestDevice(_ model: String?) -> Int64 { model.map { largest[modelKey($0)] ?? 1 } ?? largestOfAny }
        var run = InflationRun(strategy: strategy.name, totalGPUs: total, placed: 0, failed: 0, points: [])
        guard total > 0 else { return run }
        var arrived = 0.0
        var allocated = 0.0
        var used: [NodeID: [Int: Double]] = [:]
        var nextPoint = 0.05
        var failuresInARow = 0
        func point() -> InflationRun.Point {
            InflationRun.Point(arrived: arrived / Double(total), allocated: allocated / Double(total), unallocatedGPUs: Double(total) - allocated)
        }
        for (index, task) in tasks.enumerated() {
            guard arrived < until * Double(total), failuresInARow < patience else { break }
            try state.submit(task, now: Double(index))
            let actions = state.schedule(now: Double(index))
            if let placements = actions.compactMap({ if case .bind(task.id, let placements) = $0 { placements } else { nil } }).first {
                var taken = 0.0
                for replica in placements {
                    for gpu in replica.gpuIndices {
                        var part = 1.0
                        if let share = replica.gpuMemoryBytes, let capacity = memory[replica.node]?[gpu], capacity > 0 {
                            part = Double(share) / Double(capacity)
                        }
                        taken += part
                        used[replica.node, default: [:]][gpu, default: 0] += part
                    }
                }
                run.placed += 1
                failuresInARow = 0
                allocated += taken
                arrived += taken
            } else {
                try state.cancel(task.id)
                run.failed += 1
                failuresInARow += 1
                let request = task.requests
                if let share = request.gpuMemoryBytes {
                    arrived += Double(request.deviceCount * task.gang) * Double(share) / Double(largestDevice(request.gpuModel))
                } else {
                    arrived += Double(request.gpus * task.gang)
                }
            }
            if arrived >= nextPoint * Double(total) {
                run.points.append(point())
                while nextPoint * Double(total) <= arrived { nextPoint += 0.05 }
            }
        }
        // The last state, unless the last point already is it.
        if run.points.last?.arrived != arrived / Double(total) { run.points.append(point()) }
        for node in nodes {
            for gpu in node.gpus {
                let part = used[node.id]?[gpu.index] ?? 0
                let model = GPUModelName.normalize(gpu.model)
                var entry = run.leftover[model] ?? (0, 0)
                if part <= 0 { entry.free += 1 } else { entry.partial += max(0, 1 - part) }
                run.leftover[model] = entry
            }
        }
        return run
    }
}
