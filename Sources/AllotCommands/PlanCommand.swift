import AllotAPI
import AllotCLI
import AllotCore
import ArgumentParser

/// `allot plan`: an offline what-if that places a queue on a cluster and explains the result.
public struct PlanCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Place a queue of tasks on a cluster (offline what-if) and report placements, pending reasons and utilization."
    )

    @Option(help: "The cluster file (JSON): {\"nodes\":[{\"name\":...,\"cpu\":...,\"memory\":...,\"gpus\":[...]}]}.")
    public var cluster: String

    @Option(help: "The tasks file (JSON): {\"running\":[...],\"tasks\":[...]}, queue order as written.")
    public var tasks: String

    @OptionGroup public var scheduler: SchedulerOptions
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func run() throws { print(try render()) }

    /// The report as it would be printed.
    public func render() throws -> String {
        let report = try plan()
        return output.output == .json ? try JSONOutput.render(report) : Self.table(report)
    }

    public func plan() throws -> PlanReport {
        let configuration = try scheduler.configuration()
        do {
            let nodes = try ClusterFile.decode(try parseJSON(try readFile(cluster, option: "--cluster"), name: cluster))
            let file = try TaskFile.decode(try parseJSON(try readFile(tasks, option: "--tasks"), name: tasks))
            return try Planner.plan(nodes: nodes, tasks: file, configuration: configuration)
        } catch let error as InputError {
            throw CommandFailure(error.description)
        }
    }

    static func table(_ report: PlanReport) -> String {
        var sections: [String] = []
        var placements = TextTable(["TASK", "NODE", "GPUS", "CPU", "MEMORY", "GPU MEMORY"])
        for placement in report.placements {
            placements.add([
                placement.task + (placement.replica.map { "[\($0)]" } ?? ""),
                placement.node,
                placement.gpus.isEmpty ? "-" : placement.gpus.map(String.init).joined(separator: ","),
                Quantity.format(placement.cpu),
                Quantity.formatBytes(placement.memory),
                placement.gpuMemory.map(Quantity.formatBytes) ?? (placement.gpus.isEmpty ? "-" : "whole"),
            ])
        }
        sections.append("PLACEMENTS (\(report.placements.count))\n" + placements.render())
        if !report.pending.isEmpty {
            var pending = TextTable(["TASK", "REASON"])
            for entry in report.pending { pending.add([entry.task, entry.reason]) }
            sections.append("PENDING (\(report.pending.count))\n" + pending.render())
        }
        if !report.preempted.isEmpty {
            var preempted = TextTable(["TASK", "PREEMPTED BY"])
            for entry in report.preempted { preempted.add([entry.task, entry.by]) }
            sections.append("PREEMPTED (\(report.preempted.count))\n" + preempted.render())
        }
        var pools = TextTable(["NODE", "RESOURCE", "USED", "CAPACITY", "UTILIZATION"])
        for pool in report.utilization.pools {
            let isBytes = pool.resource == "memory" || pool.resource.hasSuffix(".memory")
            func show(_ value: Double) -> String { isBytes ? Quantity.formatBytes(Int64(value)) : Quantity.format(value) }
            pools.add([pool.node, pool.resource, show(pool.used), show(pool.capacity), percent(pool.utilization)])
        }
        sections.append("UTILIZATION overall \(percent(report.utilization.overall))\n" + pools.render())
        if !report.bottlenecks.isEmpty {
            var bottlenecks = TextTable(["NODE", "RESOURCE", "UTILIZATION", "SEVERITY"])
            for entry in report.bottlenecks { bottlenecks.add([entry.node, entry.resource, percent(entry.utilization), entry.severity.rawValue]) }
            sections.append("BOTTLENECKS (\(report.bottlenecks.count))\n" + bottlenecks.render())
        }
        if let objective = report.objective {
            sections.append(
                "OBJECTIVE \(Quantity.format(objective.value)) = \(Quantity.format(objective.alpha)) x (1 - overall) + "
                    + "\(objective.beta > 0 && objective.beta < 0.001 ? "1/\(Quantity.format(1 / objective.beta))" : Quantity.format(objective.beta)) x mean wait \(Quantity.format(objective.meanWaitSeconds)) s"
            )
        }
        return sections.joined(separator: "\n\n")
    }
}

func percent(_ value: Double) -> String { Quantity.format(value * 100) + "%" }
