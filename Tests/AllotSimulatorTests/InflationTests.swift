import AllotCore
import Testing

@testable import AllotSimulator

/// Heterogeneous replays: trace jobs with a GPU model and a GPU memory share, and inflation (arrivals
/// without departures until the cluster's GPUs are asked for).
@Suite struct InflationTests {
    static let trace = """
        id,submit,duration,gpus,cpu,memory,tenant,priority,estimate,gpu_model,gpu_memory
        s1,0,10,1,1,1GiB,,,,,40GiB
        s2,1,10,1,1,1GiB,,,,,40GiB
        w1,2,10,1,1,1GiB,,,,,
        t1,3,10,1,1,1GiB,,,,T4,8GiB
        t2,4,10,1,1,1GiB,,,,T4,8GiB
        """

    /// Two 80 GiB A100s and one 16 GiB T4.
    static let nodes = [
        NodeSpec(
            id: "a",
            capacity: ResourceVector(cpuMillis: 64_000, memoryBytes: 512 << 30),
            gpus: (0..<2).map { GPUDevice(index: $0, model: "A100", memoryBytes: 80 << 30) }
        ),
        NodeSpec(
            id: "t",
            capacity: ResourceVector(cpuMillis: 16_000, memoryBytes: 64 << 30),
            gpus: [GPUDevice(index: 0, model: "T4", memoryBytes: 16 << 30)]
        ),
    ]

    @Test func traceJobsCarryAModelAndAMemoryShareBothWays() throws {
        let trace = try AllotTrace.read(Self.trace)
        #expect(trace.jobs.map(\.gpuModel) == [nil, nil, nil, "T4", "T4"])
        #expect(trace.jobs.map(\.gpuMemoryBytes) == [40 << 30, 40 << 30, nil, 8 << 30, 8 << 30])
        #expect(try AllotTrace.read(AllotTrace.csv(trace.jobs)).jobs == trace.jobs)
        let spec = Simulator.taskSpec(trace.jobs[3], index: 3, widest: 2, estimate: nil, policy: .fifo)
        #expect(spec.requests.gpuModel == "T4" && spec.requests.gpuMemoryBytes == 8 << 30 && spec.requests.deviceCount == 1)
        #expect(throws: TraceError.self) { try AllotTrace.read("submit,duration,gpus,gpu_memory\n0,1,1,0\n") }
    }

    /// Best-fit packs both 40 GiB shares on one A100, leaving the other whole for w1 and the T4 for both T4
    /// shares: nothing is left. Worst-fit spreads the shares over both A100s, so w1 takes the T4 and the T4
    /// jobs fail: one GPU's worth stays unallocated, in halves nobody can use.
    @Test(arguments: [("best-fit", 0.0, 0), ("first-fit", 0.0, 0), ("worst-fit", 1.0, 2)])
    func inflationShowsTheGPUsAStrategyStrands(strategy: String, unallocated: Double, failed: Int) throws {
        var setup = SimulationSetup(nodes: Self.nodes)
        setup.strategy = try PlacementStrategies.named(strategy)
        let run = try Simulator(trace: try AllotTrace.read(Self.trace), setup: setup).inflation()
        #expect(run.totalGPUs == 3)
        #expect(abs(run.unallocatedGPUs - unallocated) < 1e-9)
        #expect(run.failed == failed)
        #expect(run.placed == 5 - failed)
        #expect(run.points.map(\.arrived).last.map { abs($0 - 1) < 1e-9 } == true, "every arrival asked for its GPUs")
        #expect(zip(run.points, run.points.dropFirst()).allSatisfy { $0.arrived <= $1.arrived && $0.allocated <= $1.allocated })
    }

    @Test func inflationGoesOnUntilTheClusterIsFull() throws {
        let jobs = (0..<10).map {
            TraceJob(id: "j\($0)", submit: Double($0), duration: 1, gpus: 1, cpuMillis: 1000, memoryBytes: 1 << 30, tenant: "t")
        }
        let run = try Simulator(trace: Trace(format: .allot, jobs: jobs), setup: SimulationSetup(nodes: Self.nodes)).inflation()
        #expect(run.placed == 3 && run.failed == 7)
        #expect(run.unallocatedGPUs == 0)
        #expect(run.leftover["A100"]?.free == 0 && run.leftover["T4"]?.free == 0)
        let tasks = jobs.enumerated().map { Simulator.taskSpec($1, index: $0, widest: 2, estimate: nil, policy: .fifo) }
        // Stopping once the demand reaches the cluster, or after two failures in a row.
        #expect(try Inflation.run(tasks, nodes: Self.nodes, strategy: BestFit(), until: 1).failed == 0)
        #expect(try Inflation.run(tasks, nodes: Self.nodes, strategy: BestFit(), patience: 2).failed == 2)
    }
}
