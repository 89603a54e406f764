import Testing

@testable import AllotCore

/// Backfill's reservation kept from one cycle to the next: the decisions are those of one worked out afresh.
struct BackfillReservationTests {
    func task(_ id: String, cpu: Double, priority: Int, estimate: Double? = nil) -> TaskSpec {
        var spec = cpuTask(id, cpu: cpu, memoryGiB: 0, priority: priority)
        spec.estimateSeconds = estimate
        return spec
    }

    /// Two 8-core nodes, each with 6 cores taken by a task of unknown length; the head B wants a whole node.
    func blockedHead() throws -> Scheduler {
        var scheduler = makeScheduler(policy: PriorityPolicy(), backfill: true)
        try scheduler.addNode(cpuNode("n1", cpu: 8, memoryGiB: 0))
        try scheduler.addNode(cpuNode("n2", cpu: 8, memoryGiB: 0))
        try scheduler.restore(task("A", cpu: 6, priority: 0), replicas: [(node: "n1", gpuIndices: [])], now: 0)
        try scheduler.restore(task("X", cpu: 6, priority: 0), replicas: [(node: "n2", gpuIndices: [])], now: 0)
        try scheduler.submit(task("B", cpu: 8, priority: 2), now: 0)
        return scheduler
    }

    @Test func aReservationOnTasksOfUnknownLengthIsKeptWhileTasksOnlyStartAndStillHoldsTheHeadsPlace() throws {
        var scheduler = try blockedHead()
        try scheduler.submit(task("C", cpu: 1, priority: 1), now: 0)
        #expect(scheduler.schedule(now: 0).bound == ["C"])
        let worked = try #require(scheduler.reservationCache)

        // Only C started since: the next cycle takes the same reservation.
        try scheduler.submit(task("D", cpu: 1, priority: 1), now: 1)
        try scheduler.submit(task("E", cpu: 1, priority: 1), now: 1)
        var fresh = scheduler
        fresh.reservationCache = nil
        let actions = scheduler.schedule(now: 1)
        #expect(scheduler.reservationCache?.clusterVersion == worked.clusterVersion)
        // D fills n1; E on n2 would leave B room on neither node once C, D and E run for good.
        #expect(actions.bound == ["D"])
        #expect(scheduler.pendingReason("E")?.contains("would delay the reservation of B") == true)
        #expect(fresh.schedule(now: 1) == actions)
    }

    @Test func anEndWorksTheReservationOutAgainWhenARunningTaskHasAnExpectedEnd() throws {
        var scheduler = makeScheduler(policy: PriorityPolicy(), backfill: true)
        try scheduler.addNode(cpuNode("n1", cpu: 8, memoryGiB: 0))
        try scheduler.restore(task("A", cpu: 4, priority: 0), replicas: [(node: "n1", gpuIndices: [])], now: 0)
        try scheduler.restore(task("K", cpu: 2, priority: 0), replicas: [(node: "n1", gpuIndices: [])], now: 0, remainingSeconds: 100)
        try scheduler.submit(task("B", cpu: 8, priority: 2), now: 0)
        #expect(scheduler.schedule(now: 0).bound.isEmpty)
        #expect(scheduler.reservationCache?.reservation.shadow == nil)

        // A (unknown length) ends: B now fits when K ends at 100, so a task that ends by then may start.
        try scheduler.finish("A", now: 10)
        try scheduler.submit(task("E", cpu: 2, priority: 1, estimate: 50), now: 10)
        try scheduler.submit(task("F", cpu: 2, priority: 1, estimate: 500), now: 10)
        let actions = scheduler.schedule(now: 10)
        #expect(actions.bound == ["E"])
        #expect(scheduler.reservationCache?.reservation.shadow == 100)
        #expect(scheduler.pendingReason("F")?.contains("would delay the reservation of B") == true)
    }

    @Test func aTaskOnNodesTheHeadsPlanDoesNotUseIsAdmittedAndOneThatTakesItsLastPlaceIsNot() throws {
        var scheduler = try blockedHead()
        // C lands on n1, where the head's plan is: the plan moves to n2. D then fills n1 and E takes n2.
        for id in ["C", "D", "E"] { try scheduler.submit(task(id, cpu: 1, priority: 1), now: 0) }
        let actions = scheduler.schedule(now: 0)
        #expect(actions.bound == ["C", "D"])
        #expect(scheduler.pendingReason("E")?.contains("would delay the reservation of B") == true)
    }
}
