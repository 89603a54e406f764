import AllotCore
import Foundation
import HeapModule

/// Replays a trace through the scheduler over a virtual clock: arrivals are submitted, each scheduling cycle's
/// binds start jobs and its preemptions stop them, and a job finishes when it has run for its duration (plus
/// the work lost to each preemption). The scheduler is the one the server drives; this loop only keeps time.
public struct Simulator {
    public let trace: Trace
    public let setup: SimulationSetup

    public init(trace: Trace, setup: SimulationSetup) {
        self.trace = trace
        self.setup = setup
    }

    /// Runs the replay. `progress` is called now and then with the fraction of jobs done.
    public func run(_ policy: SimulationPolicy, progress: ((Double) -> Void)? = nil) throws(SchedulerError) -> SimulationRun {
        var replay = try Replay(trace: trace, setup: setup, policy: policy)
        return replay.run(progress: progress)
    }

    /// The trace's jobs as arrivals without departures until the cluster's GPUs are all asked for
    /// (see ``Inflation``), under the setup's placement strategy.
    public func inflation() throws(SchedulerError) -> InflationRun {
        let widest = setup.nodes.map(\.gpus.count).max() ?? 0
        let tasks = trace.jobs.enumerated().map { Self.taskSpec($1, index: $0, widest: widest, estimate: nil, policy: .fifo) }
        return try Inflation.run(tasks, nodes: setup.nodes, strategy: setup.strategy)
    }

    /// The runtime estimates backfill uses: the trace's, or the true duration times seeded noise.
    public func estimates() -> [Double] {
        var generator = SplitMix64(seed: setup.seed)
        let spread = log(1 + max(setup.estimateError, 0))
        return trace.jobs.map { job in
            let draw = Double(generator.next() >> 11) / Double(1 << 53)
            if let estimate = job.estimate { return estimate }
            return spread > 0 ? job.duration * exp((2 * draw - 1) * spread) : job.duration
        }
    }
}

extension Simulator {
    /// A job as a task: one replica when it fits a node, else a gang of equal replicas no wider than a node.
    static func taskSpec(_ job: TraceJob, index: Int, widest: Int, estimate: Double?, policy: SimulationPolicy) -> TaskSpec {
        var replicas = 1
        if job.gpus > widest, widest > 0 {
            replicas = (job.gpus + widest - 1) / widest
            while job.gpus % replicas != 0 && replicas < job.gpus { replicas += 1 }
        }
        let perReplicaGPUs = (job.gpus + replicas - 1) / replicas
        let divisor = Int64(replicas)
        let priority = policy == .priority ? job.priority : 0
        return TaskSpec(
            id: TaskID(String(index)),
            tenant: TenantID(job.tenant),
            priority: priority,
            requests: ResourceRequest(
                resources: ResourceVector(
                    cpuMillis: (job.cpuMillis + divisor - 1) / divisor,
                    memoryBytes: (job.memoryBytes + divisor - 1) / divisor
                ),
                gpus: job.gpuMemoryBytes != nil ? max(perReplicaGPUs, 1) : perReplicaGPUs,
                gpuModel: job.gpuModel,
                gpuMemoryBytes: job.gpuMemoryBytes
            ),
            gang: replicas,
            preemptible: true,
            estimateSeconds: estimate
        )
    }
}

private enum EventKind: Int, Comparable {
    case completion = 0
    /// The scheduler asked for a cycle then (a job dropping a level, a starving one promoted).
    case wakeup = 1
    static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

private struct Event: Comparable {
    var time: Double
    var kind: EventKind
    var job: Int
    var version: Int
    static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.time, lhs.kind, lhs.job, lhs.version) < (rhs.time, rhs.kind, rhs.job, rhs.version)
    }
}

/// The mutable state of one replay.
private struct Replay {
    let jobs: [TraceJob]
    let policy: SimulationPolicy
    let setup: SimulationSetup
    var scheduler: Scheduler
    var specs: [TaskSpec]
    var remaining: [Double]
    var runStart: [Double?]
    var version: [Int]
    var firstStart: [Double?]
    var runTime: [Double]
    var preemptions: [Int]
    var finish: [Double?]
    var tenantIndex: [Int]
    var tenants: [String] = []
    var events = Heap<Event>()
    var runningJobs = Set<Int>()
    var timeline = Timeline()
    var busyGPUs = 0
    var busyGPUSeconds = 0.0
    var lastTime = 0.0
    var arrived = 0
    var finished = 0
    var rejected: [(id: String, reason: String)] = []
    var rejectedCount = 0
    var cycles = 0
    var wakeups = Set<Double>()

