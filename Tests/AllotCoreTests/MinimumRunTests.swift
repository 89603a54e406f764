import Testing

@testable import AllotCore

/// ``SchedulerConfiguration/minimumRunSeconds``: no cycle evicts a task before it has run that long since its
/// last start, and a cycle runs again when that time comes.
struct MinimumRunTests {
    func scheduler(_ policy: any QueuePolicy, minimumRun: Double, gpus: Int = 1) -> Scheduler {
        var scheduler = try! Scheduler(
            configuration: SchedulerConfiguration(strategy: FirstFit(), policy: policy, headroom: 0, minimumRunSeconds: minimumRun)
        )
        try! scheduler.addNode(gpuNode("n1", Array(repeating: 80, count: gpus)))
        return scheduler
    }

    func task(_ id: String, priority: Int = 0, gpus: Int = 1) -> TaskSpec {
        TaskSpec(id: TaskID(id), priority: priority, requests: ResourceRequest(gpus: gpus), preemptible: true)
    }

    /// Passing over a task that cannot start is remembered across cycles until what it may evict changes: the
    /// end of a minimum run is such a change.
    @Test(arguments: [QueueBlocking.wholeQueue, .passOver])
    func aTaskWithinItsMinimumRunIsNotPreempted(_ blocking: QueueBlocking) throws {
        var scheduler = scheduler(PriorityPolicy(blocking: blocking), minimumRun: 100)
        try scheduler.submit(task("low"), now: 0)
        #expect(scheduler.schedule(now: 0).bound == ["low"])
        try scheduler.submit(task("high", priority: 5), now: 10)
        #expect(scheduler.schedule(now: 10).isEmpty)
        #expect(scheduler.nextWakeup() == 100, "a cycle is due when low's minimum run ends")
        #expect(scheduler.schedule(now: 50).isEmpty)
        let actions = scheduler.schedule(now: 100)
        #expect(actions.first == .preempt("low", by: "high"))
        #expect(actions.bound == ["high"])
    }

    @Test func theMinimumRunStartsAgainAtEachStart() throws {
        var scheduler = scheduler(PriorityPolicy(), minimumRun: 100)
        try scheduler.submit(task("low"), now: 0)
        _ = scheduler.schedule(now: 0)
        try scheduler.submit(task("high", priority: 5), now: 200)
        #expect(scheduler.schedule(now: 200).first == .preempt("low", by: "high"), "low ran 200 s, past its minimum")
        try scheduler.finish("high", now: 250)
        #expect(scheduler.schedule(now: 250).bound == ["low"])
        try scheduler.submit(task("urgent", priority: 9), now: 260)
        #expect(scheduler.schedule(now: 260).isEmpty)
        #expect(scheduler.nextWakeup() == 350)
        #expect(scheduler.schedule(now: 350).first == .preempt("low", by: "urgent"))
    }

    @Test func withoutAMinimumRunTheSameTaskIsPreemptedAtOnce() throws {
        var scheduler = scheduler(PriorityPolicy(), minimumRun: 0)
        try scheduler.submit(task("low"), now: 0)
        _ = scheduler.schedule(now: 0)
        try scheduler.submit(task("high", priority: 5), now: 10)
        #expect(scheduler.schedule(now: 10).first == .preempt("low", by: "high"))
    }

    @Test func aNegativeOrEndlessMinimumIsRefused() {
        for value in [-1, Double.infinity, Double.nan] {
            #expect(throws: QuantityError.self) { try SchedulerConfiguration(minimumRunSeconds: value).validate() }
        }
    }

    /// Replays tasks on a virtual clock as the simulator does, each preemption losing `lost` seconds of the
    /// victim's work; gives up after `steps` events.
    func replay(
        _ scheduler: inout Scheduler,
        _ tasks: [(id: String, arrival: Double, seconds: Double, gpus: Int)],
        lost: Double,
        steps: Int
    )
        -> (finished: Int, preemptions: Int)
    {
        var remaining = Dictionary(uniqueKeysWithValues: tasks.map { ($0.id, $0.seconds) })
        var started: [String: Double] = [:]
        var arrivals = tasks.sorted { $0.arrival < $1.arrival }
        var finished = 0
        var preemptions = 0
        var wakeup: Double?
        for _ in 0..<steps {
            let ends = started.map { ($0.value + remaining[$0.key]!, $0.key) }
            let now = min(arrivals.first?.arrival ?? .infinity, ends.map(\.0).min() ?? .infinity, wakeup ?? .infinity)
            guard now.isFinite else { break }
            for (end, id) in ends where end <= now {
                started[id] = nil
                try! scheduler.finish(TaskID(id), now: now)
                finished += 1
            }
            while let next = arrivals.first, next.arrival <= now {
                arrivals.removeFirst()
                try! scheduler.submit(task(next.id, gpus: next.gpus), now: now)
            }
            for action in scheduler.schedule(now: now) {
                switch action {
                case .preempt(let id, _):
                    remaining[id.rawValue]! += lost - (now - started[id.rawValue]!)
                    started[id.rawValue] = nil
                    preemptions += 1
                case .bind(let id, _):
                    started[id.rawValue] = now
                default:
                    break
                }
            }
            wakeup = scheduler.nextWakeup()
        }
        return (finished, preemptions)
    }

    /// Three equal tasks on one node under least attained service with a starvation guard of 1: a promoted task
    /// evicts a running one, which has run too little since its own promotion to wait long, and is promoted in
    /// turn. When each run is shorter than the work a preemption loses, none ever ends. A minimum run of twice
    /// the loss lets every run gain ground.
    @Test func aMinimumRunLongerThanWhatAPreemptionLosesEndsTheStarvationGuardsThrash() throws {
        let levels = try AttainedServiceLevels(thresholds: [60, 120, 240, 480, 960])
        let tasks = [("a", 0.0, 1000.0, 4), ("b", 1.0, 1000.0, 4), ("c", 2.0, 1000.0, 4)].map { (id: $0.0, arrival: $0.1, seconds: $0.2, gpus: $0.3) }
        var thrashing = scheduler(LeastAttainedServicePolicy(levels: levels, starvationFactor: 1), minimumRun: 0, gpus: 4)
        let without = replay(&thrashing, tasks, lost: 30, steps: 20_000)
        #expect(without.finished == 0, "without a minimum run the three evict each other without end")
        var steady = scheduler(LeastAttainedServicePolicy(levels: levels, starvationFactor: 1), minimumRun: 60, gpus: 4)
        let with = replay(&steady, tasks, lost: 30, steps: 20_000)
        #expect(with.finished == 3)
        #expect(with.preemptions < 100)
    }
}
