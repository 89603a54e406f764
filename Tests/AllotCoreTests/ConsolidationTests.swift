import Testing

@testable import AllotCore

struct ConsolidationTests {
    /// Eight 8-GPU nodes, each running two or three single-GPU preemptible jobs on scattered GPUs: 42 GPUs free,
    /// but no node has eight.
    func fragmented(
        jobsPerNode: [Int] = [3, 2, 3, 3, 2, 3, 3, 3],
        preemptible: (Int) -> Bool = { _ in true },
        defragmentation: Bool = false,
        minimumRunSeconds: Double = 0
    ) throws -> Scheduler {
        var scheduler = makeScheduler(
            strategy: BestFit(),
            policy: PriorityPolicy(),
            minimumRunSeconds: minimumRunSeconds,
            defragmentation: defragmentation
        )
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

    // MARK: - Defragmentation in the cycle

    @Test func withDefragmentationTheCycleMakesTheMovesAPlanWouldAndStartsTheGang() throws {
        var scheduler = try fragmented(defragmentation: true)
        try scheduler.submit(TaskSpec(id: "gang", requests: ResourceRequest(gpus: 8)), now: 1)
        let plan = try #require(scheduler.consolidationPlan(for: "gang"))
        let actions = scheduler.schedule(now: 1)
        // The two jobs of n2 are stopped first, for the gang; then the gang and the two start.
        #expect(actions.count == 5)
        #expect(actions.prefix(2) == [.preempt("n2-j0", by: "gang"), .preempt("n2-j1", by: "gang")])
        #expect(actions.placement("gang") == plan.targetPlacements)
        for move in plan.moves { #expect(actions.placement(move.task) == move.to) }
        #expect(scheduler.runningTasks.count == 23)
        #expect(scheduler.pendingTasks.isEmpty)
        #expect(freeGPUs(scheduler) == 64 - 22 - 8)
        #expect(scheduler.tasks[scheduler.taskSlots["n2-j0"]!]!.preemptions == 1)
        #expect(scheduler.schedule(now: 2).isEmpty)
    }

    @Test func withoutDefragmentationOrWithTooFewFreeGPUsNothingMoves() throws {
        var off = try fragmented()
        try off.submit(TaskSpec(id: "gang", requests: ResourceRequest(gpus: 8)), now: 1)
        #expect(off.schedule(now: 1).isEmpty)

        // Six whole nodes need 48 GPUs; 42 are free.
        var short = try fragmented(defragmentation: true)
        try short.submit(TaskSpec(id: "huge", requests: ResourceRequest(gpus: 8), gang: 6), now: 1)
        #expect(short.schedule(now: 1).isEmpty)
        #expect(short.runningTasks.count == 22)
    }

    @Test func defragmentationMovesNoHigherPriorityWorkNorWorkWithinItsMinimumRun() throws {
        var low = try fragmented(defragmentation: true)
        try low.submit(TaskSpec(id: "low", priority: -1, requests: ResourceRequest(gpus: 8)), now: 1)
        #expect(low.schedule(now: 1).isEmpty)

        var young = try fragmented(defragmentation: true, minimumRunSeconds: 100)
        try young.submit(TaskSpec(id: "gang", requests: ResourceRequest(gpus: 8)), now: 1)
        #expect(young.schedule(now: 1).isEmpty)
        // Past the minimum run, the same moves are made.
        let actions = young.schedule(now: 101)
        #expect(actions.prefix(2) == [.preempt("n2-j0", by: "gang"), .preempt("n2-j1", by: "gang")])
        #expect(young.phase(of: "gang") == .running)
    }

    @Test func defragmentationNeedsPreemption() {
        let configuration = SchedulerConfiguration(preemption: false, defragmentation: true)
        #expect(throws: QuantityError.self) { try configuration.validate() }
    }

    @Test func aTaskPassedOverIsTriedAgainWhenWorkItMayMovePassesItsMinimumRun() throws {
        // Under a pass-over order a task that found no room is not tried again until something changes; work
        // of its own priority that may now move is such a change. Without estimates, every task here has the
        // same priority under srtf.
        var scheduler = makeScheduler(strategy: BestFit(), policy: ShortestRemainingTimePolicy(), minimumRunSeconds: 100, defragmentation: true)
        try scheduler.addNode(gpuNode("n1", [80, 80]))
        try scheduler.addNode(gpuNode("n2", [80, 80]))
        for (id, node) in [("a", "n1"), ("b", "n2")] {
            let spec = TaskSpec(id: TaskID(id), requests: ResourceRequest(gpus: 1), preemptible: true)
            try scheduler.restore(spec, replicas: [(node: NodeID(node), gpuIndices: [0])], now: 0)
        }
        try scheduler.submit(TaskSpec(id: "pair", requests: ResourceRequest(gpus: 2)), now: 1)
        #expect(scheduler.schedule(now: 1).isEmpty)
        #expect(scheduler.schedule(now: 50).isEmpty)
        let actions = scheduler.schedule(now: 101)
        #expect(actions.count == 3)
        #expect(actions.first == .preempt("a", by: "pair"))
        #expect(actions.placement("pair")?.map(\.node) == ["n1"])
        #expect(actions.placement("a") == [ReplicaPlacement(node: "n2", gpuIndices: [1], cpuMillis: 0, memoryBytes: 0)])
    }
}
