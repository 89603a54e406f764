import AllotAPI
import AllotCore
import AllotStore

extension ControlPlane {
    /// The cluster's state as Prometheus gauges (base units; ratios 0...1).
    public func gaugeSamples() async -> [GaugeSample] {
        var samples: [GaugeSample] = []
        var byState: [String: Int] = ["ready": 0, "down": 0, "cordoned": 0]
        for node in nodes.values { byState[node.state == .ready ? (node.cordoned ? "cordoned" : "ready") : "down", default: 0] += 1 }
        for (state, count) in byState.sorted(by: { $0.key < $1.key }) {
            samples.append(GaugeSample("allot_nodes", "Nodes known to the control plane, by state.", [("state", state)], Double(count)))
        }
        let view = utilization()
        for resource in view.resources {
            let (name, unit, what) =
                switch resource.name {
                case "cpu": ("cpu", "_cores", "CPU cores")
                case "memory": ("memory", "_bytes", "memory bytes")
                case "gpus": ("gpus", "", "GPUs (used: GPU-equivalents busy)")
                default: ("gpu_memory", "_bytes", "GPU memory bytes")
                }
            samples.append(GaugeSample("allot_cluster_\(name)_capacity\(unit)", "Schedulable \(what) of ready nodes.", [], resource.capacity))
            samples.append(GaugeSample("allot_cluster_\(name)_allocated\(unit)", "Allocated \(what).", [], resource.allocated))
            if let used = resource.used {
                samples.append(GaugeSample("allot_cluster_\(name)_used\(unit)", "Measured \(what) in use.", [], used))
            }
        }
        for pool in view.allocatedPools where pool.resource == "cpu" || pool.resource == "memory" {
            let unit = pool.resource == "cpu" ? "cores" : "bytes"
            let labels = [("node", pool.node)]
            samples.append(
                GaugeSample("allot_node_\(pool.resource)_capacity_\(unit)", "Schedulable \(pool.resource) of a node.", labels, pool.capacity)
            )
            samples.append(
                GaugeSample("allot_node_\(pool.resource)_allocated_\(unit)", "\(pool.resource) of a node allocated to jobs.", labels, pool.used)
            )
        }
        for pool in view.usedPools {
            let labels = [("node", pool.node)]
            switch pool.resource {
            case "cpu": samples.append(GaugeSample("allot_node_cpu_used_cores", "CPU cores in measured use on a node.", labels, pool.used))
            case "memory": samples.append(GaugeSample("allot_node_memory_used_bytes", "Memory in measured use on a node.", labels, pool.used))
            default: break
            }
        }
        for name in nodes.keys.sorted() {
            guard let node = nodes[name], node.state == .ready else { continue }
            if let pricing = node.inventory.pricing, let price = pricing.hourlyPrice {
                let labels = [
                    ("node", name), ("cloud", pricing.cloud), ("region", pricing.region ?? ""), ("instance_type", pricing.instanceType ?? ""),
                    ("capacity", pricing.capacity),
                ]
                samples.append(GaugeSample("allot_node_price_usd_per_hour", "What a node costs per hour (catalog or declared).", labels, price))
            }
            let usage = Dictionary((node.usage?.gpus ?? []).map { ($0.index, $0) }, uniquingKeysWith: { first, _ in first })
            let allocated = Dictionary(
                view.allocatedPools.filter { $0.node == name }.map { ($0.resource, $0.used) },
                uniquingKeysWith: { first, _ in first }
            )
            for gpu in node.inventory.gpus {
                let labels = [("node", name), ("gpu", String(gpu.index)), ("model", gpu.name)]
                samples.append(GaugeSample("allot_gpu_memory_bytes", "Memory of a GPU.", labels, Double(gpu.memoryTotalBytes)))
                samples.append(
                    GaugeSample("allot_gpu_memory_allocated_bytes", "GPU memory allocated to jobs.", labels, allocated["gpu\(gpu.index).memory"] ?? 0)
                )
                if let used = usage[gpu.index]?.memoryUsedBytes {
                    samples.append(GaugeSample("allot_gpu_memory_used_bytes", "GPU memory in measured use.", labels, Double(used)))
                }
                if let percent = usage[gpu.index]?.utilizationPercent {
                    samples.append(GaugeSample("allot_gpu_utilization_ratio", "Measured GPU compute utilization (0 to 1).", labels, percent / 100))
                }
            }
        }
        var jobs: [String: Int] = [:]
        var oldest: Double?
        let time = now()
        for job in active.values {
            jobs["\(job.state.rawValue)|\(job.tenant)", default: 0] += 1
            if job.state == .pending { oldest = max(oldest ?? 0, time - job.submittedAt) }
        }
        for (key, count) in jobs.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
            samples.append(
                GaugeSample("allot_jobs", "Jobs not yet finished, by state and tenant.", [("state", parts[0]), ("tenant", parts[1])], Double(count))
            )
        }
        let pending = active.values.filter { $0.state == .pending }.count
        samples.append(GaugeSample("allot_queue_depth", "Jobs waiting in the queue.", [], Double(pending)))
        samples.append(GaugeSample("allot_queue_oldest_wait_seconds", "How long the oldest queued job has waited.", [], oldest ?? 0))
        let history = await recorder.statistics()
        samples.append(GaugeSample("allot_history_series", "Usage series with an open chunk in memory.", [], Double(history.liveSeries)))
        samples.append(GaugeSample("allot_history_samples", "Usage samples taken since the server started.", [], Double(history.samples)))
        if let bytes = history.stored?.fileBytes {
            samples.append(GaugeSample("allot_history_file_bytes", "Size of the usage history's database files.", [], Double(bytes)))
        }
        for tier in history.stored?.tiers ?? [] {
            samples.append(GaugeSample("allot_history_points", "Usage points stored, by tier.", [("tier", String(tier.tier))], Double(tier.points)))
            samples.append(GaugeSample("allot_history_chunks", "Usage chunks stored, by tier.", [("tier", String(tier.tier))], Double(tier.chunks)))
        }
        return samples
    }
}
