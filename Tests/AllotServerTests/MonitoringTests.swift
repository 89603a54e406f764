import AllotAPI
import AllotCore
import AllotStore
import Testing

@testable import AllotServer

/// Usage history, utilization, bottlenecks and the history-based recommendations, from recorded agent reports.
@Suite struct MonitoringTests {
    static let admin = Identity(actor: "test", role: .admin, tenant: "default", scope: nil)
    static let GiB: Int64 = 1 << 30

    func job(cpu: Double, memoryGiB: Int64, gpus: Int) -> JobSubmission {
        var request = submission(cpu: cpu, gpus: gpus)
        request.task.requests.resources.memoryBytes = memoryGiB * Self.GiB
        return request
    }

    /// Node n1 (16 cores, 2 GPUs) runs an idle, oversized job and a busy one for 40 minutes of reports every
    /// 10 s; node n2 runs nothing.
    func recorded(_ clock: ManualClock) async throws -> (ControlPlane, idle: Job, busy: Job) {
        let plane = try await makePlane(MemoryStore(), clock)
        var big = inventory("n1", cpu: 16, gpus: 2)
        big.memoryBytes = 16 * Self.GiB
        _ = try await plane.report(AgentReport(node: "n1", inventory: big))
        _ = try await plane.report(AgentReport(node: "n2", inventory: inventory("n2", cpu: 4)))
        let idle = try await plane.submit(job(cpu: 8, memoryGiB: 6, gpus: 1))
        let busy = try await plane.submit(job(cpu: 8, memoryGiB: 6, gpus: 1))
        await settle(plane)
        await plane.tick()
        await plane.recorder.maintain(now: clock.now)
        let idleGPU = try #require(try await plane.job(idle.id).job.placements?.first?.gpuIndices.first)
        var cpu = (idle: 0.0, busy: 0.0)
        for step in 0...240 {
            if step > 0 { clock.advance(10) }
            cpu.idle += 10 * 1.0
            cpu.busy += 10 * 7.5
            let gpus = (0..<2).map { index in
                index == idleGPU
                    ? NodeUsage.GPU(index: index, utilizationPercent: 2, memoryUsedBytes: 10 * Self.GiB)
                    : NodeUsage.GPU(index: index, utilizationPercent: 97, memoryUsedBytes: 70 * Self.GiB)
            }
            let usage = NodeUsage(
                cpuUtilization: 0.53,
                memoryUsedBytes: 7 * Self.GiB,
                gpus: gpus,
                diskUsedBytes: 100 * Self.GiB,
                networkReceivedBytes: Int64(step) * 10_000_000,
                networkSentBytes: Int64(step) * 1_000_000
            )
            _ = try await plane.report(
                AgentReport(
                    node: "n1",
                    usage: usage,
                    jobs: [
                        .init(id: idle.id, attempt: 1, state: .running, cpuSeconds: cpu.idle, memoryBytes: 1 * Self.GiB),
                        .init(id: busy.id, attempt: 1, state: .running, cpuSeconds: cpu.busy, memoryBytes: 5 * Self.GiB + Self.GiB / 2),
                    ]
                )
            )
            _ = try await plane.report(AgentReport(node: "n2", usage: NodeUsage(cpuUtilization: 0.01, memoryUsedBytes: Self.GiB, gpus: [])))
            if step % 6 == 0 {
                await plane.tick()
                await plane.recorder.maintain(now: clock.now)
            }
        }
        return (plane, idle, busy)
    }

