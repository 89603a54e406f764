import AllotCore

/// What some jobs hold or ask for, in the units of ``ResourceQuota``.
public struct QuotaUsage: Sendable, Equatable {
    public var cpu: Double = 0
    public var memoryBytes: Int64 = 0
    public var gpus: Int = 0
    public var gpusByModel: [String: Int] = [:]
    public var gpuMemoryBytes: Int64 = 0

    public init() {}

    /// A whole task: every replica.
    public init(_ task: TaskSpec) {
        let replicas = task.gang
        cpu = Double(task.requests.resources.cpuMillis) / 1000 * Double(replicas)
        memoryBytes = task.requests.resources.memoryBytes * Int64(replicas)
        if let share = task.requests.gpuMemoryBytes {
            gpuMemoryBytes = share * Int64(task.requests.deviceCount * replicas)
        } else {
            gpus = task.requests.gpus * replicas
            if let model = task.requests.gpuModel, gpus > 0 { gpusByModel[GPUModelName.normalize(model)] = gpus }
        }
    }

    public static func + (lhs: Self, rhs: Self) -> Self {
        var sum = lhs
        sum.cpu += rhs.cpu
        sum.memoryBytes += rhs.memoryBytes
        sum.gpus += rhs.gpus
        sum.gpuMemoryBytes += rhs.gpuMemoryBytes
        for (model, count) in rhs.gpusByModel { sum.gpusByModel[model, default: 0] += count }
        return sum
    }
}

extension ResourceQuota {
    /// The first amount `usage` goes over, in words with both figures; `nil` when it fits.
    public func excess(_ usage: QuotaUsage) -> String? {
        if let cpu, usage.cpu > cpu + 1e-9 { return "cpu \(Quantity.format(usage.cpu)) > \(Quantity.format(cpu)) cores" }
        if let memoryBytes, usage.memoryBytes > memoryBytes {
            return "memory \(Quantity.formatBytes(usage.memoryBytes)) > \(Quantity.formatBytes(memoryBytes))"
        }
        if let gpus, usage.gpus > gpus { return "gpus \(usage.gpus) > \(gpus)" }
        for (model, limit) in (gpusByModel ?? [:]).sorted(by: { $0.key < $1.key }) {
            let used = usage.gpusByModel.first { GPUModelName.normalize($0.key) == GPUModelName.normalize(model) }?.value ?? 0
            if used > limit { return "gpus of model \(model) \(used) > \(limit)" }
        }
        if let gpuMemoryBytes, usage.gpuMemoryBytes > gpuMemoryBytes {
            return "gpu memory \(Quantity.formatBytes(usage.gpuMemoryBytes)) > \(Quantity.formatBytes(gpuMemoryBytes))"
        }
        return nil
    }

    /// The scheduler's vector; missing amounts become `unbounded` (0 for a guarantee, infinity for a limit).
    public func vector(unbounded: Double) -> UsageVector {
        UsageVector(
            cpuMillis: cpu.map { $0 * 1000 } ?? unbounded,
            memoryBytes: memoryBytes.map(Double.init) ?? unbounded,
            gpus: gpus.map(Double.init) ?? unbounded,
            gpuMemoryBytes: gpuMemoryBytes.map(Double.init) ?? unbounded
        )
    }
}
