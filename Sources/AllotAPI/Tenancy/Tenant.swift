import AllotCore

/// Amounts of each resource a tenant is guaranteed or limited to; a missing amount is not bounded.
public struct ResourceQuota: Codable, Equatable, Sendable {
    /// CPU cores.
    public var cpu: Double?
    public var memoryBytes: Int64?
    /// Whole GPUs of any model.
    public var gpus: Int?
    /// Whole GPUs per model (normalized names, e.g. `A100`).
    public var gpusByModel: [String: Int]?
    /// Shared GPU memory.
    public var gpuMemoryBytes: Int64?

    /// The largest byte amount and GPU count a quota takes (2^62 bytes, a billion GPUs).
    public static let largestBytes: Int64 = 1 << 62
    public static let largestCount = 1_000_000_000

    /// The first amount out of range (below zero, past the largest, not a number), if any.
    public var fieldOutOfRange: String? {
        if let cpu, !(cpu >= 0 && cpu.isFinite) { return "cpu" }
        if let memoryBytes, !(0...Self.largestBytes).contains(memoryBytes) { return "memoryBytes" }
        if let gpus, !(0...Self.largestCount).contains(gpus) { return "gpus" }
        if let model = gpusByModel?.first(where: { !(0...Self.largestCount).contains($0.value) }) { return "gpusByModel.\(model.key)" }
        if let gpuMemoryBytes, !(0...Self.largestBytes).contains(gpuMemoryBytes) { return "gpuMemoryBytes" }
        return nil
    }

    public init(cpu: Double? = nil, memoryBytes: Int64? = nil, gpus: Int? = nil, gpusByModel: [String: Int]? = nil, gpuMemoryBytes: Int64? = nil) {
        self.cpu = cpu
        self.memoryBytes = memoryBytes
        self.gpus = gpus
        self.gpusByModel = gpusByModel
        self.gpuMemoryBytes = gpuMemoryBytes
    }

    /// Whether every bounded amount here is at most `other`'s (an unbounded one only under an unbounded one).
    public func fits(within other: ResourceQuota) -> Bool {
        func within<T: Comparable>(_ mine: T?, _ theirs: T?) -> Bool {
            guard let theirs else { return true }
            guard let mine else { return false }
            return mine <= theirs
        }
        guard within(cpu, other.cpu), within(memoryBytes, other.memoryBytes), within(gpus, other.gpus),
            within(gpuMemoryBytes, other.gpuMemoryBytes)
        else { return false }
        for (model, count) in other.gpusByModel ?? [:] where !within(gpusByModel?[model], count) { return false }
        return true
    }
}

/// A team or organisation that owns jobs and tokens. Tenants form a tree: an organisation holds teams.
public struct Tenant: Codable, Equatable, Sendable {
    public var name: String
    /// The enclosing tenant, or `nil` for a top-level one.
    public var parent: String?
    /// Fair-share weight among siblings.
    public var weight: Double
    public var guaranteed: ResourceQuota?
    public var limit: ResourceQuota?
    public var createdAt: Double

    public init(
        name: String,
        parent: String? = nil,
        weight: Double = 1,
        guaranteed: ResourceQuota? = nil,
        limit: ResourceQuota? = nil,
        createdAt: Double
    ) {
        self.name = name
        self.parent = parent
        self.weight = weight
        self.guaranteed = guaranteed
        self.limit = limit
        self.createdAt = createdAt
    }

    /// The scheduler's view: weight, guarantee (missing amounts 0) and limit (missing amounts unbounded).
    public var policy: TenantPolicy {
        TenantPolicy(weight: weight, guaranteed: guaranteed?.vector(unbounded: 0), limit: limit?.vector(unbounded: .infinity))
    }

    /// Tenant names: 1–63 lowercase letters, digits and dashes, starting with a letter or digit.
    public static func validName(_ name: String) -> Bool {
        guard (1...63).contains(name.count), let first = name.first, first.isLetter || first.isNumber else { return false }
        return name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
    }
}
