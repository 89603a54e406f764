import AllotAPI
import AllotCore

extension ControlPlane {
    /// Utilization by allocation (the scheduler's books) and by measured use (the agents' latest reports).
    public func utilization() -> UtilizationView {
        let report = scheduler.utilization()
        let allocated = report.pools.map {
            UtilizationView.Pool(node: $0.node.rawValue, resource: $0.resource, used: $0.used, capacity: $0.capacity)
        }
        var measured: [UtilizationView.Pool] = []
        for name in nodes.keys.sorted() {
            guard let node = nodes[name], node.state == .ready, let usage = node.usage else { continue }
            let cores = Double(node.inventory.cpu.logicalCores)
            if let cpu = usage.cpuUtilization { measured.append(.init(node: name, resource: "cpu", used: cpu * cores, capacity: cores)) }
            if node.inventory.memoryBytes > 0 {
                measured.append(
                    .init(node: name, resource: "memory", used: Double(usage.memoryUsedBytes), capacity: Double(node.inventory.memoryBytes))
                )
            }
            for gpu in usage.gpus {
                guard let device = node.inventory.gpus.first(where: { $0.index == gpu.index }) else { continue }
                if let used = gpu.memoryUsedBytes, device.memoryTotalBytes > 0 {
                    measured.append(
                        .init(node: name, resource: "gpu\(gpu.index).memory", used: Double(used), capacity: Double(device.memoryTotalBytes))
                    )
                }
                if let percent = gpu.utilizationPercent {
                    measured.append(.init(node: name, resource: "gpu\(gpu.index).compute", used: percent / 100, capacity: 1))
                }
            }
        }
        func sum(_ pools: [UtilizationView.Pool], _ include: (String) -> Bool) -> (used: Double, capacity: Double, count: Int) {
            pools.filter { include($0.resource) }.reduce((0.0, 0.0, 0)) { ($0.0 + $1.used, $0.1 + $1.capacity, $0.2 + 1) }
        }
        let isGPUMemory: (String) -> Bool = { $0.hasPrefix("gpu") && $0.hasSuffix(".memory") }
        let cpu = sum(allocated) { $0 == "cpu" }
        let memory = sum(allocated) { $0 == "memory" }
        let gpuMemory = sum(allocated, isGPUMemory)
        let gpusAllocated = allocated.filter { isGPUMemory($0.resource) && $0.used > 0 }.count
        let usedCPU = sum(measured) { $0 == "cpu" }
        let usedMemory = sum(measured) { $0 == "memory" }
        let usedGPUMemory = sum(measured, isGPUMemory)
        let busyGPUs = sum(measured) { $0.hasSuffix(".compute") }
        let resources = [
            UtilizationView.Resource(name: "cpu", capacity: cpu.capacity, allocated: cpu.used, used: usedCPU.count > 0 ? usedCPU.used : nil),
            UtilizationView.Resource(
                name: "memory",
                capacity: memory.capacity,
                allocated: memory.used,
                used: usedMemory.count > 0 ? usedMemory.used : nil
            ),
            UtilizationView.Resource(
                name: "gpus",
                capacity: Double(gpuMemory.count),
                allocated: Double(gpusAllocated),
                used: busyGPUs.count > 0 ? busyGPUs.used : nil
            ),
            UtilizationView.Resource(
                name: "gpu_memory",
                capacity: gpuMemory.capacity,
                allocated: gpuMemory.used,
                used: usedGPUMemory.count > 0 ? usedGPUMemory.used : nil
            ),
        ]
        var measuredByNode: [String: [Double]] = [:]
        for pool in measured { measuredByNode[pool.node, default: []].append(pool.utilization) }
        let summaries = report.nodes.map { entry in
            UtilizationView.NodeSummary(
                node: entry.node.rawValue,
                allocated: entry.overall,
                used: measuredByNode[entry.node.rawValue].map { $0.reduce(0, +) / Double($0.count) }
            )
        }
        return UtilizationView(
            time: now(),
            resources: resources,
            allocatedOverall: report.overall,
            usedOverall: measured.isEmpty ? nil : measured.reduce(0) { $0 + $1.utilization } / Double(measured.count),
            nodes: summaries,
            allocatedPools: allocated,
            usedPools: measured
        )
    }