    @Test func idleAllocationsOversizedRequestsAndEmptyNodesAreRecommended() async throws {
        let clock = ManualClock()
        let (plane, idle, busy) = try await recorded(clock)
        let recommendations = await plane.optimizer.recommendations(for: Self.admin)
        let idleOnes = recommendations.filter { $0.kind == .idle }
        #expect(idleOnes.map(\.target) == [idle.id.rawValue])
        let finding = try #require(idleOnes.first)
        #expect(finding.freesGPUs == 1)
        #expect(finding.evidence.first { $0.name == "idle_for" }.map { $0.value >= 1_800 } == true)
        #expect(finding.evidence.first { $0.name == "max_utilization" }.map { abs($0.value - 0.02) < 1e-6 } == true)

        let sized = recommendations.filter { $0.kind == .rightsizing }
        #expect(sized.map(\.target) == ["default/\(idle.id)"])
        let evidence = Dictionary(try #require(sized.first).evidence.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        #expect(evidence["cpu_requested"] == 8)
        #expect(abs((evidence["cpu_p95"] ?? 0) - 1) < 1e-6)
        #expect(evidence["cpu_suggested"] == 1.25)
        #expect(evidence["memory_suggested"] == Double(Self.GiB + Self.GiB / 4))
        #expect(evidence["gpu_memory_requested"] == Double(80 * Self.GiB))
        #expect(evidence["gpu_memory_suggested"] == Double(12 * Self.GiB))
        #expect(!recommendations.contains { $0.target == "default/\(busy.id)" })

        // n2 has run nothing since the first tick, 40 minutes ago (over the 30-minute threshold); n1 is busy.
        #expect(recommendations.filter { $0.kind == .scaleDown }.map(\.target) == ["n2"])

        // A member of another tenant sees none of it; one of the jobs' tenant sees the job-level ones.
        let outsider = Identity(actor: "o", role: .member, tenant: "globex", scope: ["globex"])
        #expect(await plane.optimizer.recommendations(for: outsider).isEmpty)
        let member = Identity(actor: "m", role: .member, tenant: "default", scope: ["default"])
        #expect(Set(await plane.optimizer.recommendations(for: member).map(\.kind)) == [.idle, .rightsizing])
    }

    @Test func historyKeepsEverySeriesAtEachResolution() async throws {
        let clock = ManualClock()
        let (plane, idle, _) = try await recorded(clock)
        let now = clock.now
        let raw = try await plane.recorder.view("job/\(idle.id)/gpu.utilization", from: now - 2_400, to: now, resolution: "raw", now: now)
        // The first report finds the job scheduled, not yet running: its series starts with the second.
        #expect(raw.points.count == 240)
        #expect(raw.points.allSatisfy { abs($0.mean - 0.02) < 1e-6 })
        let minutes = try await plane.recorder.view("node/n1/gpu/0/memory.used_bytes", from: now - 2_400, to: now, resolution: "1m", now: now)
        #expect((40...42).contains(minutes.points.count))
        let network = try await plane.recorder.view("node/n1/network.receive_bytes_per_second", from: now - 600, to: now, resolution: nil, now: now)
        #expect(network.resolution == "raw")
        #expect(network.points.allSatisfy { abs($0.mean - 1_000_000) < 1 })
        let cpu = try await plane.recorder.view("job/\(idle.id)/cpu.cores", from: now - 600, to: now, resolution: "raw", now: now)
        #expect(cpu.points.allSatisfy { abs($0.mean - 1) < 1e-6 })
        let tenant = try await plane.recorder.view("tenant/default/gpus.busy", from: now - 600, to: now, resolution: "raw", now: now)
        #expect(tenant.points.last.map { abs($0.mean - 0.99) < 1e-6 } == true)
        let names = try await plane.recorder.seriesNames(prefix: "cluster/")
        #expect(names.contains("cluster/queue.depth") && names.contains("cluster/gpu.utilization"))
        await #expect(throws: APIError.self) { try await plane.recorder.view("cluster/queue.depth", from: 0, to: now, resolution: "5m", now: now) }
    }

    @Test func bottlenecksSayWhatToDo() async throws {
        let clock = ManualClock()
        let (plane, idle, busy) = try await recorded(clock)
        let view = await plane.utilization()
        let gpus = try #require(view.resources.first { $0.name == "gpus" })
        #expect(gpus.capacity == 2 && gpus.allocated == 2)
        #expect(abs((gpus.used ?? 0) - 0.99) < 1e-9)
        let idleGPU = try #require(try await plane.job(idle.id).job.placements?.first?.gpuIndices.first)
        let busyGPU = try #require(try await plane.job(busy.id).job.placements?.first?.gpuIndices.first)
        let bottlenecks = await plane.bottlenecks(for: Self.admin)
        // The idle job's GPU is fully allocated but barely used: lower its request.
        let idlePool = try #require(bottlenecks.first { $0.basis == "allocation" && $0.resource == "gpu\(idleGPU).memory" })
        #expect(idlePool.severity == .high)
        #expect(idlePool.action == .lowerRequest)
        #expect(idlePool.recommendation.contains(idle.id.rawValue))
        // The busy one is full by allocation and by use, and no node has GPUs to spare.
        #expect(bottlenecks.first { $0.basis == "allocation" && $0.resource == "gpu\(busyGPU).memory" }?.action == .addCapacity)
        let compute = try #require(bottlenecks.first { $0.basis == "usage" && $0.resource == "gpu\(busyGPU).compute" })
        #expect(compute.severity == .high)
        #expect(compute.action == .addCapacity)
        // CPU: 16 of 16 cores allocated on n1 while n2 has all its cores free: move work.
        let cpu = try #require(bottlenecks.first { $0.basis == "allocation" && $0.node == "n1" && $0.resource == "cpu" })
        #expect(cpu.action == .moveWork)
        // Another tenant's member is not told the job's name.
        let outsider = Identity(actor: "o", role: .member, tenant: "globex", scope: ["globex"])
        #expect(await plane.bottlenecks(for: outsider).allSatisfy { !$0.recommendation.contains(idle.id.rawValue) })
    }
}
