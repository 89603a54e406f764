/// A span during which a node was paid for at one hourly price.
public struct BilledNode: Equatable, Sendable {
    public var node: String
    public var start: Double
    public var end: Double
    /// USD per hour.
    public var hourlyPrice: Double
    public var cpuMillis: Int64
    public var memoryBytes: Int64
    /// Whole GPUs the node has (0 for a CPU node).
    public var gpus: Int

    public init(node: String, start: Double, end: Double, hourlyPrice: Double, cpuMillis: Int64, memoryBytes: Int64, gpus: Int) {
        self.node = node
        self.start = start
        self.end = end
        self.hourlyPrice = hourlyPrice
        self.cpuMillis = cpuMillis
        self.memoryBytes = memoryBytes
        self.gpus = gpus
    }
}

/// What one job held on one node for a span of time.
public struct BilledAllocation: Equatable, Sendable {
    public var job: String
    public var node: String
    public var start: Double
    public var end: Double
    public var cpuMillis: Int64
    public var memoryBytes: Int64
    /// GPUs held, fractional when it shares GPUs by memory.
    public var gpus: Double

    public init(job: String, node: String, start: Double, end: Double, cpuMillis: Int64, memoryBytes: Int64, gpus: Double) {
        self.job = job
        self.node = node
        self.start = start
        self.end = end
        self.cpuMillis = cpuMillis
        self.memoryBytes = memoryBytes
        self.gpus = gpus
    }
}

/// The cost of one job (or of the idle part, `job == nil`) on one node within one UTC day.
public struct CostEntry: Equatable, Sendable {
    public var job: String?
    public var node: String
    /// Days since 1970-01-01 (UTC).
    public var day: Int
    /// The first and last instant charged within the day.
    public var start: Double
    public var end: Double
    /// USD.
    public var cost: Double
    /// Seconds charged, and GPU-seconds held (idle: GPU-seconds nobody held).
    public var seconds: Double
    public var gpuSeconds: Double
}

/// Splits what nodes cost among the jobs that held them.
///
/// Over every stretch of time in which a node's price and the set of its allocations stay the same, the
/// node's cost (price × time) is divided by shares:
/// - a job holding GPUs on a GPU node pays its fraction of the node's GPUs (*GPU-weighted*: the host's CPU
///   and memory come with the GPUs);
/// - any other job pays its *dominant share*: the larger of its fractions of the node's CPU and memory;
/// - when the shares add up to more than the whole node they are scaled down to it;
/// - what is left is *idle*: paid for, held by nobody.
/// So the jobs' costs plus idle equal the node's cost exactly (up to floating-point rounding). Allocations
/// outside any billed span cost nothing (a node with no price).
public enum CostAccounting {
    public static let secondsPerDay = 86_400.0

    /// Every job's and the idle cost in `[from, to)`, one entry per job, node and day (sorted by node, day,
    /// job with idle last).
    public static func entries(nodes: [BilledNode], allocations: [BilledAllocation], from: Double, to: Double) -> [CostEntry] {
        guard to > from else { return [] }
        let allocationsByNode = Dictionary(grouping: allocations.filter { $0.end > from && $0.start < to && $0.end > $0.start }, by: \.node)
        var entries: [CostEntry] = []
        for (node, spans) in Dictionary(grouping: nodes, by: \.node).sorted(by: { $0.key < $1.key }) {
            var totals: [Key: CostEntry] = [:]
            for span in spans.sorted(by: { $0.start < $1.start }) {
                let start = max(span.start, from)
                let end = min(span.end, to)
                guard end > start else { continue }
                let held = (allocationsByNode[node] ?? []).filter { $0.end > start && $0.start < end }
                accrue(span, held, start, end, into: &totals)
            }
            entries += totals.values.sorted { ($0.day, $0.job ?? "\u{10FFFF}") < ($1.day, $1.job ?? "\u{10FFFF}") }
        }
        return entries
    }

    private struct Key: Hashable {
        var job: String?
        var day: Int
    }

