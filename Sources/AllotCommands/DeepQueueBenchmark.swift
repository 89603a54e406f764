import AllotCLI
import AllotCore

/// Scheduling cycles over a deep queue of which only a fraction can start: every GPU is taken, and the
/// queue holds `pending` tasks, one in `1 / fitting` a small CPU task that fits and the rest GPU tasks of
/// four shapes that fit nowhere. Over nine rounds (a cycle places what fits, those tasks end and as many
/// new ones arrive), the median time of a cycle that places, and of the next one with nothing changed.
struct DeepQueueBenchmark {
    var nodes: Int
    var pending: Int
    var fitting: Double

    struct Result: Encodable {
        var policy: String
        var pending: Int
        var placed: Int
        var firstCycleMilliseconds: Double
        var nextCycleMilliseconds: Double
    }

    func run(_ configuration: SchedulerConfiguration, name: String) throws -> Result {
        var scheduler = try Scheduler(configuration: configuration)
        for index in 0..<nodes {
            try scheduler.addNode(
                NodeSpec(
                    id: NodeID("node-\(index)"),
                    capacity: ResourceVector(cpuMillis: 128_000, memoryBytes: 1 << 40),
                    gpus: (0..<8).map { GPUDevice(index: $0, model: "H100", memoryBytes: 80 << 30) }
                )
            )
        }
        for index in 0..<(nodes * 8) {
            try scheduler.submit(
                TaskSpec(id: TaskID("running-\(index)"), requests: ResourceRequest(resources: ResourceVector(cpuMillis: 1000), gpus: 1)),
                now: 0
            )
        }
        _ = scheduler.schedule(now: 0)
        let every = max(1, Int((1 / max(fitting, 1e-9)).rounded()))
        let gpuShapes = [1, 2, 4, 8]
        for index in 0..<pending {
            let fits = index % every == every - 1
            let request =
                fits
                ? ResourceRequest(resources: ResourceVector(cpuMillis: 1000, memoryBytes: 1 << 30))
                : ResourceRequest(resources: ResourceVector(cpuMillis: 4000, memoryBytes: 16 << 30), gpus: gpuShapes[index % gpuShapes.count])
            try scheduler.submit(TaskSpec(id: TaskID("queued-\(index)"), requests: request, estimateSeconds: 3600), now: 1)
        }
        // Nine rounds: a cycle places what fits; then those end and as many new small tasks arrive.
        let clock = ContinuousClock()
        var cycles: [Double] = []
        var idle: [Double] = []
        var placed = 0
        var now = 2.0
        var arrivals = pending
        for _ in 0..<9 {
            var start = clock.now
            let actions = scheduler.schedule(now: now)
            cycles.append((clock.now - start).inSeconds)
            start = clock.now
            _ = scheduler.schedule(now: now + 0.5)
            idle.append((clock.now - start).inSeconds)
            let bound = actions.compactMap { if case .bind(let id, _) = $0 { id } else { nil } }
            placed = bound.count
            now += 1
            for id in bound { try scheduler.finish(id, now: now) }
            for _ in bound {
                try scheduler.submit(
                    TaskSpec(
                        id: TaskID("queued-\(arrivals)"),
                        requests: ResourceRequest(resources: ResourceVector(cpuMillis: 1000, memoryBytes: 1 << 30))
                    ),
                    now: now
                )
                arrivals += 1
            }
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] * 1000 }
        return Result(
            policy: name,
            pending: pending,
            placed: placed,
            firstCycleMilliseconds: median(cycles),
            nextCycleMilliseconds: median(idle)
        )
    }

    /// Every queue policy, and FIFO with backfill.
    static func configurations(from base: SchedulerConfiguration) -> [(String, SchedulerConfiguration)] {
        var result: [(String, SchedulerConfiguration)] = []
        for name in QueuePolicies.names {
            var configuration = base
            configuration.policy = try! QueuePolicies.named(name)  // a listed name
            configuration.backfill = false
            result.append((name, configuration))
        }
        var backfill = base
        backfill.policy = FIFOPolicy()
        backfill.backfill = true
        result.append(("fifo + backfill", backfill))
        return result
    }
}
