import Testing

@testable import AllotCore

/// Least attained service and shortest remaining time, kept by the scheduler itself from starts, stops and
/// the `now` of each call, with the exact actions they lead to.
struct ServicePolicyTests {
    func gpuTask(_ id: String, gpus: Int = 1, estimate: Double? = nil) -> TaskSpec {
        TaskSpec(id: TaskID(id), requests: ResourceRequest(gpus: gpus), preemptible: true, estimateSeconds: estimate)
    }

    func oneGPU(_ policy: any QueuePolicy) -> Scheduler {
        var scheduler = makeScheduler(policy: policy)
        try! scheduler.addNode(gpuNode("n1", [80]))
        return scheduler
    }

    let levels = try! AttainedServiceLevels(thresholds: [60, 240])

    @Test func aRunningTaskDropsALevelAtItsThresholdAndIsPreemptedByNewWork() throws {
        var scheduler = oneGPU(LeastAttainedServicePolicy(levels: levels))
        try scheduler.submit(gpuTask("a"), now: 0)
        #expect(scheduler.schedule(now: 0).bound == [TaskID("a")])
        #expect(scheduler.nextWakeup() == nil, "nothing waits")
        try scheduler.submit(gpuTask("b"), now: 30)
        // Both at the top level: equal levels never evict each other.
        #expect(scheduler.schedule(now: 30).isEmpty)
        #expect(scheduler.nextWakeup() == 60, "a passes 60 GPU-seconds at 60 s")
        let actions = scheduler.schedule(now: 60)
        #expect(actions.count == 2)
        #expect(actions.first == .preempt(TaskID("a"), by: TaskID("b")))
        #expect(actions.bound == [TaskID("b")])
        #expect(scheduler.attainedService(TaskID("a"), now: 60) == 60)
        // b drops to a's level at 120; neither evicts the other.
        #expect(scheduler.nextWakeup() == 120)
        #expect(scheduler.schedule(now: 120).isEmpty)
        #expect(scheduler.phase(of: TaskID("b")) == .running)
    }

    @Test func theGittinsIndexRanksFirstTheLevelWhereTasksAreNearestTheirEnd() throws {
        var history = ServiceHistory(levels: try AttainedServiceLevels(thresholds: [60, 600]))
        #expect(history.rank == [0, 1, 2], "nothing learned: the ladder's order")
        // Every task takes 100 s: one that has had 60 is 40 from its end, a new one 100 from it.
        let first = history.record(100)
        #expect(first, "one task learnt changes the ranking")
        var changed = false
        for _ in 0..<9 { changed = history.record(100) || changed }
        #expect(!changed)
        #expect(history.rank == [1, 0, 2])
        #expect(abs(history.index(1) - 1.0 / 40) < 1e-12 && abs(history.index(0) - 1.0 / 100) < 1e-12 && history.index(2) == 0)
    }

    @Test func underRankedLevelsAWaitingNewTaskDoesNotEvictOneNearItsEnd() throws {
        let levels = try AttainedServiceLevels(thresholds: [60, 600])
        for ranked in [false, true] {
            var scheduler = oneGPU(LeastAttainedServicePolicy(levels: levels, ranked: ranked))
            // Learnt: a task of 100 s.
            try scheduler.submit(gpuTask("first"), now: 0)
            _ = scheduler.schedule(now: 0)
            try scheduler.finish(TaskID("first"), now: 100)
            try scheduler.submit(gpuTask("a"), now: 100)
            #expect(scheduler.schedule(now: 100).bound == [TaskID("a")])
            try scheduler.submit(gpuTask("b"), now: 170)
            let actions = scheduler.schedule(now: 170)
            if ranked {
                // a, 70 s in, is in the level that ranks first: b waits for it.
                #expect(actions.isEmpty)
                try scheduler.finish(TaskID("a"), now: 200)
                #expect(scheduler.schedule(now: 200).bound == [TaskID("b")])
            } else {
                // Least attained service: b has had less, and takes the GPU.
                #expect(actions.first == .preempt(TaskID("a"), by: TaskID("b")) && actions.bound == [TaskID("b")])
            }
        }
    }

    @Test func attainedServiceCountsGPUs() throws {
        var scheduler = makeScheduler(policy: LeastAttainedServicePolicy(levels: levels))
        try scheduler.addNode(gpuNode("n1", [80, 80, 80, 80]))
        try scheduler.submit(gpuTask("wide", gpus: 4), now: 0)
        _ = scheduler.schedule(now: 0)
        try scheduler.submit(gpuTask("next"), now: 1)
        _ = scheduler.schedule(now: 1)
        // Four GPUs pass 60 GPU-seconds in 15 s.
        #expect(scheduler.nextWakeup() == 15)
        let actions = scheduler.schedule(now: 15)
        #expect(actions.first == .preempt(TaskID("wide"), by: TaskID("next")))
    }

