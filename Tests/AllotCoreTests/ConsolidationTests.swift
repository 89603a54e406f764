import Testing

@testable import AllotCore

struct ConsolidationTests {
    /// Eight 8-GPU nodes, each running two or three single-GPU preemptible jobs on scattered GPUs: 42 GPUs free,
    /// but no node has eight.
    func fragmented(jobsPerNode: [Int] = [3, 2, 3, 3, 2, 3, 3, 3], preemptible: (Int) -> Bool = { _ in true }) throws -> Scheduler {
        var scheduler = makeScheduler(strategy: BestFit(), policy: PriorityPolicy())
        for node in 1...8 { try scheduler.addNode(gpuNode("n\(node)", Array(repeating: 80, count: 8))) }
        let spots = [1, 4, 6]
        for (node, count) in jobsPerNode.enumerated() {
            for job in 0..<count {
                let spec = TaskSpec(
                    id: TaskID("n\(node + 1)-j\(job)"),
                    requests: ResourceRequest(gpus: 1),
                    preemptible: preemptible(node + 1)
                )
                try scheduler.restore(spec, replicas: [(node: NodeID("n\(node + 1)"), gpuIndices: [spots[job]])], now: 0)
            }
        }
        return scheduler
    }

    func freeGPUs(_ scheduler: Scheduler) -> Int { scheduler.cluster.devices.filter(\.isFree).count }

    @Test func aPlanEmptiesTheNodeWithTheFewestMovesAndApplyingItStartsTheGang() throws {
        var scheduler = try fragmented()
        try scheduler.submit(TaskSpec(id: "gang", requests: ResourceRequest(gpus: 8)), now: 1)
        #expect(scheduler.schedule(now: 1).isEmpty)
        let plan = try #require(scheduler.consolidationPlan(for: "gang"))
        #expect(plan.moves.count == 2)
        #expect(Set(plan.moves.map(\.task)) == ["n2-j0", "n2-j1"])
        #expect(plan.moves.allSatisfy { $0.from.map(\.node) == ["n2"] && $0.to.count == 1 && $0.to[0].node != "n2" })
        #expect(plan.targetPlacements.map(\.node) == ["n2"])
        #expect(plan.targetPlacements[0].gpuIndices.sorted() == Array(0..<8))
        #expect(plan.emptiedNodes == ["n2"])
        // Computing a plan changes nothing.
        #expect(freeGPUs(scheduler) == 64 - 22)
        #expect(scheduler.phase(of: "n2-j0") == .running)

        let actions = try scheduler.apply(plan, now: 2)
        #expect(actions.filter { if case .preempt = $0 { true } else { false } }.count == 2)
        #expect(actions.placement("gang") == plan.targetPlacements)
        for move in plan.moves { #expect(actions.placement(move.task) == move.to) }
        #expect(scheduler.phase(of: "gang") == .running)
        // No job is lost: all 22 run again, and the books balance.
        #expect(scheduler.runningTasks.count == 23)
        #expect(scheduler.pendingTasks.isEmpty)
        #expect(freeGPUs(scheduler) == 64 - 22 - 8)
        #expect(scheduler.schedule(now: 3).isEmpty)
        // The same plan again is out of date.
        #expect(throws: SchedulerError.self) { try scheduler.apply(plan, now: 4) }
    }

    @Test func aGangOfTwoWholeNodesEmptiesTheTwoCheapestNodes() throws {
        var scheduler = try fragmented()
        try scheduler.submit(TaskSpec(id: "pair", requests: ResourceRequest(gpus: 8), gang: 2), now: 1)
        let plan = try #require(scheduler.consolidationPlan(for: "pair"))
        #expect(plan.moves.count == 4)
        #expect(Set(plan.targetPlacements.map(\.node)) == ["n2", "n5"])
        _ = try scheduler.apply(plan, now: 2)
        #expect(scheduler.runningTasks.count == 23)
        #expect(freeGPUs(scheduler) == 64 - 22 - 16)
    }

    @Test func workThatMayNotMoveIsLeftWhereItIs() throws {
        // The two-job nodes run non-preemptible work: the plan moves three jobs from another node instead.
        var scheduler = try fragmented(preemptible: { $0 != 2 && $0 != 5 })
        try scheduler.submit(TaskSpec(id: "gang", requests: ResourceRequest(gpus: 8)), now: 1)
        let plan = try #require(scheduler.consolidationPlan(for: "gang"))
        #expect(plan.moves.count == 3)
        #expect(!plan.moves.contains { $0.task.rawValue.hasPrefix("n2-") || $0.task.rawValue.hasPrefix("n5-") })

        // Higher-priority work is not moved for lower-priority work.
        var guarded = try fragmented(preemptible: { $0 != 2 && $0 != 5 })
        try guarded.submit(TaskSpec(id: "low", priority: -1, requests: ResourceRequest(gpus: 8)), now: 1)
        #expect(guarded.consolidationPlan(for: "low") == nil)
    }

    @Test func noPlanWhenTheTaskFitsOrNothingCanMakeRoom() throws {
        var scheduler = try fragmented()
        try scheduler.submit(TaskSpec(id: "small", requests: ResourceRequest(gpus: 2)), now: 1)
        #expect(scheduler.consolidationPlan(for: "small") == nil)
        try scheduler.submit(TaskSpec(id: "huge", requests: ResourceRequest(gpus: 8), gang: 6), now: 1)
        // Six whole nodes would leave 16 GPUs for 22 jobs: no plan.
        #expect(scheduler.consolidationPlan(for: "huge") == nil)
    }

    @Test func aDrainPlanEmptiesANodeSoItCanBeReleased() throws {
        var scheduler = try fragmented()
        let plan = try #require(scheduler.drainPlan("n5"))
        #expect(plan.target == nil)
        #expect(plan.moves.count == 2)
        #expect(plan.emptiedNodes == ["n5"])
        _ = try scheduler.apply(plan, now: 1)
        #expect(scheduler.runningTasks.count == 22)
        #expect(scheduler.placements(of: "n5-j0")?.first?.node != "n5")
    }
}
