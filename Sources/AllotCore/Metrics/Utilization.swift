/// How full one capacity pool is: a node's CPU, memory or extended resource, or one GPU's memory.
public struct PoolUtilization: Equatable, Sendable {
    public var node: NodeID
    /// `cpu` (cores), `memory` (bytes), `gpuN.memory` (bytes) or an extended resource's name.
    public var resource: String
    public var used: Double
    public var capacity: Double
    public var utilization: Double { capacity > 0 ? used / capacity : 0 }
}

/// How severe a hot pool is.
public enum BottleneckSeverity: String, Sendable, Equatable, Comparable {
    /// Above 0.90.
    case medium
    /// Above 0.95.
    case high

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs == .medium && rhs == .high }

    /// The severity of a utilization, or `nil` at or below 0.90.
    public static func of(_ utilization: Double) -> BottleneckSeverity? {
        if utilization > 0.95 { return .high }
        if utilization > 0.90 { return .medium }
        return nil
    }
}

/// A pool above the bottleneck threshold.
public struct Bottleneck: Equatable, Sendable {
    public var node: NodeID
    public var resource: String
    public var utilization: Double
    public var severity: BottleneckSeverity
}

/// Utilization of every pool, each node's mean, the cluster's mean (`overall`) and the bottlenecks.
public struct UtilizationReport: Equatable, Sendable {
    public var pools: [PoolUtilization]
    /// The mean of all pools' utilizations.
    public var overall: Double
    /// Each node's mean over its own pools.
    public var nodes: [(node: NodeID, overall: Double)]
    public var bottlenecks: [Bottleneck]

    public init(pools: [PoolUtilization]) {
        self.pools = pools
        overall = pools.isEmpty ? 0 : pools.reduce(0) { $0 + $1.utilization } / Double(pools.count)
        var order: [NodeID] = []
        var sums: [NodeID: (Double, Int)] = [:]
        for pool in pools {
            if sums[pool.node] == nil { order.append(pool.node) }
            let (sum, count) = sums[pool.node] ?? (0, 0)
            sums[pool.node] = (sum + pool.utilization, count + 1)
        }
        nodes = order.map { ($0, sums[$0]!.0 / Double(sums[$0]!.1)) }
        bottlenecks = pools.compactMap { pool in
            BottleneckSeverity.of(pool.utilization).map {
                Bottleneck(node: pool.node, resource: pool.resource, utilization: pool.utilization, severity: $0)
            }
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.pools == rhs.pools }
}

/// The scheduler objective `alpha * (1 - overall) + beta * mean wait`: lower is better.
public struct SchedulingObjective: Equatable, Sendable {
    public var alpha: Double
    /// Weight per second of mean wait.
    public var beta: Double

    public init(alpha: Double = 1, beta: Double = 1.0 / 3600) {
        self.alpha = alpha
        self.beta = beta
    }

    public func value(overall: Double, meanWaitSeconds: Double) -> Double { alpha * (1 - overall) + beta * meanWaitSeconds }
}

extension Scheduler {
    /// The utilization of every pool by what is allocated (requests plus elastic grants).
    public func utilization() -> UtilizationReport {
        var pools: [PoolUtilization] = []
        for slot in cluster.nodes.indices where cluster.nodes[slot].alive {
            let node = cluster.nodes[slot]
            let extras = nodeExtras[slot]
            for device in cluster.deviceRange(slot) where cluster.devices[device].capacity > 0 {
                let record = cluster.devices[device]
                pools.append(
                    PoolUtilization(
                        node: node.spec.id,
                        resource: "gpu\(record.index).memory",
                        used: Double(record.used),
                        capacity: Double(record.capacity)
                    )
                )
            }
            if node.capacity.cpu > 0 {
                pools.append(
                    PoolUtilization(
                        node: node.spec.id,
                        resource: "cpu",
                        used: Double(node.allocated.cpu + extras.cpu) / 1000,
                        capacity: Double(node.capacity.cpu) / 1000
                    )
                )
            }
            if node.capacity.memory > 0 {
                pools.append(
                    PoolUtilization(
                        node: node.spec.id,
                        resource: "memory",
                        used: Double(node.allocated.memory + extras.memory),
                        capacity: Double(node.capacity.memory)
                    )
                )
            }
            for (key, name) in cluster.extendedNames.enumerated() where node.capacity.extended(key) > 0 {
                pools.append(
                    PoolUtilization(
                        node: node.spec.id,
                        resource: name,
                        used: Double(node.allocated.extended(key)),
                        capacity: Double(node.capacity.extended(key))
                    )
                )
            }
        }
        return UtilizationReport(pools: pools)
    }
}
