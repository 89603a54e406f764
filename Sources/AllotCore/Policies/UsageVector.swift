/// An amount of the resources that fair sharing and quotas count: CPU, memory, whole GPUs and shared GPU memory.
public struct UsageVector: Equatable, Sendable {
    public var cpuMillis: Double
    public var memoryBytes: Double
    /// Whole (exclusive) GPUs.
    public var gpus: Double
    /// GPU memory taken as shares of devices (whole GPUs count under ``gpus``).
    public var gpuMemoryBytes: Double

    public init(cpuMillis: Double = 0, memoryBytes: Double = 0, gpus: Double = 0, gpuMemoryBytes: Double = 0) {
        self.cpuMillis = cpuMillis
        self.memoryBytes = memoryBytes
        self.gpus = gpus
        self.gpuMemoryBytes = gpuMemoryBytes
    }

    public static let zero = UsageVector()

    public static func + (lhs: Self, rhs: Self) -> Self {
        UsageVector(
            cpuMillis: lhs.cpuMillis + rhs.cpuMillis,
            memoryBytes: lhs.memoryBytes + rhs.memoryBytes,
            gpus: lhs.gpus + rhs.gpus,
            gpuMemoryBytes: lhs.gpuMemoryBytes + rhs.gpuMemoryBytes
        )
    }

    public static func - (lhs: Self, rhs: Self) -> Self {
        UsageVector(
            cpuMillis: lhs.cpuMillis - rhs.cpuMillis,
            memoryBytes: lhs.memoryBytes - rhs.memoryBytes,
            gpus: lhs.gpus - rhs.gpus,
            gpuMemoryBytes: lhs.gpuMemoryBytes - rhs.gpuMemoryBytes
        )
    }

    /// The largest fraction of `total` this takes in any dimension (the dominant share of DRF).
    public func dominantShare(of total: UsageVector) -> Double {
        func part(_ used: Double, _ capacity: Double) -> Double { capacity > 0 ? used / capacity : 0 }
        return max(
            part(cpuMillis, total.cpuMillis),
            part(memoryBytes, total.memoryBytes),
            part(gpus, total.gpus),
            part(gpuMemoryBytes, total.gpuMemoryBytes)
        )
    }

    /// Whether every dimension is at most the other's (with a small tolerance for rounding).
    public func fits(within limit: UsageVector) -> Bool {
        let epsilon = 1e-9
        return cpuMillis <= limit.cpuMillis + epsilon && memoryBytes <= limit.memoryBytes + epsilon && gpus <= limit.gpus + epsilon
            && gpuMemoryBytes <= limit.gpuMemoryBytes + epsilon
    }

    /// The first dimension in which this exceeds `limit`, named with both amounts.
    public func excess(over limit: UsageVector) -> String? {
        if cpuMillis > limit.cpuMillis + 1e-9 { return "cpu \(Quantity.format(cpuMillis / 1000)) > \(Quantity.format(limit.cpuMillis / 1000))" }
        if memoryBytes > limit.memoryBytes + 1e-9 {
            return "memory \(Quantity.formatBytes(Int64(memoryBytes))) > \(Quantity.formatBytes(Int64(limit.memoryBytes)))"
        }
        if gpus > limit.gpus + 1e-9 { return "gpus \(Quantity.format(gpus)) > \(Quantity.format(limit.gpus))" }
        if gpuMemoryBytes > limit.gpuMemoryBytes + 1e-9 {
            return "gpuMemory \(Quantity.formatBytes(Int64(gpuMemoryBytes))) > \(Quantity.formatBytes(Int64(limit.gpuMemoryBytes)))"
        }
        return nil
    }
}

/// A tenant's share settings: a fair-share weight, a guaranteed amount and a limit it may borrow up to.
public struct TenantPolicy: Equatable, Sendable {
    public var weight: Double
    /// What the tenant is entitled to under contention; a tenant below it is served first and may reclaim it by preemption.
    public var guaranteed: UsageVector?
    /// The most the tenant may use, borrowing idle capacity; nothing beyond it is placed.
    public var limit: UsageVector?

    public init(weight: Double = 1, guaranteed: UsageVector? = nil, limit: UsageVector? = nil) {
        self.weight = weight
        self.guaranteed = guaranteed
        self.limit = limit
    }
}
