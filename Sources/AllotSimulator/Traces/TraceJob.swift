import AllotCore

/// One job of a trace: when it arrived, how long it truly ran, and what it asked for in total.
public struct TraceJob: Sendable, Equatable {
    public var id: String
    /// Seconds after the trace's first submission.
    public var submit: Double
    /// The true run time in seconds. Non-clairvoyant policies never read it.
    public var duration: Double
    /// Whole GPUs over the whole job (split into a gang when it spans nodes).
    public var gpus: Int
    /// CPU over the whole job, in millicores.
    public var cpuMillis: Int64
    /// Memory over the whole job, in bytes.
    public var memoryBytes: Int64
    public var tenant: String
    /// Higher runs first under the `priority` policy.
    public var priority: Int
    /// A user's runtime estimate in seconds, if the trace has one.
    public var estimate: Double?
    /// The GPU model it must run on, if any.
    public var gpuModel: String?
    /// With a value, the job takes this much memory on each of `gpus` shared devices instead of whole ones.
    public var gpuMemoryBytes: Int64?

    public init(
        id: String,
        submit: Double,
        duration: Double,
        gpus: Int,
        cpuMillis: Int64,
        memoryBytes: Int64,
        tenant: String,
        priority: Int = 0,
        estimate: Double? = nil,
        gpuModel: String? = nil,
        gpuMemoryBytes: Int64? = nil
    ) {
        self.id = id
        self.submit = submit
        self.duration = duration
        self.gpus = gpus
        self.cpuMillis = cpuMillis
        self.memoryBytes = memoryBytes
        self.tenant = tenant
        self.priority = priority
        self.estimate = estimate
        self.gpuModel = gpuModel
        self.gpuMemoryBytes = gpuMemoryBytes
    }

    /// GPU-seconds of true work.
    public var gpuSeconds: Double { Double(gpus) * duration }
}

/// A trace: jobs ordered by submission (ties keep file order), with what the reader assumed.
public struct Trace: Sendable, Equatable {
    public var format: TraceFormat
    public var jobs: [TraceJob]
    /// Facts about the source and every default the reader attached, for reports.
    public var notes: [String]

    public init(format: TraceFormat, jobs: [TraceJob], notes: [String] = []) {
        self.format = format
        self.jobs = jobs
        self.notes = notes
    }

    /// Sorts by submission (stable) and shifts times so that the first submission is at 0.
    mutating func normalize() {
        let order = jobs.indices.sorted { jobs[$0].submit != jobs[$1].submit ? jobs[$0].submit < jobs[$1].submit : $0 < $1 }
        jobs = order.map { jobs[$0] }
        guard let first = jobs.first?.submit, first != 0 else { return }
        for index in jobs.indices { jobs[index].submit -= first }
    }
}

/// What a job gets when its trace does not say: CPU and memory per GPU, and for CPU-only jobs.
public struct TraceDefaults: Sendable, Equatable {
    public var cpuMillisPerGPU: Int64 = 8000
    public var memoryBytesPerGPU: Int64 = 40 << 30
    public var cpuMillisWithoutGPU: Int64 = 1000
    public var memoryBytesWithoutGPU: Int64 = 4 << 30

    public init() {}

    func cpu(gpus: Int) -> Int64 { gpus > 0 ? cpuMillisPerGPU * Int64(gpus) : cpuMillisWithoutGPU }
    func memory(gpus: Int) -> Int64 { gpus > 0 ? memoryBytesPerGPU * Int64(gpus) : memoryBytesWithoutGPU }

    var description: String {
        "jobs without CPU or memory in the trace get \(Quantity.formatCPU(cpuMillisPerGPU)) cores and "
            + "\(Quantity.formatBytes(memoryBytesPerGPU)) per GPU (\(Quantity.formatCPU(cpuMillisWithoutGPU)) core, "
            + "\(Quantity.formatBytes(memoryBytesWithoutGPU)) without GPUs)"
    }
}

extension Trace {
    /// GPU-hours run each day from the first submission, each job counted from its submission for its run
    /// time (as if it started at once: demand, not what a cluster served).
    public func dailyGPUHours(dayLength: Double = 86_400) -> [Double] {
        guard let origin = jobs.map(\.submit).min() else { return [] }
        var days: [Double] = []
        for job in jobs where job.gpus > 0 && job.duration > 0 {
            var start = job.submit - origin
            let end = start + job.duration
            while start < end {
                let day = Int(start / dayLength)
                let dayEnd = min(end, Double(day + 1) * dayLength)
                while days.count <= day { days.append(0) }
                days[day] += Double(job.gpus) * (dayEnd - start) / 3_600
                start = dayEnd
            }
        }
        return days
    }
}
