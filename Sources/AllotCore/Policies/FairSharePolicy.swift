import HeapModule

/// Weighted Dominant Resource Fairness across tenants, with guarantees.
///
/// Each step serves the tenant whose dominant share (its largest fraction of any cluster resource, divided
/// by its weight) is lowest; tenants still below their guaranteed amount come before all others. Within a
/// tenant, higher priority first, then submission order. A tenant whose next task cannot be placed is done
/// for the cycle while the others go on, as in DRF's progressive filling.
///
/// The order within a tenant is static, so the scheduler keeps each tenant's queue sorted as tasks come
/// and go (``orderWithinTenant``) and a cycle costs the tenants it serves, not the length of the queue.
public struct FairSharePolicy: QueuePolicy {
    public init() {}
    public var name: String { "fair" }
    public var blocking: QueueBlocking { .tenant }
    public var orderWithinTenant: StaticQueueOrder? { .priority }

    public func makeCursor(_ entries: [QueueEntry], context: QueueContext) -> any QueueCursor {
        var queue = PendingQueue()
        var bySlot: [Int: QueueEntry] = [:]
        for entry in entries {
            bySlot[entry.slot] = entry
            _ = queue.insert(QueueOrderKey(rank: -entry.priority, sequence: entry.sequence, slot: entry.slot), into: .tenant(entry.tenant))
        }
        return FairCursor(walk: FairWalk(queue, groups: queue.liveGroups, context: context), entries: bySlot)
    }
}

/// DRF's progressive filling over per-tenant queues kept in a ``PendingQueue`` (one group per tenant).
struct FairWalk {
    struct Rank: Comparable {
        var tier: Int
        var share: Double
        var tenant: TenantID
        var group: Int
        static func < (lhs: Self, rhs: Self) -> Bool {
            if lhs.tier != rhs.tier { return lhs.tier < rhs.tier }
            if lhs.share != rhs.share { return lhs.share < rhs.share }
            return lhs.tenant < rhs.tenant
        }
    }

    private let queue: PendingQueue
    private var positions: [Int: SortedKeys<QueueOrderKey>.Position] = [:]
    private var usage: [TenantID: UsageVector]
    private let context: QueueContext
    private var heap: Heap<Rank> = []
    private var current: Rank?
    private var pendingGroups: [Int]

    init(_ queue: PendingQueue, groups: [Int], context: QueueContext) {
        self.queue = queue
        self.context = context
        self.usage = context.usage
        self.pendingGroups = groups
        for group in groups { positions[group] = queue.groups[group].queue.firstPosition }
    }

    private func head(_ group: Int) -> Int? { positions[group].map { queue.groups[group].queue[$0].slot } }

    private func rank(_ group: Int, entry: (Int) -> QueueEntry) -> Rank? {
        guard let slot = head(group), case .tenant(let tenant) = queue.groups[group].key else { return nil }
        let policy = context.tenants[tenant] ?? TenantPolicy()
        let used = usage[tenant] ?? .zero
        let weight = policy.weight > 0 ? policy.weight : 1
        var tier = 1
        if let guaranteed = policy.guaranteed, (used + entry(slot).usage).fits(within: guaranteed) { tier = 0 }
        return Rank(tier: tier, share: used.dominantShare(of: context.totals) / weight, tenant: tenant, group: group)
    }

    /// The next task, from the tenant served next; `entry` describes a pending task by its slot.
    mutating func next(entry: (Int) -> QueueEntry) -> (slot: Int, group: Int)? {
        // Ranks need the heads' entries, so the first call ranks every tenant.
        for group in pendingGroups {
            if let rank = rank(group, entry: entry) { heap.insert(rank) }
        }
        pendingGroups = []
        if let current, let rank = rank(current.group, entry: entry) { heap.insert(rank) }
        current = nil
        while let top = heap.popMin() {
            guard let position = positions[top.group] else { continue }
            current = top
            positions[top.group] = queue.groups[top.group].queue.position(after: position)
            return (queue.groups[top.group].queue[position].slot, top.group)
        }
        return nil
    }

    mutating func placed(_ entry: QueueEntry) { usage[entry.tenant, default: .zero] = (usage[entry.tenant] ?? .zero) + entry.usage }

    /// The current task cannot be placed: its tenant is done for this walk.
    mutating func blocked() { current = nil }
}

/// ``FairWalk`` as a ``QueueCursor`` over a snapshot of entries.
struct FairCursor: QueueCursor {
    var walk: FairWalk
    let entries: [Int: QueueEntry]

    mutating func next() -> QueueEntry? {
        let entries = entries
        return walk.next { entries[$0]! }.map { entries[$0.slot]! }
    }

    mutating func placed(_ entry: QueueEntry) { walk.placed(entry) }
    mutating func blocked(_ entry: QueueEntry) { walk.blocked() }
}