    /// Every pool above 0.90 by allocation or by measured use, hottest first, each with what to do; jobs are
    /// named only where `identity` may see them.
    public func bottlenecks(for identity: Identity) -> [BottleneckView] {
        let view = utilization()
        var result: [BottleneckView] = []
        let measured = Dictionary(view.usedPools.map { ("\($0.node)|\($0.resource)", $0) }, uniquingKeysWith: { first, _ in first })
        for (basis, pools) in [("allocation", view.allocatedPools), ("usage", view.usedPools)] {
            // Per family, once: the cluster-wide ratio and the nodes with room (under 75 %).
            var totals: [String: (used: Double, capacity: Double)] = [:]
            var roomy: [String: Set<String>] = [:]
            for pool in pools {
                let family = Self.family(pool.resource)
                totals[family, default: (0, 0)].used += pool.used
                totals[family, default: (0, 0)].capacity += pool.capacity
                if pool.utilization < 0.75 { roomy[family, default: []].insert(pool.node) }
            }
            for pool in pools {
                guard let severity = BottleneckSeverity.of(pool.utilization) else { continue }
                let family = Self.family(pool.resource)
                let total = totals[family] ?? (0, 0)
                let clusterRatio = total.capacity > 0 ? total.used / total.capacity : 0
                let roomElsewhere = (roomy[family] ?? []).subtracting([pool.node])
                let (action, text): (BottleneckAction, String)
                if basis == "allocation", let use = measured["\(pool.node)|\(pool.resource)"], use.utilization < 0.5 {
                    let jobs = jobsOn(pool.node).filter { identity.sees($0.tenant) }.prefix(3).map(\.id)
                    action = .lowerRequest
                    text =
                        "\(pool.node) has \(Self.percent(pool.utilization)) of its \(pool.resource) allocated but \(Self.percent(use.utilization)) in use: lower the requests"
                        + (jobs.isEmpty ? "" : " of \(jobs.map(\.rawValue).joined(separator: ", "))") + " (see GET /v1/recommendations, rightsizing)"
                } else if clusterRatio > 0.90 || roomElsewhere.isEmpty {
                    action = .addCapacity
                    text =
                        "\(family) is \(Self.percent(clusterRatio)) \(basis == "allocation" ? "allocated" : "used") across the cluster"
                        + (roomElsewhere.isEmpty ? " and no other node has it to spare" : "") + ": add \(family) capacity"
                } else {
                    action = .moveWork
                    let nodes = roomElsewhere.count
                    text =
                        "\(nodes) other node\(nodes == 1 ? " has" : "s have") \(family) below 75 %: move preemptible work there (see consolidation) or place new work there"
                }
                result.append(
                    BottleneckView(
                        node: pool.node,
                        resource: pool.resource,
                        basis: basis,
                        utilization: pool.utilization,
                        severity: severity,
                        action: action,
                        recommendation: text
                    )
                )
            }
        }
        return result.sorted { ($0.utilization, $1.node) > ($1.utilization, $0.node) }
    }

    /// `cpu`, `memory`, `GPU memory`, `GPU compute`, or an extended resource's name.
    static func family(_ resource: String) -> String {
        if resource.hasPrefix("gpu") && resource.hasSuffix(".memory") { return "GPU memory" }
        if resource.hasPrefix("gpu") && resource.hasSuffix(".compute") { return "GPU compute" }
        return resource
    }

    static func percent(_ ratio: Double) -> String { "\(Int((ratio * 100).rounded())) %" }
}
