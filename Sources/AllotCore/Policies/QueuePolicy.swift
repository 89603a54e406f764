/// A pending task as a queue policy sees it.
public struct QueueEntry: Sendable, Equatable {
    /// The scheduler's slot for the task (opaque to policies).
    public var slot: Int
    public var id: TaskID
    public var tenant: TenantID
    public var priority: Int
    /// Submission order; a requeued task keeps its place.
    public var sequence: Int
    /// Submission time, in the caller's seconds.
    public var submitted: Double
    /// What the whole task (all replicas) takes.
    public var usage: UsageVector
}

/// What a policy knows when it orders a cycle.
public struct QueueContext: Sendable {
    public var now: Double
    /// The cluster's schedulable totals.
    public var totals: UsageVector
    /// What each tenant's running work takes now.
    public var usage: [TenantID: UsageVector]
    public var tenants: [TenantID: TenantPolicy]
}

/// What happens to the rest of the queue when a task cannot be placed.
public enum QueueBlocking: Sendable, Equatable {
    /// Strict order: nothing behind it starts (unless backfill proves it does not delay it).
    case wholeQueue
    /// Only that tenant waits; other tenants go on (DRF progressive filling).
    case tenant
    /// Nothing waits: a task that does not fit is passed over and later ones may start (work-conserving).
    /// Large tasks can starve behind a stream of small ones unless the policy ages or demotes the small ones.
    case passOver
}

/// An order that depends only on each task (not on the cycle), so that the scheduler can keep the queue
/// sorted as tasks come and go and walk only as far as a cycle needs.
public enum StaticQueueOrder: Sendable, Equatable {
    /// Submission order.
    case submission
    /// Higher priority first, then submission order.
    case priority
}

/// Orders the pending queue for one scheduling cycle.
public protocol QueuePolicy: Sendable {
    var name: String { get }
    var blocking: QueueBlocking { get }
    /// The policy's order when it is static; the scheduler then never calls ``makeCursor(_:context:)``.
    var staticOrder: StaticQueueOrder? { get }
    /// For a policy that serves tenants in turn (``QueueBlocking/tenant``), the static order of each tenant's
    /// own queue, when it has one; the scheduler then keeps those queues sorted instead of calling
    /// ``makeCursor(_:context:)``.
    var orderWithinTenant: StaticQueueOrder? { get }
    /// Priorities the scheduler itself sets from the service tasks receive (least attained service,
    /// shortest remaining time); `nil` when priorities are the tasks' own.
    var service: ServiceOrder? { get }
    func makeCursor(_ entries: [QueueEntry], context: QueueContext) -> any QueueCursor
}

extension QueuePolicy {
    public var staticOrder: StaticQueueOrder? { nil }
    public var orderWithinTenant: StaticQueueOrder? { nil }
    public var service: ServiceOrder? { nil }
}

/// A pending task's place in a static order: smaller first.
struct QueueOrderKey: Comparable, Sendable {
    var rank: Int
    var sequence: Int
    var slot: Int

    static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank != rhs.rank ? lhs.rank < rhs.rank : lhs.sequence < rhs.sequence }
}

/// Walks a cycle's queue; told of each placement so that share-based orders can adapt.
public protocol QueueCursor {
    mutating func next() -> QueueEntry?
    mutating func placed(_ entry: QueueEntry)
    /// The entry cannot be placed; with ``QueueBlocking/tenant`` its tenant is done for this cycle.
    mutating func blocked(_ entry: QueueEntry)
}

/// The policies by name, for configuration edges.
public enum QueuePolicies {
    public static let names = ["fifo", "priority", "fair", "las", "gittins", "srtf"]

    public static func named(_ name: String, agingSeconds: Double? = nil, field: String = "policy") throws(QuantityError) -> any QueuePolicy {
        switch name.lowercased() {
        case "fifo": return FIFOPolicy()
        case "priority": return PriorityPolicy(agingSeconds: agingSeconds)
        case "fair", "drf": return FairSharePolicy()
        case "las": return LeastAttainedServicePolicy()
        case "gittins": return LeastAttainedServicePolicy(ranked: true)
        case "srtf": return ShortestRemainingTimePolicy()
        default: throw QuantityError(field: field, value: name, reason: "unknown policy (use \(names.joined(separator: ", ")))")
        }
    }
}

/// A fixed order.
struct ListCursor: QueueCursor {
    var entries: [QueueEntry]
    var position = 0

    mutating func next() -> QueueEntry? {
        guard position < entries.count else { return nil }
        defer { position += 1 }
        return entries[position]
    }

    mutating func placed(_ entry: QueueEntry) {}
    mutating func blocked(_ entry: QueueEntry) {}
}