    init(trace: Trace, setup: SimulationSetup, policy: SimulationPolicy) throws(SchedulerError) {
        jobs = trace.jobs
        self.policy = policy
        self.setup = setup
        do {
            scheduler = try Scheduler(configuration: policy.configuration(setup))
        } catch {
            throw SchedulerError(.invalidTask, error.description)
        }
        for node in setup.nodes { try scheduler.addNode(node) }
        let widest = setup.nodes.map(\.gpus.count).max() ?? 0
        let estimates = Simulator(trace: trace, setup: setup).estimates()
        var tenantSlots: [String: Int] = [:]
        var tenantIndex: [Int] = []
        specs = []
        specs.reserveCapacity(jobs.count)
        for (index, job) in jobs.enumerated() {
            specs.append(
                Simulator.taskSpec(job, index: index, widest: widest, estimate: policy.usesDurations ? estimates[index] : nil, policy: policy)
            )
            if let slot = tenantSlots[job.tenant] {
                tenantIndex.append(slot)
            } else {
                tenantSlots[job.tenant] = tenants.count
                tenantIndex.append(tenants.count)
                tenants.append(job.tenant)
            }
        }
        self.tenantIndex = tenantIndex
        remaining = jobs.map(\.duration)
        runStart = Array(repeating: nil, count: jobs.count)
        version = Array(repeating: 0, count: jobs.count)
        firstStart = Array(repeating: nil, count: jobs.count)
        runTime = Array(repeating: 0, count: jobs.count)
        preemptions = Array(repeating: 0, count: jobs.count)
        finish = Array(repeating: nil, count: jobs.count)
    }

    mutating func run(progress: ((Double) -> Void)?) -> SimulationRun {
        var nextArrival = 0
        var lastReported = 0
        while nextArrival < jobs.count || !events.isEmpty {
            let now = min(nextArrival < jobs.count ? jobs[nextArrival].submit : .infinity, events.min?.time ?? .infinity)
            advance(to: now)
            while let event = events.min, event.time <= now {
                events.removeMin()
                if event.kind == .wakeup {
                    wakeups.remove(event.time)
                    continue
                }
                guard event.version == version[event.job], runStart[event.job] != nil else { continue }
                complete(event.job, now: now)
            }
            while nextArrival < jobs.count, jobs[nextArrival].submit <= now {
                submit(nextArrival, now: now)
                nextArrival += 1
            }
            cycle(now: now)
            if let progress, finished - lastReported >= 1000 {
                lastReported = finished
                progress(Double(finished + rejectedCount) / Double(max(jobs.count, 1)))
            }
        }
        progress?(1)
        return SimulationRun(
            policy: policy,
            totalGPUs: setup.totalGPUs,
            jobs: jobs.indices.compactMap { index in
                guard let end = finish[index], let start = firstStart[index] else { return nil }
                let job = jobs[index]
                return JobOutcome(
                    index: index,
                    submit: job.submit,
                    duration: job.duration,
                    gpus: job.gpus,
                    tenant: job.tenant,
                    firstStart: start,
                    finish: end,
                    runTime: runTime[index],
                    preemptions: preemptions[index]
                )
            },
            rejected: rejected,
            unfinished: arrived - finished - rejectedCount,
            tenants: tenants,
            timeline: timeline,
            busyGPUSeconds: busyGPUSeconds,
            cycles: cycles
        )
    }

    mutating func advance(to now: Double) {
        busyGPUSeconds += Double(busyGPUs) * (now - lastTime)
        lastTime = now
    }

    mutating func submit(_ job: Int, now: Double) {
        arrived += 1
        do {
            try scheduler.submit(specs[job], now: now)
        } catch {
            rejectedCount += 1
            if rejected.count < 100 { rejected.append((jobs[job].id, error.message)) }
        }
    }

    mutating func complete(_ job: Int, now: Double) {
        stopClock(job, now: now)
        remaining[job] = 0
        finish[job] = now
        finished += 1
        try! scheduler.finish(specs[job].id, now: now)
    }

    /// Banks the time a running job has run since `runStart` and stops its clock.
    mutating func stopClock(_ job: Int, now: Double) {
        guard let start = runStart[job] else { return }
        let ran = now - start
        remaining[job] = max(0, remaining[job] - ran)
        runTime[job] += ran
        version[job] += 1
        runStart[job] = nil
        runningJobs.remove(job)
        busyGPUs -= jobs[job].gpus
        timeline.tenantChanges.append((now, tenantIndex[job], -jobs[job].gpus))
    }

    mutating func start(_ job: Int, now: Double) {
        runStart[job] = now
        if firstStart[job] == nil { firstStart[job] = now }
        runningJobs.insert(job)
        busyGPUs += jobs[job].gpus
        timeline.tenantChanges.append((now, tenantIndex[job], jobs[job].gpus))
        schedule(job, now: now)
    }

    /// Queues the job's completion.
    mutating func schedule(_ job: Int, now: Double) {
        events.insert(Event(time: now + remaining[job], kind: .completion, job: job, version: version[job]))
    }

    mutating func cycle(now: Double) {
        cycles += 1
        for action in scheduler.schedule(now: now) {
            switch action {
            case .bind(let id, _):
                start(Int(id.rawValue)!, now: now)
            case .preempt(let id, _):
                let job = Int(id.rawValue)!
                stopClock(job, now: now)
                preemptions[job] += 1
                remaining[job] += setup.preemptionCost
            case .requeue, .resize:
                break
            }
        }
        if let wakeup = scheduler.nextWakeup(), wakeup > now, wakeups.insert(wakeup).inserted {
            events.insert(Event(time: wakeup, kind: .wakeup, job: 0, version: 0))
        }
        timeline.times.append(now)
        timeline.busyGPUs.append(busyGPUs)
        timeline.queuedJobs.append(arrived - finished - rejectedCount - runningJobs.count)
    }
}
