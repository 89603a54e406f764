import AllotCLI
import AllotCore
import AllotSimulator
import ArgumentParser
import Foundation

/// `allot bench packing`: how much GPU capacity each placement strategy leaves unallocated when a
/// heterogeneous cluster fills up.
public struct PackingBenchCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "packing",
        abstract:
            "Fill a heterogeneous GPU cluster with GPU shares, whole GPUs and CPU tasks (arrivals without departures) and print the GPUs each strategy leaves unallocated."
    )

    @Option(help: "Nodes in the synthetic cluster (several GPU models, 0, 1, 2, 4 or 8 GPUs each).")
    public var nodes: Int = 500

    @Option(help: "Seed of the synthetic cluster and tasks.")
    public var seed: UInt64 = 1

    @Option(help: "The fraction of GPU tasks pinned to a GPU model.")
    public var pinned: Double = 0.2

    @Option(help: "Strategies to compare (comma-separated).")
    public var strategies: String = "first-fit,best-fit,fragmentation"

    @Option(help: "Stop arrivals once the arrived GPU demand reaches this fraction of the cluster's GPUs (default: when full).")
    public var until: Double?

    @Flag(help: "Also print, per GPU model, the devices left wholly free and the free parts of devices in use.")
    public var verbose = false

    @OptionGroup public var output: OutputOptions

    public init() {}

    struct Row: Encodable {
        var strategy: String
        var gpus: Int
        var placed: Int
        var failed: Int
        /// When the arrived demand first reached the cluster's GPUs.
        var unallocatedAtCapacity: Double?
        var unallocatedGPUs: Double
        var unallocatedShare: Double
        var seconds: Double
    }

    public func run() throws {
        guard nodes >= 1 else { throw ValidationError("--nodes: must be at least 1") }
        let names = strategies.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        let chosen: [any PlacementStrategy]
        do {
            chosen = try names.map { name throws(QuantityError) in try PlacementStrategies.named(name) }
        } catch {
            throw ValidationError("--strategies: invalid value \"\(error.value)\": \(error.reason)")
        }
        let shape = PackingWorkload(nodes: nodes, tasks: 1, seed: seed)
        let gpus = shape.nodes.reduce(0) { $0 + $1.gpus.count }
        // Enough arrivals to ask for every GPU several times over; a run stops when 1,000 in a row find no room.
        let workload = PackingWorkload(nodes: nodes, tasks: max(1000, gpus * 4), seed: seed, pinnedShare: pinned)
        var rows: [Row] = []
        for strategy in chosen {
            let started = Date()
            let run = try Inflation.run(workload.tasks, nodes: workload.nodes, strategy: strategy, until: until ?? .infinity)
            if verbose {
                let parts = run.leftover.keys.sorted().map {
                    "\($0): \(run.leftover[$0]!.free) free + \(Quantity.format((run.leftover[$0]!.partial * 10).rounded() / 10)) in parts"
                }
                print("\(strategy.name): \(parts.joined(separator: ", "))")
            }
            rows.append(
                Row(
                    strategy: strategy.name,
                    gpus: run.totalGPUs,
                    placed: run.placed,
                    failed: run.failed,
                    unallocatedAtCapacity: run.points.first { $0.arrived >= 1 }?.unallocatedGPUs,
                    unallocatedGPUs: run.unallocatedGPUs,
                    unallocatedShare: run.totalGPUs > 0 ? run.unallocatedGPUs / Double(run.totalGPUs) : 0,
                    seconds: Date().timeIntervalSince(started)
                )
            )
        }
        if output.output == .json { return print(try JSONOutput.render(rows)) }
        let baseline = rows.first { $0.strategy == "best-fit" }
        var table = TextTable(["STRATEGY", "PLACED", "FAILED", "UNALLOCATED AT 100%", "VS BEST-FIT", "UNALLOCATED WHEN FULL", "VS BEST-FIT", "TIME"])
        func versus(_ value: Double?, _ base: Double?) -> String {
            guard let value, let base, base > 0 else { return "-" }
            return Quantity.format(((value / base - 1) * 1000).rounded() / 10) + "%"
        }
        func amount(_ value: Double?) -> String { value.map { Quantity.format(($0 * 10).rounded() / 10) } ?? "-" }
        for row in rows {
            table.add([
                row.strategy, "\(row.placed)", "\(row.failed)", amount(row.unallocatedAtCapacity),
                versus(row.unallocatedAtCapacity, baseline?.unallocatedAtCapacity), amount(row.unallocatedGPUs),
                versus(row.unallocatedGPUs, baseline?.unallocatedGPUs), Quantity.format((row.seconds * 100).rounded() / 100) + " s",
            ])
        }
        print("\(nodes) nodes, \(gpus) GPUs (V100, T4, A10, A100); tasks arrive, nothing ends, until 1,000 in a row find no room")
        print(table.render())
    }
}
