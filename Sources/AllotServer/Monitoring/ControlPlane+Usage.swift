import AllotAPI
import AllotCore

/// Names of the usage series, one place for all of them. Ratios are 0...1, sizes in bytes, rates per second.
enum SeriesName {
    static func node(_ node: String, _ metric: String) -> String { "node/\(node)/\(metric)" }
    static func gpu(_ node: String, _ index: Int, _ metric: String) -> String { "node/\(node)/gpu/\(index)/\(metric)" }
    static func job(_ job: String, _ metric: String) -> String { "job/\(job)/\(metric)" }
    static func tenant(_ tenant: String, _ metric: String) -> String { "tenant/\(tenant)/\(metric)" }
    static func cluster(_ metric: String) -> String { "cluster/\(metric)" }
}

extension ControlPlane {
    /// The samples one agent report carries: its node's and GPUs' usage, and each job's on that node.
    func usageSamples(
        node name: String,
        usage: NodeUsage?,
        jobs statuses: [AgentReport.JobStatus],
        at time: Double
    ) -> [(
        series: String, value: Double
    )] {
        var samples: [(series: String, value: Double)] = []
        if let usage {
            if let cpu = usage.cpuUtilization { samples.append((SeriesName.node(name, "cpu.utilization"), cpu)) }
            samples.append((SeriesName.node(name, "memory.used_bytes"), Double(usage.memoryUsedBytes)))
            if let disk = usage.diskUsedBytes { samples.append((SeriesName.node(name, "disk.used_bytes"), Double(disk))) }
            if let received = usage.networkReceivedBytes, let sent = usage.networkSentBytes {
                if let last = networkCounters[name], time > last.time, received >= last.received, sent >= last.sent {
                    samples.append((SeriesName.node(name, "network.receive_bytes_per_second"), Double(received - last.received) / (time - last.time)))
                    samples.append((SeriesName.node(name, "network.transmit_bytes_per_second"), Double(sent - last.sent) / (time - last.time)))
                }
                networkCounters[name] = (time, received, sent)
            }
            for gpu in usage.gpus {
                if let percent = gpu.utilizationPercent { samples.append((SeriesName.gpu(name, gpu.index, "utilization"), percent / 100)) }
                if let used = gpu.memoryUsedBytes { samples.append((SeriesName.gpu(name, gpu.index, "memory.used_bytes"), Double(used))) }
            }
        }
        // Per job: the mean utilization and the largest memory of its GPUs here; its CPU rate and memory from
        // its cgroup (the largest over its replicas here).
        var cpu: [JobID: Double] = [:]
        var memory: [JobID: Double] = [:]
        for status in statuses where status.state == .running {
            guard let job = active[status.id], job.attempt == status.attempt else { continue }
            let key = "\(job.id)#\(status.replica)"
            if let seconds = status.cpuSeconds {
                if let last = jobCPU[key], time > last.time, seconds >= last.seconds {
                    cpu[job.id] = max(cpu[job.id] ?? 0, (seconds - last.seconds) / (time - last.time))
                }
                jobCPU[key] = (time, seconds)
            }
            if let bytes = status.memoryBytes { memory[job.id] = max(memory[job.id] ?? 0, Double(bytes)) }
        }
        for (job, cores) in cpu.sorted(by: { $0.key < $1.key }) { samples.append((SeriesName.job(job.rawValue, "cpu.cores"), cores)) }
        for (job, bytes) in memory.sorted(by: { $0.key < $1.key }) { samples.append((SeriesName.job(job.rawValue, "memory.used_bytes"), bytes)) }
        guard let usage, !usage.gpus.isEmpty else { return samples }
        let byIndex = Dictionary(usage.gpus.map { ($0.index, $0) }, uniquingKeysWith: { first, _ in first })
        for job in jobsOn(name) where job.state == .running {
            let indices = (job.placements ?? []).filter { $0.node.rawValue == name }.flatMap(\.gpuIndices)
            let gpus = indices.compactMap { byIndex[$0] }
            let utilizations = gpus.compactMap(\.utilizationPercent)
            if !utilizations.isEmpty {
                samples.append((SeriesName.job(job.id.rawValue, "gpu.utilization"), utilizations.reduce(0, +) / Double(utilizations.count) / 100))
            }
            if let largest = gpus.compactMap(\.memoryUsedBytes).max() {
                samples.append((SeriesName.job(job.id.rawValue, "gpu.memory.used_bytes"), Double(largest)))
            }
        }
        return samples
    }

