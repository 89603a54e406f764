import Testing

@testable import AllotCore

struct PreemptionTests {
    func running(
        _ scheduler: inout Scheduler,
        _ id: String,
        gpus: [Int],
        node: String = "n1",
        priority: Int = 0,
        preemptible: Bool = true
    ) throws {
        let spec = TaskSpec(id: TaskID(id), priority: priority, requests: ResourceRequest(gpus: gpus.count), preemptible: preemptible)
        try scheduler.restore(spec, replicas: [(node: NodeID(node), gpuIndices: gpus)], now: 0)
    }

    @Test func aCriticalTaskEvictsTheFewestPreemptibleTasks() throws {
        var scheduler = makeScheduler(policy: PriorityPolicy())
        try scheduler.addNode(gpuNode("n1", [80, 80, 80, 80]))
        try running(&scheduler, "small1", gpus: [0])
        try running(&scheduler, "small2", gpus: [1])
        try running(&scheduler, "pair", gpus: [2, 3])
        var urgent = TaskSpec(id: "urgent", slaClass: .critical, requests: ResourceRequest(gpus: 2))
        urgent.priority = 0
        try scheduler.submit(urgent, now: 1)
        let actions = scheduler.schedule(now: 1)
        #expect(actions.first == .preempt("pair", by: "urgent"))
        #expect(actions.bound == ["urgent"])
        #expect(scheduler.phase(of: "pair") == .pending)
        #expect(scheduler.pendingReason("pair") == "preempted by higher-priority work; waits for the next cycle")
    }

    @Test func nonPreemptibleAndEqualPriorityWorkIsNeverEvicted() throws {
        var scheduler = makeScheduler(policy: PriorityPolicy())
        try scheduler.addNode(gpuNode("n1", [80, 80]))
        try running(&scheduler, "pinned", gpus: [0], priority: 0, preemptible: false)
        try running(&scheduler, "peer", gpus: [1], priority: 5, preemptible: true)
        try scheduler.submit(TaskSpec(id: "same", priority: 5, requests: ResourceRequest(gpus: 1)), now: 1)
        let actions = scheduler.schedule(now: 1)
        #expect(actions.isEmpty)
        #expect(scheduler.phase(of: "pinned") == .running)
        #expect(scheduler.phase(of: "peer") == .running)
    }

    @Test func victimsAreRequeuedAndRunAgainWhenRoomReturns() throws {
        var scheduler = makeScheduler(policy: PriorityPolicy())
        try scheduler.addNode(gpuNode("n1", [80]))
        try scheduler.submit(TaskSpec(id: "low", priority: 1, requests: ResourceRequest(gpus: 1), preemptible: true), now: 0)
        #expect(scheduler.schedule(now: 0).bound == ["low"])
        try scheduler.submit(TaskSpec(id: "high", priority: 9, requests: ResourceRequest(gpus: 1)), now: 1)
        let actions = scheduler.schedule(now: 1)
        #expect(
            actions == [.preempt("low", by: "high")] + [.bind("high", [ReplicaPlacement(node: "n1", gpuIndices: [0], cpuMillis: 0, memoryBytes: 0)])]
        )
        #expect(scheduler.schedule(now: 2).isEmpty)
        try scheduler.finish("high")
        #expect(scheduler.schedule(now: 3).bound == ["low"])
    }

    @Test func aGangVictimIsEvictedWhole() throws {
        var scheduler = makeScheduler(policy: PriorityPolicy())
        try scheduler.addNode(gpuNode("n1", [80]))
        try scheduler.addNode(gpuNode("n2", [80]))
        let gang = TaskSpec(id: "gang", priority: 1, requests: ResourceRequest(gpus: 1), gang: 2, preemptible: true)
        try scheduler.submit(gang, now: 0)
        #expect(scheduler.schedule(now: 0).bound == ["gang"])
        try scheduler.submit(TaskSpec(id: "high", priority: 5, requests: ResourceRequest(gpus: 1)), now: 1)
        let actions = scheduler.schedule(now: 1)
        #expect(actions.contains(.preempt("gang", by: "high")))
        #expect(scheduler.placements(of: "gang") == nil)
        // One GPU stays free: the whole gang went, not half of it.
        #expect(scheduler.utilization().pools.filter { $0.used == 0 }.count == 1)
    }

    /// Evicting the last shares of a device frees it whole: a task that needs whole devices may take a device
    /// that only shares hold, and of two such devices the one with fewer shares.
    @Test func aWholeDeviceTaskEvictsTheSharesThatHoldADevice() throws {
        var scheduler = makeScheduler(policy: PriorityPolicy())
        try scheduler.addNode(gpuNode("n1", [80, 80]))
        for (id, gib) in [("a", 40), ("b", 40), ("c", 60)] {
            var task = shareTask(id, Int64(gib))
            task.preemptible = true
            try scheduler.submit(task, now: 0)
        }
        #expect(Set(scheduler.schedule(now: 0).bound) == ["a", "b", "c"])
        try scheduler.submit(TaskSpec(id: "whole", priority: 5, requests: ResourceRequest(gpus: 1)), now: 1)
        let actions = scheduler.schedule(now: 1)
        #expect(actions.first == .preempt("c", by: "whole"))
        #expect(actions.bound == ["whole"])
        try scheduler.submit(TaskSpec(id: "second", priority: 5, requests: ResourceRequest(gpus: 1)), now: 2)
        let more = scheduler.schedule(now: 2)
        #expect(more.filter { if case .preempt = $0 { return true } else { return false } }.count == 2)
        #expect(more.bound == ["second"])
    }

    @Test func preemptionCanBeTurnedOff() throws {
        var scheduler = makeScheduler(policy: PriorityPolicy(), preemption: false)
        try scheduler.addNode(gpuNode("n1", [80]))
        try running(&scheduler, "low", gpus: [0])
        try scheduler.submit(TaskSpec(id: "high", priority: 9, requests: ResourceRequest(gpus: 1)), now: 1)
        #expect(scheduler.schedule(now: 1).isEmpty)
    }
}
