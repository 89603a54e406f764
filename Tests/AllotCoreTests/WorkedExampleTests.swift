import Testing

@testable import AllotCore

/// The worked examples every scheduler change must keep (headroom 0 throughout).
struct WorkedExampleTests {
    @Test(arguments: [("first-fit", 0.8125), ("worst-fit", 0.825)])
    func twoDevicesThreeDemands(strategy: String, overall: Double) throws {
        var scheduler = makeScheduler(strategy: try PlacementStrategies.named(strategy))
        try scheduler.addNode(gpuNode("n1", [10, 8]))
        for (index, gib) in [4, 6, 5].enumerated() { try scheduler.submit(shareTask("t\(index)", Int64(gib)), now: 0) }
        let actions = scheduler.schedule(now: 0)
        #expect(actions.bound.count == 3)
        #expect(abs(scheduler.utilization().overall - overall) < 1e-9)
    }

    @Test func worstFitDevicesAreTheLargestRemaining() throws {
        var scheduler = makeScheduler(strategy: WorstFit())
        try scheduler.addNode(gpuNode("n1", [10, 8]))
        for (index, gib) in [4, 6, 5].enumerated() { try scheduler.submit(shareTask("t\(index)", Int64(gib)), now: 0) }
        let actions = scheduler.schedule(now: 0)
        #expect(actions.placement("t0")?.first?.gpuIndices == [0])
        #expect(actions.placement("t1")?.first?.gpuIndices == [1])
        #expect(actions.placement("t2")?.first?.gpuIndices == [0])
    }

    @Test func priorityFirstFitFillsTwoDevices() throws {
        var scheduler = makeScheduler(strategy: FirstFit(), policy: PriorityPolicy())
        try scheduler.addNode(gpuNode("n1", [12, 10, 8]))
        for (index, (gib, priority)) in [(5, 3), (7, 2), (4, 2), (6, 1)].enumerated() {
            try scheduler.submit(shareTask("t\(index)", Int64(gib), priority: priority), now: 0)
        }
        let actions = scheduler.schedule(now: 0)
        #expect(actions.bound == ["t0", "t1", "t2", "t3"])
        let report = scheduler.utilization()
        #expect(pool(report, "n1", "gpu0.memory")?.utilization == 1)
        #expect(pool(report, "n1", "gpu1.memory")?.utilization == 1)
        #expect(pool(report, "n1", "gpu2.memory")?.utilization == 0)
        #expect(abs(report.overall - 2.0 / 3.0) < 1e-9)
    }

