import AllotCLI
import AllotCore
import ArgumentParser

/// `allot bench`: benchmarks that print figures.
public struct BenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print figures.",
        subcommands: [
            SchedulerBenchCommand.self, APIBenchCommand.self, MonitorBenchCommand.self, CatalogBenchCommand.self, CostBenchCommand.self,
            ConsoleBenchCommand.self, ReadBenchCommand.self, ChaosCommand.self, AutoscaleBenchCommand.self, PackingBenchCommand.self,
            ClientBenchCommand.self,
        ]
    )

    public init() {}
}

/// `allot bench scheduler`: placements per second and decision latency on a synthetic cluster and queue.
public struct SchedulerBenchCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "scheduler",
        abstract: "Place a deterministic synthetic queue on a synthetic cluster; print placements/s and decision latency p50/p99."
    )

    @Option(help: "Nodes in the synthetic cluster (3 in 4 CPU nodes, the rest 8-GPU nodes).")
    public var nodes: Int = 10_000

    @Option(help: "Tasks in the queue.")
    public var tasks: Int = 100_000

    @Option(help: "Seed of the synthetic workload.")
    public var seed: UInt64 = 1

    @Option(help: "Time cycles over a queue this deep instead, on full GPUs (with --fitting); every policy unless --policy is given.")
    public var pending: Int?

    @Option(help: "With --pending: the fraction of the queue that can start.")
    public var fitting: Double = 0.01

    @OptionGroup public var scheduler: SchedulerOptions
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws {
        guard nodes >= 1 else { throw ValidationError("--nodes: must be at least 1") }
        guard tasks >= 1 else { throw ValidationError("--tasks: must be at least 1") }
        if let pending, pending < 1 { throw ValidationError("--pending: must be at least 1") }
        guard fitting > 0, fitting <= 1 else { throw ValidationError("--fitting: must be above 0 and at most 1") }
    }

    public func run() throws { print(try render()) }

    public func render() throws -> String {
        if let pending { return try renderDeepQueue(pending) }
        let result = try SchedulerBenchmark(nodes: nodes, tasks: tasks, seed: seed, configuration: try scheduler.configuration()).run()
        if output.output == .json { return try JSONOutput.render(result) }
        var table = TextTable(["METRIC", "VALUE"])
        table.add(["strategy / policy", "\(result.strategy) / \(result.policy)\(result.backfill ? " + backfill" : "")"])
        table.add(["nodes / gpus", "\(result.nodes) / \(result.gpus)"])
        table.add(["tasks queued", "\(result.tasks)"])
        table.add(["tasks placed", "\(result.placed)"])
        table.add(["tasks pending", "\(result.pending)"])
        table.add(["decisions", "\(result.decisions)"])
        table.add(["cycle time", Quantity.format(result.cycleSeconds * 1000) + " ms"])
        table.add(["placements/s", Quantity.format(result.placementsPerSecond.rounded())])
        table.add(["decisions/s", Quantity.format(result.decisionsPerSecond.rounded())])
        table.add(["decision latency p50", Quantity.format(result.latencyP50Microseconds) + " µs"])
        table.add(["decision latency p99", Quantity.format(result.latencyP99Microseconds) + " µs"])
        table.add(["decision latency max", Quantity.format(result.latencyMaxMicroseconds) + " µs"])
        table.add(["submit time", Quantity.format(result.submitSeconds * 1000) + " ms"])
        table.add(["overall utilization", percent(result.overallUtilization)])
        return table.render()
    }

    private func renderDeepQueue(_ pending: Int) throws -> String {
        let base = try scheduler.configuration()
        let configurations =
            scheduler.policy == nil
            ? DeepQueueBenchmark.configurations(from: base) : [(base.policy.name + (base.backfill ? " + backfill" : ""), base)]
        let benchmark = DeepQueueBenchmark(nodes: min(nodes, 100), pending: pending, fitting: fitting)
        let results = try configurations.map { try benchmark.run($0.1, name: $0.0) }
        if output.output == .json { return try JSONOutput.render(results) }
        var table = TextTable(["POLICY", "PENDING", "PLACED", "CYCLE (MEDIAN)", "IDLE CYCLE"])
        for result in results {
            table.add([
                result.policy, "\(result.pending)", "\(result.placed)", Quantity.format(result.firstCycleMilliseconds) + " ms",
                Quantity.format(result.nextCycleMilliseconds) + " ms",
            ])
        }
        return "\(min(nodes, 100)) nodes x 8 GPUs, every GPU taken; one queued task in \(Int((1 / fitting).rounded())) fits\n" + table.render()
    }
}