    /// One node span: cut at every allocation's start and end and at each midnight.
    private static func accrue(_ span: BilledNode, _ held: [BilledAllocation], _ start: Double, _ end: Double, into totals: inout [Key: CostEntry]) {
        var cuts = Set<Double>([start, end])
        for allocation in held {
            if allocation.start > start { cuts.insert(allocation.start) }
            if allocation.end < end { cuts.insert(allocation.end) }
        }
        var midnight = (start / secondsPerDay).rounded(.down) * secondsPerDay + secondsPerDay
        while midnight < end {
            cuts.insert(midnight)
            midnight += secondsPerDay
        }
        let times = cuts.sorted()
        let byStart = held.sorted { ($0.start, $0.job) < ($1.start, $1.job) }
        var next = 0
        var current: [BilledAllocation] = []
        for (a, b) in zip(times, times.dropFirst()) {
            // Every start and end is a cut, so an allocation holds either all of [a, b) or none of it.
            current.removeAll { $0.end <= a }
            while next < byStart.count, byStart[next].start <= a {
                if byStart[next].end > a { current.append(byStart[next]) }
                next += 1
            }
            let seconds = b - a
            let nodeCost = span.hourlyPrice * seconds / 3_600
            let day = Int((a / secondsPerDay).rounded(.down))
            let weights = current.map { share(of: $0, on: span) }
            let total = weights.reduce(0, +)
            let scale = total > 1 ? 1 / total : 1
            var charged = 0.0
            var gpusHeld = 0.0
            for (allocation, weight) in zip(current, weights) {
                let cost = nodeCost * weight * scale
                charged += cost
                gpusHeld += allocation.gpus
                add(Key(job: allocation.job, day: day), node: span.node, a, b, cost: cost, gpuSeconds: allocation.gpus * seconds, to: &totals)
            }
            let idleGPUs = max(0, Double(span.gpus) - gpusHeld)
            guard nodeCost - charged > 1e-9 || idleGPUs > 0 else { continue }
            add(Key(job: nil, day: day), node: span.node, a, b, cost: nodeCost - charged, gpuSeconds: idleGPUs * seconds, to: &totals)
        }
    }

    /// A job's share of a node, before scaling: see the type's documentation.
    public static func share(of allocation: BilledAllocation, on node: BilledNode) -> Double {
        if node.gpus > 0, allocation.gpus > 0 { return min(1, allocation.gpus / Double(node.gpus)) }
        let cpu = node.cpuMillis > 0 ? Double(allocation.cpuMillis) / Double(node.cpuMillis) : 0
        let memory = node.memoryBytes > 0 ? Double(allocation.memoryBytes) / Double(node.memoryBytes) : 0
        return min(1, max(cpu, memory, 0))
    }

    private static func add(_ key: Key, node: String, _ a: Double, _ b: Double, cost: Double, gpuSeconds: Double, to totals: inout [Key: CostEntry]) {
        if var entry = totals[key] {
            entry.start = min(entry.start, a)
            entry.end = max(entry.end, b)
            entry.cost += cost
            entry.seconds += b - a
            entry.gpuSeconds += gpuSeconds
            totals[key] = entry
        } else {
            totals[key] = CostEntry(job: key.job, node: node, day: key.day, start: a, end: b, cost: cost, seconds: b - a, gpuSeconds: gpuSeconds)
        }
    }

    /// Rounds amounts to cents so that the rounded parts add up to the rounded total (largest remainder):
    /// a report's rows then sum to its total to the cent.
    public static func cents(_ amounts: [Double]) -> [Int64] {
        let exact = amounts.map { $0 * 100 }
        let target = Int64(exact.reduce(0, +).rounded())
        var result = exact.map { Int64($0.rounded(.down)) }
        var missing = target - result.reduce(0, +)
        let order = exact.indices.sorted { (exact[$0] - exact[$0].rounded(.down), -$0) > (exact[$1] - exact[$1].rounded(.down), -$1) }
        var index = 0
        while missing > 0, !order.isEmpty {
            result[order[index % order.count]] += 1
            missing -= 1
            index += 1
        }
        index = 0
        while missing < 0, !order.isEmpty {
            result[order[order.count - 1 - index % order.count]] -= 1
            missing += 1
            index += 1
        }
        return result
    }
}