    @Test(arguments: [false, true])
    func backfillPlacesTheShortTaskBehindABlockedHead(backfill: Bool) throws {
        var scheduler = makeScheduler(policy: PriorityPolicy(), backfill: backfill)
        try scheduler.addNode(gpuNode("n1", [16]))
        try scheduler.restore(shareTask("A", 8), replicas: [(node: "n1", gpuIndices: [0])], now: 0, remainingSeconds: 600)
        try scheduler.submit(shareTask("B", 16, priority: 2), now: 0)
        try scheduler.submit(shareTask("C", 8, priority: 1, estimate: 300), now: 0)
        let actions = scheduler.schedule(now: 0)
        #expect(actions.bound == (backfill ? ["C"] : []))
        #expect(scheduler.pendingReason("B") == "insufficient memory on one GPU: needs 16GiB, at most \(backfill ? "0B" : "8GiB") free on any node")
        if !backfill { #expect(scheduler.pendingReason("C")?.contains("waits behind B") == true) }
    }

    @Test func backfillRefusesATaskThatWouldDelayTheHead() throws {
        var scheduler = makeScheduler(policy: PriorityPolicy(), backfill: true)
        try scheduler.addNode(gpuNode("n1", [16]))
        try scheduler.restore(shareTask("A", 8), replicas: [(node: "n1", gpuIndices: [0])], now: 0, remainingSeconds: 600)
        try scheduler.submit(shareTask("B", 16, priority: 2), now: 0)
        try scheduler.submit(shareTask("C", 8, priority: 1, estimate: 900), now: 0)
        try scheduler.submit(shareTask("D", 8, priority: 1), now: 0)
        let actions = scheduler.schedule(now: 0)
        #expect(actions.bound.isEmpty)
        #expect(scheduler.pendingReason("C")?.contains("would delay the reservation of B") == true)
        #expect(scheduler.pendingReason("D")?.contains("would delay the reservation of B") == true)
    }

    @Test(arguments: ["first-fit", "best-fit"])
    func fifoSharesFourDevices(strategy: String) throws {
        var scheduler = makeScheduler(strategy: try PlacementStrategies.named(strategy))
        try scheduler.addNode(gpuNode("n1", [16, 16, 16, 16]))
        for (id, gib) in [("A", 8), ("B", 8), ("C", 16), ("D", 8)] { try scheduler.submit(shareTask(id, Int64(gib)), now: 0) }
        let actions = scheduler.schedule(now: 0)
        #expect(actions.placement("A")?.first?.gpuIndices == [0])
        #expect(actions.placement("B")?.first?.gpuIndices == [0])
        #expect(actions.placement("C")?.first?.gpuIndices == [1])
        #expect(actions.placement("D")?.first?.gpuIndices == [2])
    }

    @Test func edgeNodeRunsEveryModelWithTheElasticOneAtItsRequest() throws {
        var scheduler = makeScheduler(policy: PriorityPolicy())
        try scheduler.addNode(cpuNode("edge", cpu: 4, memoryGiB: 8))
        try scheduler.submit(cpuTask("monitor", cpu: 0.5, memoryGiB: 0.5, priority: 4), now: 0)
        try scheduler.submit(cpuTask("action", cpu: 1, memoryGiB: 1, priority: 3), now: 0)
        try scheduler.submit(cpuTask("vision", cpu: 2, memoryGiB: 4, priority: 2), now: 0)
        try scheduler.submit(cpuTask("language", cpu: 0.5, memoryGiB: 2, priority: 2, limitCPU: 1), now: 0)
        let actions = scheduler.schedule(now: 0)
        #expect(Set(actions.bound) == ["monitor", "action", "vision", "language"])
        #expect(actions.placement("language")?.first?.cpuMillis == 500)
        let report = scheduler.utilization()
        #expect(pool(report, "edge", "cpu")?.utilization == 1)
        #expect(pool(report, "edge", "memory")?.utilization == 0.9375)
        #expect(report.bottlenecks.contains { $0.resource == "cpu" && $0.severity == .high })
        #expect(report.bottlenecks.contains { $0.resource == "memory" && $0.severity == .medium })
    }

    @Test func elasticTaskGrowsIntoSpareCapacity() throws {
        var scheduler = makeScheduler(policy: PriorityPolicy())
        try scheduler.addNode(cpuNode("edge", cpu: 4, memoryGiB: 8))
        try scheduler.submit(cpuTask("vision", cpu: 2, memoryGiB: 4, priority: 2), now: 0)
        try scheduler.submit(cpuTask("language", cpu: 0.5, memoryGiB: 2, priority: 2, limitCPU: 1), now: 0)
        let actions = scheduler.schedule(now: 0)
        #expect(actions.placement("language")?.first?.cpuMillis == 1000)
        // A new arrival takes the spare CPU back: the elastic task shrinks to its request.
        try scheduler.submit(cpuTask("action", cpu: 1.5, memoryGiB: 1, priority: 3), now: 1)
        let next = scheduler.schedule(now: 1)
        #expect(next.bound == ["action"])
        #expect(next.contains(.resize("language", replica: 0, cpuMillis: 500, memoryBytes: 2 * GiB)))
    }

    @Test func dominantResourceFairnessPaperExample() throws {
        var scheduler = makeScheduler(policy: FairSharePolicy())
        try scheduler.addNode(cpuNode("n1", cpu: 9, memoryGiB: 18))
        for index in 0..<6 { try scheduler.submit(cpuTask("a\(index)", cpu: 1, memoryGiB: 4, tenant: "A"), now: 0) }
        for index in 0..<6 { try scheduler.submit(cpuTask("b\(index)", cpu: 3, memoryGiB: 1, tenant: "B"), now: 0) }
        let actions = scheduler.schedule(now: 0)
        #expect(actions.bound.filter { $0.rawValue.hasPrefix("a") }.count == 3)
        #expect(actions.bound.filter { $0.rawValue.hasPrefix("b") }.count == 2)
    }
}