    @Test func theStarvationGuardLiftsAWaitingTaskBackToTheTop() throws {
        var scheduler = oneGPU(LeastAttainedServicePolicy(levels: levels, starvationFactor: 2))
        try scheduler.submit(gpuTask("a"), now: 0)
        _ = scheduler.schedule(now: 0)
        try scheduler.submit(gpuTask("b"), now: 30)
        _ = scheduler.schedule(now: 30)
        #expect(scheduler.schedule(now: 60).bound == [TaskID("b")])
        // a ran 60 s and waits from 60: at 60 + 2 × 60 it returns to the top, above b (a level down since 120).
        #expect(scheduler.nextWakeup() == 120)
        #expect(scheduler.schedule(now: 120).isEmpty)
        #expect(scheduler.nextWakeup() == 180)
        let actions = scheduler.schedule(now: 180)
        #expect(actions.first == .preempt(TaskID("b"), by: TaskID("a")))
        #expect(actions.bound == [TaskID("a")])
    }

    @Test func withoutTheGuardADemotedTaskWaitsForTheOther() throws {
        var scheduler = oneGPU(LeastAttainedServicePolicy(levels: levels))
        try scheduler.submit(gpuTask("a"), now: 0)
        _ = scheduler.schedule(now: 0)
        try scheduler.submit(gpuTask("b"), now: 30)
        _ = scheduler.schedule(now: 30)
        _ = scheduler.schedule(now: 60)
        #expect(scheduler.schedule(now: 120).isEmpty)
        // b drops below a only at 240 GPU-seconds (at 300 s); a, at 60, stays a level above.
        #expect(scheduler.nextWakeup() == 300)
        let actions = scheduler.schedule(now: 300)
        #expect(actions.first == .preempt(TaskID("b"), by: TaskID("a")))
    }

    @Test func shortestRemainingTimePreemptsOnEstimatesLessWhatRan() throws {
        var scheduler = oneGPU(ShortestRemainingTimePolicy())
        try scheduler.submit(gpuTask("a", estimate: 100), now: 0)
        #expect(scheduler.schedule(now: 0).bound == [TaskID("a")])
        // At 50, a has 50 s left: b (30 s) goes first; c (45 s) does not beat b, and waits.
        try scheduler.submit(gpuTask("b", estimate: 30), now: 50)
        try scheduler.submit(gpuTask("c", estimate: 45), now: 50)
        let actions = scheduler.schedule(now: 50)
        #expect(actions.first == .preempt(TaskID("a"), by: TaskID("b")))
        #expect(actions.bound == [TaskID("b")])
        try scheduler.finish(TaskID("b"), now: 80)
        // a has 50 s left, c 45 s.
        #expect(scheduler.schedule(now: 80).bound == [TaskID("c")])
        try scheduler.finish(TaskID("c"), now: 125)
        #expect(scheduler.schedule(now: 125).bound == [TaskID("a")])
    }

    @Test func aTaskWithoutAnEstimateComesLastUnderShortestRemainingTime() throws {
        var scheduler = oneGPU(ShortestRemainingTimePolicy())
        try scheduler.submit(gpuTask("unknown"), now: 0)
        try scheduler.submit(gpuTask("known", estimate: 1e9), now: 1)
        #expect(scheduler.schedule(now: 1).bound == [TaskID("known")])
    }

    /// Counts the decisions of a cycle.
    struct Counter: SchedulingObserver {
        var decisions = 0
        mutating func decisionStarted() { decisions += 1 }
        mutating func decisionFinished(placed: Bool) {}
    }

    @Test(arguments: ["las", "priority", "fair", "srtf"])
    func aDeepQueueOfOneShapeCostsOneCheckPerCycle(policy: String) throws {
        var scheduler = makeScheduler(policy: try QueuePolicies.named(policy))
        try scheduler.addNode(gpuNode("n1", [80, 80]))
        for index in 0..<10_000 { try scheduler.submit(gpuTask("t\(index)"), now: 0) }
        var counter = Counter()
        #expect(scheduler.schedule(now: 0, observer: &counter).bound == [TaskID("t0"), TaskID("t1")])
        #expect(counter.decisions == 3, "two starts and the one that no longer fits")
        counter = Counter()
        _ = scheduler.schedule(now: 1, observer: &counter)
        // Nothing was released: work-conserving orders remember that the shape fits nowhere; strict ones
        // stop at the head.
        let workConserving = policy == "las" || policy == "srtf"
        #expect(counter.decisions == (workConserving ? 0 : 1))
        if workConserving {
            #expect(scheduler.pendingReason(TaskID("t9999"))?.contains("GPUs") == true, "the passed-over tail still says why it waits")
        }
        try scheduler.finish(TaskID("t0"), now: 2)
        counter = Counter()
        #expect(scheduler.schedule(now: 2, observer: &counter).bound == [TaskID("t2")])
        #expect(counter.decisions == 2)
    }

    @Test func aSmallerShapeBehindAFailedOneStillStartsUnderLAS() throws {
        var scheduler = makeScheduler(policy: LeastAttainedServicePolicy())
        try scheduler.addNode(gpuNode("n1", [80, 80]))
        try scheduler.submit(gpuTask("one"), now: 0)
        _ = scheduler.schedule(now: 0)
        for index in 0..<100 { try scheduler.submit(gpuTask("wide\(index)", gpus: 2), now: 1) }
        try scheduler.submit(gpuTask("small"), now: 2)
        var counter = Counter()
        #expect(scheduler.schedule(now: 2, observer: &counter).bound == [TaskID("small")])
        #expect(counter.decisions == 2)
        #expect(scheduler.pendingReason(TaskID("wide99"))?.contains("GPUs") == true)
    }
}