    /// The active jobs with a replica on `node`, in submission order.
    func jobsOn(_ node: String) -> [Job] {
        placedJobs(on: node).compactMap { active[$0] }
    }

    /// Cluster-wide and per-tenant samples, taken every scan interval from the latest reports and allocations.
    func clusterSamples(at time: Double) -> [(series: String, value: Double)] {
        var samples: [(series: String, value: Double)] = []
        var cores = 0.0
        var busyCores = 0.0
        var memoryUsed = 0.0
        var gpuUtilizations: [Double] = []
        var gpuMemoryUsed = 0.0
        var utilizationByGPU: [String: Double] = [:]
        var ready = 0
        for (name, node) in nodes where node.state == .ready {
            ready += 1
            guard let usage = node.usage else { continue }
            let nodeCores = Double(node.inventory.cpu.logicalCores)
            if let cpu = usage.cpuUtilization {
                cores += nodeCores
                busyCores += cpu * nodeCores
            }
            memoryUsed += Double(usage.memoryUsedBytes)
            for gpu in usage.gpus {
                if let percent = gpu.utilizationPercent {
                    gpuUtilizations.append(percent / 100)
                    utilizationByGPU["\(name)#\(gpu.index)"] = percent / 100
                }
                gpuMemoryUsed += Double(gpu.memoryUsedBytes ?? 0)
            }
        }
        samples.append((SeriesName.cluster("nodes.ready"), Double(ready)))
        if cores > 0 { samples.append((SeriesName.cluster("cpu.utilization"), busyCores / cores)) }
        samples.append((SeriesName.cluster("memory.used_bytes"), memoryUsed))
        if !gpuUtilizations.isEmpty {
            samples.append((SeriesName.cluster("gpu.utilization"), gpuUtilizations.reduce(0, +) / Double(gpuUtilizations.count)))
            samples.append((SeriesName.cluster("gpu.memory.used_bytes"), gpuMemoryUsed))
        }
        let pendingCount = active.values.filter { $0.state == .pending }.count
        samples.append((SeriesName.cluster("queue.depth"), Double(pendingCount)))
        var allocated: [String: (gpus: Double, busy: Double, cpu: Double, memory: Double)] = [:]
        for job in active.values where job.state == .running || job.state == .scheduled || job.state == .staging {
            var totals = allocated[job.tenant] ?? (0, 0, 0, 0)
            for placement in job.placements ?? [] {
                totals.gpus += Double(placement.gpuIndices.count)
                totals.busy += placement.gpuIndices.reduce(0) { $0 + (utilizationByGPU["\(placement.node.rawValue)#\($1)"] ?? 0) }
                totals.cpu += Double(placement.cpuMillis) / 1000
                totals.memory += Double(placement.memoryBytes)
            }
            allocated[job.tenant] = totals
        }
        for (tenant, totals) in allocated.sorted(by: { $0.key < $1.key }) {
            samples.append((SeriesName.tenant(tenant, "gpus.allocated"), totals.gpus))
            samples.append((SeriesName.tenant(tenant, "gpus.busy"), totals.busy))
            samples.append((SeriesName.tenant(tenant, "cpu.allocated_cores"), totals.cpu))
            samples.append((SeriesName.tenant(tenant, "memory.allocated_bytes"), totals.memory))
        }
        let total = allocated.values.reduce((0.0, 0.0)) { ($0.0 + $1.gpus, $0.1 + $1.cpu) }
        samples.append((SeriesName.cluster("gpus.allocated"), total.0))
        samples.append((SeriesName.cluster("cpu.allocated_cores"), total.1))
        return samples
    }

    /// Keeps, for each ready node, since when it has run nothing.
    func trackEmptyNodes(at time: Double) {
        for (name, node) in nodes {
            if node.state == .ready && placedJobs(on: name).isEmpty {
                emptySince[name] = emptySince[name] ?? time
            } else {
                emptySince[name] = nil
            }
        }
    }
}
