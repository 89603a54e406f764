/// The figures a replay is judged by.
///
/// - JCT (job completion time) = finish − submit; percentiles by nearest rank.
/// - Queueing delay = JCT − the time the job held its resources (waits after preemptions included).
/// - Makespan = the last finish, counted from the first submission (time 0).
/// - GPU utilization = busy GPU-seconds / (GPUs × makespan); lost work counts as busy.
/// - Jain's index over tenants of each tenant's mean of duration / JCT (1 when every tenant's jobs are
///   slowed alike, 1/n when one tenant gets all the service).
/// - Bounds: makespan ≥ max(total GPU-seconds / GPUs, max over jobs of submit + duration); mean JCT ≥ mean duration.
public struct SimulationMetrics: Sendable, Equatable, Codable {
    public var policy: String
    public var jobs: Int
    public var rejected: Int
    public var unfinished: Int
    public var averageJCT: Double
    public var p50JCT: Double
    public var p95JCT: Double
    public var p99JCT: Double
    public var averageQueueingDelay: Double
    public var makespan: Double
    public var gpuUtilization: Double
    public var preemptions: Int
    public var jainFairness: Double
    public var makespanBound: Double
    public var averageJCTBound: Double

    public init(_ run: SimulationRun) {
        policy = run.policy.rawValue
        jobs = run.jobs.count
        rejected = run.rejected.count
        unfinished = run.unfinished
        let completion = run.jobs.map(\.completionTime).sorted()
        averageJCT = Self.mean(completion)
        p50JCT = Self.percentile(completion, 0.50)
        p95JCT = Self.percentile(completion, 0.95)
        p99JCT = Self.percentile(completion, 0.99)
        averageQueueingDelay = Self.mean(run.jobs.map(\.queueingDelay))
        makespan = run.jobs.map(\.finish).max() ?? 0
        gpuUtilization = run.totalGPUs > 0 && makespan > 0 ? run.busyGPUSeconds / (Double(run.totalGPUs) * makespan) : 0
        preemptions = run.jobs.reduce(0) { $0 + $1.preemptions }
        var rates: [String: (sum: Double, count: Int)] = [:]
        for job in run.jobs {
            let rate = job.completionTime > 0 ? min(job.duration / job.completionTime, 1) : 1
            rates[job.tenant, default: (0, 0)].sum += rate
            rates[job.tenant, default: (0, 0)].count += 1
        }
        jainFairness = Self.jain(rates.sorted { $0.key < $1.key }.map { $0.value.sum / Double($0.value.count) })
        let gpuSeconds = run.jobs.reduce(0) { $0 + Double($1.gpus) * $1.duration }
        let latest = run.jobs.map { $0.submit + $0.duration }.max() ?? 0
        makespanBound = max(run.totalGPUs > 0 ? gpuSeconds / Double(run.totalGPUs) : 0, latest)
        averageJCTBound = Self.mean(run.jobs.map(\.duration))
    }

    static func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }

    /// Nearest-rank percentile of sorted values.
    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// Jain's fairness index: (Σx)² / (n · Σx²).
    static func jain(_ values: [Double]) -> Double {
        let squares = values.reduce(0) { $0 + $1 * $1 }
        guard !values.isEmpty, squares > 0 else { return 1 }
        let sum = values.reduce(0, +)
        return sum * sum / (Double(values.count) * squares)
    }
}
