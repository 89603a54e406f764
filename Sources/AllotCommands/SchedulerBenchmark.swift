import AllotCLI
import AllotCore

/// Times one scheduling cycle over a synthetic queue, twice: once bare for throughput, once with a clock
/// read around every decision for the latency distribution.
struct SchedulerBenchmark {
    var nodes: Int
    var tasks: Int
    var seed: UInt64
    var configuration: SchedulerConfiguration

    struct Result: Encodable {
        var strategy: String
        var policy: String
        var backfill: Bool
        var nodes: Int
        var gpus: Int
        var tasks: Int
        var placed: Int
        var pending: Int
        var decisions: Int
        var cycleSeconds: Double
        var placementsPerSecond: Double
        var decisionsPerSecond: Double
        var latencyP50Microseconds: Double
        var latencyP99Microseconds: Double
        var latencyMaxMicroseconds: Double
        var submitSeconds: Double
        var overallUtilization: Double
    }

    struct LatencyObserver: SchedulingObserver {
        let clock = ContinuousClock()
        var started = ContinuousClock.now
        var nanoseconds: [Int64] = []

        mutating func decisionStarted() { started = clock.now }

        mutating func decisionFinished(placed: Bool) {
            let elapsed = clock.now - started
            nanoseconds.append(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
    }

    func run() throws -> Result {
        let workload = SyntheticWorkload(nodes: nodes, tasks: tasks, seed: seed)
        let clock = ContinuousClock()

        func loaded() throws -> (Scheduler, Duration) {
            var scheduler = try Scheduler(configuration: configuration)
            for node in workload.nodes { try scheduler.addNode(node) }
            let start = clock.now
            for task in workload.tasks { try scheduler.submit(task, now: 0) }
            return (scheduler, clock.now - start)
        }

        var (bare, submit) = try loaded()
        let start = clock.now
        let actions = bare.schedule(now: 0)
        let cycle = (clock.now - start).inSeconds
        let placed = actions.count { if case .bind = $0 { true } else { false } }

        var (observed, _) = try loaded()
        var observer = LatencyObserver()
        observer.nanoseconds.reserveCapacity(tasks)
        _ = observed.schedule(now: 0, observer: &observer)
        let sorted = observer.nanoseconds.sorted()
        func percentile(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return Double(sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.down)))]) / 1000
        }
        return Result(
            strategy: configuration.strategy.name,
            policy: configuration.policy.name,
            backfill: configuration.backfill,
            nodes: nodes,
            gpus: workload.nodes.reduce(0) { $0 + $1.gpus.count },
            tasks: tasks,
            placed: placed,
            pending: bare.pendingTasks.count,
            decisions: sorted.count,
            cycleSeconds: cycle,
            placementsPerSecond: cycle > 0 ? Double(placed) / cycle : 0,
            decisionsPerSecond: cycle > 0 ? Double(sorted.count) / cycle : 0,
            latencyP50Microseconds: percentile(0.50),
            latencyP99Microseconds: percentile(0.99),
            latencyMaxMicroseconds: Double(sorted.last ?? 0) / 1000,
            submitSeconds: submit.inSeconds,
            overallUtilization: bare.utilization().overall
        )
    }

}
