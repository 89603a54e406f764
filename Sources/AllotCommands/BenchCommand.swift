import AllotCore
import ArgumentParser

/// `allot bench`: benchmarks that print figures.
public struct BenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print figures.",
        subcommands: [
            SchedulerBenchCommand.self, APIBenchCommand.self, MonitorBenchCommand.self, CatalogBenchCommand.self, CostBenchCommand.self,
            ConsoleBenchCommand.self, ReadBenchCommand.self, ChaosCommand.self, AutoscaleBenchCommand.self,
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

    @OptionGroup public var scheduler: SchedulerOptions
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws {
        guard nodes >= 1 else { throw ValidationError("--nodes: must be at least 1") }
        guard tasks >= 1 else { throw ValidationError("--tasks: must be at least 1") }
    }

    public func run() throws { print(try render()) }

    public func render() throws -> String {
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
}
