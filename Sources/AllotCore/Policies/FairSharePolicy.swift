import HeapModule

/// Weighted Dominant Resource Fairness across tenants, with guarantees.
///
/// Each step serves the tenant whose dominant share (its largest fraction of any cluster resource, divided
/// by its weight) is lowest; tenants still below their guaranteed amount come before all others. Within a
/// tenant, higher priority first, then submission order. A tenant whose next task cannot be placed is done
/// for the cycle while the others go on, as in DRF's progressive filling.
public struct FairSharePolicy: QueuePolicy {
    public init() {}
    public var name: String { "fair" }
    public var blocking: QueueBlocking { .tenant }

    public func makeCursor(_ entries: [QueueEntry], context: QueueContext) -> any QueueCursor {
        var queues: [TenantID: [QueueEntry]] = [:]
        for entry in entries { queues[entry.tenant, default: []].append(entry) }
        for tenant in queues.keys {
            queues[tenant]!.sort { $0.priority != $1.priority ? $0.priority > $1.priority : $0.sequence < $1.sequence }
        }
        return FairCursor(queues: queues, context: context)
    }
}

struct FairCursor: QueueCursor {
    struct Rank: Comparable {
        var tier: Int
        var share: Double
        var tenant: TenantID
        static func < (lhs: Self, rhs: Self) -> Bool {
            if lhs.tier != rhs.tier { return lhs.tier < rhs.tier }
            if lhs.share != rhs.share { return lhs.share < rhs.share }
            return lhs.tenant < rhs.tenant
        }
    }

    var queues: [TenantID: [QueueEntry]]
    var positions: [TenantID: Int] = [:]
    var usage: [TenantID: UsageVector]
    let context: QueueContext
    var heap: Heap<Rank> = []
    var current: TenantID?

    init(queues: [TenantID: [QueueEntry]], context: QueueContext) {
        self.queues = queues
        self.context = context
        self.usage = context.usage
        for tenant in queues.keys { heap.insert(rank(tenant)) }
    }

    func rank(_ tenant: TenantID) -> Rank {
        let policy = context.tenants[tenant] ?? TenantPolicy()
        let used = usage[tenant] ?? .zero
        let weight = policy.weight > 0 ? policy.weight : 1
        var tier = 1
        if let guaranteed = policy.guaranteed, let head = head(tenant), (used + head.usage).fits(within: guaranteed) { tier = 0 }
        return Rank(tier: tier, share: used.dominantShare(of: context.totals) / weight, tenant: tenant)
    }

    func head(_ tenant: TenantID) -> QueueEntry? {
        let position = positions[tenant] ?? 0
        guard let queue = queues[tenant], position < queue.count else { return nil }
        return queue[position]
    }

    mutating func next() -> QueueEntry? {
        if let current, head(current) != nil { heap.insert(rank(current)) }
        current = nil
        while let top = heap.popMin() {
            if let entry = head(top.tenant) {
                current = top.tenant
                positions[top.tenant, default: 0] += 1
                return entry
            }
        }
        return nil
    }

    mutating func placed(_ entry: QueueEntry) { usage[entry.tenant, default: .zero] = (usage[entry.tenant] ?? .zero) + entry.usage }

    mutating func blocked(_ entry: QueueEntry) {
        if current == entry.tenant { current = nil }
    }
}
