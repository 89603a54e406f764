/// What happened to one job in a replay.
public struct JobOutcome: Sendable, Equatable {
    /// The job's position in the trace.
    public var index: Int
    public var submit: Double
    public var duration: Double
    public var gpus: Int
    public var tenant: String
    public var firstStart: Double
    public var finish: Double
    /// Seconds it held its resources, lost work included.
    public var runTime: Double
    public var preemptions: Int

    /// Job completion time: finish − submit.
    public var completionTime: Double { finish - submit }
    /// Time spent waiting, before the first start and after each preemption.
    public var queueingDelay: Double { completionTime - runTime }
}

/// The cluster over time, sampled after every scheduling cycle.
public struct Timeline: Sendable, Equatable {
    public var times: [Double] = []
    public var busyGPUs: [Int] = []
    public var queuedJobs: [Int] = []
    /// GPUs per tenant, changed at `tenantChanges[i].time` by `delta`.
    public var tenantChanges: [(time: Double, tenant: Int, delta: Int)] = []

    public static func == (lhs: Timeline, rhs: Timeline) -> Bool {
        lhs.times == rhs.times && lhs.busyGPUs == rhs.busyGPUs && lhs.queuedJobs == rhs.queuedJobs
            && lhs.tenantChanges.elementsEqual(rhs.tenantChanges) { $0.time == $1.time && $0.tenant == $1.tenant && $0.delta == $1.delta }
    }
}

/// The result of replaying one trace under one policy.
public struct SimulationRun: Sendable, Equatable {
    public var policy: SimulationPolicy
    public var totalGPUs: Int
    /// Finished jobs, in trace order.
    public var jobs: [JobOutcome]
    /// Jobs the scheduler refused (they cannot fit on the cluster), with its reason.
    public var rejected: [(id: String, reason: String)]
    /// Jobs still queued when nothing else could happen (should be none).
    public var unfinished: Int
    /// The tenants, in first-seen order (``Timeline/tenantChanges`` index into it).
    public var tenants: [String]
    public var timeline: Timeline
    /// Busy GPU-seconds (held by running jobs, lost work included).
    public var busyGPUSeconds: Double
    /// Scheduling cycles run.
    public var cycles: Int

    public static func == (lhs: SimulationRun, rhs: SimulationRun) -> Bool {
        lhs.policy == rhs.policy && lhs.totalGPUs == rhs.totalGPUs && lhs.jobs == rhs.jobs
            && lhs.rejected.elementsEqual(rhs.rejected) { $0.id == $1.id && $0.reason == $1.reason } && lhs.unfinished == rhs.unfinished
            && lhs.tenants == rhs.tenants && lhs.timeline == rhs.timeline && lhs.busyGPUSeconds == rhs.busyGPUSeconds && lhs.cycles == rhs.cycles
    }
}
