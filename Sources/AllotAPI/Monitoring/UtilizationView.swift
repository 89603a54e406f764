import AllotCore

/// How full the cluster is, by what is allocated and by what is measured.
public struct UtilizationView: Codable, Equatable, Sendable {
    /// One kind of resource summed over the ready nodes.
    public struct Resource: Codable, Equatable, Sendable {
        /// `cpu` (cores), `memory` (bytes), `gpus` (devices), `gpu_memory` (bytes).
        public var name: String
        public var capacity: Double
        public var allocated: Double
        /// Measured use, when the agents report it.
        public var used: Double?

        public init(name: String, capacity: Double, allocated: Double, used: Double?) {
            self.name = name
            self.capacity = capacity
            self.allocated = allocated
            self.used = used
        }

        public var allocatedRatio: Double { capacity > 0 ? allocated / capacity : 0 }
        public var usedRatio: Double? { used.map { capacity > 0 ? $0 / capacity : 0 } }
    }

    /// One pool: a node's CPU or memory, or one GPU's memory or compute.
    public struct Pool: Codable, Equatable, Sendable {
        public var node: String
        /// `cpu`, `memory`, `gpuN.memory`, `gpuN.compute` (measured only) or an extended resource.
        public var resource: String
        public var used: Double
        public var capacity: Double
        public var utilization: Double

        public init(node: String, resource: String, used: Double, capacity: Double) {
            self.node = node
            self.resource = resource
            self.used = used
            self.capacity = capacity
            utilization = capacity > 0 ? used / capacity : 0
        }
    }

    public struct NodeSummary: Codable, Equatable, Sendable {
        public var node: String
        /// The mean of the node's pools by allocation.
        public var allocated: Double
        /// The mean of the node's measured pools, when it reports usage.
        public var used: Double?

        public init(node: String, allocated: Double, used: Double?) {
            self.node = node
            self.allocated = allocated
            self.used = used
        }
    }

    public var time: Double
    public var resources: [Resource]
    /// The mean of every pool's utilization by allocation (the scheduler's objective) and by measured use.
    public var allocatedOverall: Double
    public var usedOverall: Double?
    public var nodes: [NodeSummary]
    public var allocatedPools: [Pool]
    public var usedPools: [Pool]

    public init(
        time: Double,
        resources: [Resource],
        allocatedOverall: Double,
        usedOverall: Double?,
        nodes: [NodeSummary],
        allocatedPools: [Pool],
        usedPools: [Pool]
    ) {
        self.time = time
        self.resources = resources
        self.allocatedOverall = allocatedOverall
        self.usedOverall = usedOverall
        self.nodes = nodes
        self.allocatedPools = allocatedPools
        self.usedPools = usedPools
    }
}

/// A pool above 0.90 (`medium`) or 0.95 (`high`), with what to do about it.
public struct BottleneckView: Codable, Equatable, Sendable {
    public var node: String
    public var resource: String
    /// `allocation` (what is promised) or `usage` (what is measured).
    public var basis: String
    public var utilization: Double
    public var severity: BottleneckSeverity
    public var action: BottleneckAction
    public var recommendation: String

    public init(
        node: String,
        resource: String,
        basis: String,
        utilization: Double,
        severity: BottleneckSeverity,
        action: BottleneckAction,
        recommendation: String
    ) {
        self.node = node
        self.resource = resource
        self.basis = basis
        self.utilization = utilization
        self.severity = severity
        self.action = action
        self.recommendation = recommendation
    }
}

/// Points of one usage series.
public struct HistoryView: Codable, Equatable, Sendable {
    public struct Point: Codable, Equatable, Sendable {
        public var time: Double
        public var mean: Double
        public var max: Double

        public init(time: Double, mean: Double, max: Double) {
            self.time = time
            self.mean = mean
            self.max = max
        }
    }

    public var series: String
    /// `raw`, `1m`, `1h`, …
    public var resolution: String
    public var from: Double
    public var to: Double
    public var points: [Point]

    public init(series: String, resolution: String, from: Double, to: Double, points: [Point]) {
        self.series = series
        self.resolution = resolution
        self.from = from
        self.to = to
        self.points = points
    }
}
