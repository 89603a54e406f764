import AllotAPI
import AllotCLI
import AllotCore
import AllotSimulator
import ArgumentParser
import Foundation
import Synchronization

/// `allot simulate`: replays a cluster trace through the scheduler under one or more policies.
public struct SimulateCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Replay a job trace through the scheduler on a virtual clock and compare policies.",
        discussion: """
            Policies: fifo, priority, fair, las and gittins (non-clairvoyant), srtf (clairvoyant), backfill (EASY on estimates).
            Jobs without CPU or memory in the trace get 8 cores and 40 GiB per GPU. A job wider than a node becomes a
            gang of equal replicas. Each preemption costs --preemption-cost seconds of lost work.
            """
    )

    @Option(help: "The trace file.")
    public var trace: String

    @Option(help: "Trace format: philly, pollux, alibaba-dlrm, allot (detected from the header when omitted).")
    public var format: String?

    @Option(help: "A cluster file (JSON, as for allot plan) instead of --nodes.")
    public var cluster: String?

    @Option(help: "Number of identical nodes.")
    public var nodes: Int?

    @Option(help: "GPUs per node (with --nodes).")
    public var gpusPerNode: Int = 8

    @Option(help: "CPU cores per node (with --nodes; default 8 per GPU).")
    public var cpusPerNode: Double?

    @Option(help: "Memory per node (with --nodes; default 40GiB per GPU).")
    public var memoryPerNode: String?

    @Option(name: .customLong("policy"), help: "A policy to run; repeat to compare (default: all).")
    public var policies: [String] = []

    @Option(help: "Placement strategy: first-fit, best-fit, worst-fit, binpack, spread, fragmentation.")
    public var strategy: String = "best-fit"

    @Option(help: "Seconds of work lost per preemption.")
    public var preemptionCost: Double = 30

    @Option(help: "Runtime estimate noise for backfill and srtf: estimates are duration x a factor in [1/(1+e), 1+e].")
    public var estimateError: Double = 0

    @Option(help: "Least-attained-service thresholds in GPU-seconds, comma-separated (default 60 x 4^k, k = 0..10).")
    public var lasThresholds: String?

    @Option(
        help: "Least attained service's starvation guard: a job that has waited K times the seconds it ran returns to the top level (0 turns it off)."
    )
    public var lasStarvation: Double = LeastAttainedServicePolicy().starvationFactor ?? 0

    @Option(help: "At most this many queued jobs that cannot start are examined per scheduling cycle.")
    public var queueDepth: Int = SchedulerConfiguration().queueDepth

    @Option(
        help:
            "Seconds a job runs after each start before it may be preempted (0: no minimum). Defaults to twice --preemption-cost with --las-starvation, else 0: promoted jobs could otherwise evict each other faster than they progress."
    )
    public var minRun: Double?

    @Flag(
        help:
            "Move running jobs to make room for one whose GPUs are free but scattered over nodes: each move costs the moved job --preemption-cost."
    )
    public var defragment = false

    @Option(help: "Seed for estimate noise.")
    public var seed: UInt64 = 1

    @Option(help: "Write a self-contained HTML report here.")
    public var report: String?

    @Option(help: "Write each finished job's outcome under each policy here, as CSV.")
    public var outcomes: String?

    @Flag(
        help:
            "Inflation: jobs arrive in trace order and start at once or fail, nothing ends, until 1,000 in a row find no room or the trace ends; prints the unallocated GPUs as demand grows, under --strategy."
    )
    public var inflation = false

    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws {
        if cluster == nil && nodes == nil { throw ValidationError("give --cluster FILE or --nodes N") }
        if cluster != nil && nodes != nil { throw ValidationError("give --cluster or --nodes, not both") }
        if let nodes, nodes < 1 { throw ValidationError("--nodes must be at least 1") }
        if gpusPerNode < 0 { throw ValidationError("--gpus-per-node must not be negative") }
        if !(preemptionCost >= 0) { throw ValidationError("--preemption-cost must not be negative") }
        if !(estimateError >= 0) { throw ValidationError("--estimate-error must not be negative") }
        if queueDepth < 1 { throw ValidationError("--queue-depth must be at least 1") }
        if let minRun, !(minRun >= 0) || !minRun.isFinite { throw ValidationError("--min-run must be a finite number of seconds, 0 or more") }
        _ = try selectedPolicies()
    }

    public func run() throws {
        let started = Date()
        let (loaded, setup) = try load()
        if inflation { return try runInflation(loaded, setup) }
        let selected = try selectedPolicies()
        let progress = ProgressBar(enabled: isatty(STDERR_FILENO) != 0, parts: selected.count)
        let results = Mutex<[Int: (run: SimulationRun, seconds: Double)]>([:])
        let failure = Mutex<(any Error)?>(nil)
        // Policies are independent replays of the same input: run them side by side, one per core.
        DispatchQueue.concurrentPerform(iterations: selected.count) { index in
            let began = Date()
            do {
                let run = try Simulator(trace: loaded, setup: setup).run(selected[index]) { progress.update(part: index, $0) }
                let seconds = Date().timeIntervalSince(began)
                results.withLock { $0[index] = (run, seconds) }
            } catch {
                failure.withLock { $0 = error }
            }
        }
        progress.finish()
        if let error = failure.withLock({ $0 }) { throw CommandFailure("simulation failed: \(error)") }
        let finished = results.withLock { $0 }
        let runs = selected.indices.map { finished[$0]!.run }
        let wall = selected.indices.map { finished[$0]!.seconds }
        let summary = SimulationSummary(trace: loaded, setup: setup, runs: runs, wallSeconds: wall)
        if let report {
            let html = SimulationReport(summary: summary, title: "Allot simulation: \((trace as NSString).lastPathComponent)").html()
            do {
                try html.write(toFile: report, atomically: true, encoding: .utf8)
            } catch {
                throw CommandFailure("--report: cannot write \(report): \(error.localizedDescription)")
            }
        }
        if let outcomes {
            do {
                try OutcomesCSV.render(runs, trace: loaded).write(toFile: outcomes, atomically: true, encoding: .utf8)
            } catch {
                throw CommandFailure("--outcomes: cannot write \(outcomes): \(error.localizedDescription)")
            }
        }
        print(output.output == .json ? try JSONOutput.render(summary.document) : summary.table())
        fflush(nil)
        let each = zip(runs, wall).map { "\($0.policy.rawValue) \(String(format: "%.2f", $1)) s" }.joined(separator: ", ")
        FileHandle.standardError.write(Data("wall time \(String(format: "%.2f", Date().timeIntervalSince(started))) s (\(each))\n".utf8))
    }

    func runInflation(_ trace: Trace, _ setup: SimulationSetup) throws {
        let run: InflationRun
        do {
            run = try Simulator(trace: trace, setup: setup).inflation()
        } catch {
            throw CommandFailure("simulation failed: \(error)")
        }
        if output.output == .json { return print(try JSONOutput.render(InflationDocument(run))) }
        var table = TextTable(["ARRIVED", "ALLOCATED", "UNALLOCATED GPUS"])
        for point in run.points {
            table.add([
                Quantity.format((point.arrived * 1000).rounded() / 10) + "%", Quantity.format((point.allocated * 1000).rounded() / 10) + "%",
                Quantity.format((point.unallocatedGPUs * 10).rounded() / 10),
            ])
        }
        print("inflation under \(run.strategy) on \(run.totalGPUs) GPUs: \(run.placed) jobs placed, \(run.failed) failed")
        print(table.render())
    }

    func selectedPolicies() throws -> [SimulationPolicy] {
        guard !policies.isEmpty else { return SimulationPolicy.allCases }
        return try policies.flatMap { $0.split(separator: ",") }.map { name in
            guard let policy = SimulationPolicy(rawValue: name.lowercased()) else {
                throw ValidationError(
                    "--policy: unknown policy \"\(name)\" (use \(SimulationPolicy.allCases.map(\.rawValue).joined(separator: ", ")))"
                )
            }
            return policy
        }
    }

    /// The trace and the cluster, as the flags describe them.
    public func load() throws -> (Trace, SimulationSetup) {
        let bytes = try readFile(trace, option: "--trace")
        let text = String(decoding: bytes, as: UTF8.self)
        let kind: TraceFormat
        if let format {
            guard let named = TraceFormat(rawValue: format.lowercased()) else {
                throw ValidationError("--format: unknown format \"\(format)\" (use \(TraceFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            kind = named
        } else {
            guard let detected = TraceFormat.detect(text) else {
                throw CommandFailure("--trace: cannot tell the format of \(trace) from its header; give --format")
            }
            kind = detected
        }
        let loaded: Trace
        do {
            loaded = try kind.read(text)
        } catch {
            throw CommandFailure("--trace \(trace): \(error.description)")
        }
        var nodeSpecs: [NodeSpec]
        if let cluster {
            do {
                nodeSpecs = try ClusterFile.decode(try parseJSON(try readFile(cluster, option: "--cluster"), name: cluster))
            } catch let error as InputError {
                throw CommandFailure(error.description)
            }
        } else {
            var cpu: Int64?
            var memory: Int64?
            do {
                if let cpusPerNode { cpu = try Quantity.cpuMillis(cpusPerNode, field: "cpus-per-node") }
                if let memoryPerNode { memory = try Quantity.bytes(memoryPerNode, field: "memory-per-node") }
            } catch {
                throw ValidationError("--\(error.field): invalid value \"\(error.value)\": \(error.reason)")
            }
            nodeSpecs = SimulationSetup.uniformNodes(count: nodes ?? 1, gpusPerNode: gpusPerNode, cpuMillis: cpu, memoryBytes: memory)
        }
        var setup = SimulationSetup(nodes: nodeSpecs, preemptionCost: preemptionCost, estimateError: estimateError, seed: seed)
        setup.queueDepth = queueDepth
        setup.minimumRun = minRun ?? (lasStarvation > 0 ? 2 * preemptionCost : 0)
        setup.defragmentation = defragment
        guard lasStarvation >= 0 else { throw ValidationError("--las-starvation: must not be negative") }
        setup.starvationFactor = lasStarvation > 0 ? lasStarvation : nil
        do {
            setup.strategy = try PlacementStrategies.named(strategy)
            if let lasThresholds {
                let values = try lasThresholds.split(separator: ",").map { text throws(QuantityError) in
                    guard let value = Double(text.trimmingCharacters(in: .whitespaces)) else {
                        throw QuantityError(field: "las-thresholds", value: String(text), reason: "not a number")
                    }
                    return value
                }
                setup.levels = try AttainedServiceLevels(thresholds: values)
            }
        } catch {
            throw ValidationError("--\(error.field): invalid value \"\(error.value)\": \(error.reason)")
        }
        return (loaded, setup)
    }
}

/// A progress bar on standard error for runs longer than a second, shared by policies running side by side.
final class ProgressBar: Sendable {
    private let enabled: Bool
    private let started = Date()
    private let state: Mutex<(fractions: [Double], shown: Bool)>

    init(enabled: Bool, parts: Int) {
        self.enabled = enabled
        state = Mutex((Array(repeating: 0, count: max(parts, 1)), false))
    }

    func update(part: Int, _ fraction: Double) {
        guard enabled, Date().timeIntervalSince(started) > 1 else { return }
        let overall = state.withLock { state -> Double in
            state.fractions[part] = fraction
            state.shown = true
            return state.fractions.reduce(0, +) / Double(state.fractions.count)
        }
        let filled = Int(overall * 30)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
        FileHandle.standardError.write(Data("\rsimulating [\(bar)] \(Int(overall * 100))%".utf8))
    }

    func finish() {
        if state.withLock({ $0.shown }) { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

/// `allot simulate --inflation --output json`.
struct InflationDocument: Encodable {
    struct Point: Encodable {
        var arrived: Double
        var allocated: Double
        var unallocatedGPUs: Double
    }

    var strategy: String
    var totalGPUs: Int
    var placed: Int
    var failed: Int
    var unallocatedGPUs: Double
    var points: [Point]

    init(_ run: InflationRun) {
        strategy = run.strategy
        totalGPUs = run.totalGPUs
        placed = run.placed
        failed = run.failed
        unallocatedGPUs = run.unallocatedGPUs
        points = run.points.map { Point(arrived: $0.arrived, allocated: $0.allocated, unallocatedGPUs: $0.unallocatedGPUs) }
    }
}
