import HeapModule

/// What puts pending tasks in one group of the queue: for an order that is the same for every task
/// (submission, priority), the shape of the request, so that one failed placement stands for every task of
/// that shape; for fair sharing, the tenant, whose own order is static.
enum PendingGroupKey: Hashable, Sendable {
    case shape(Demand, gang: Int)
    case tenant(TenantID)
}

/// Why a group was passed over, kept across cycles: while nothing has been released (``fitVersion``) and,
/// with preemption, nothing new below its head's priority may be evicted (``VictimLog``; nothing new at it
/// either may be moved, with defragmentation), its head cannot start and is not tried.
struct FitMemo: Equatable, Sendable {
    var fitVersion: Int
    var victimVersion: Int
    var head: QueueOrderKey
    /// The head's priority: only work below it could be evicted for it.
    var priority: Int
}

/// The priorities at which running work became evictable, in order; its length (plus what was trimmed) is
/// the version a ``FitMemo`` keeps. A failed search at priority p stays failed while nothing new below p appeared.
struct VictimLog: Sendable {
    private var priorities: [Int] = []
    /// The version of `priorities[0]`.
    private var start = 0

    var version: Int { start + priorities.count }

    mutating func record(_ priority: Int) {
        if priorities.count >= 8192 {
            start += 4096
            priorities.removeFirst(4096)
        }
        priorities.append(priority)
    }

    /// Forgets everything: every older version reads as changed (tenants' guarantees changed, say).
    mutating func reset() {
        start = version + 1
        priorities = []
    }

    /// Whether work at a priority below `priority` (or at it, with `orAt`) became evictable since `version`
    /// (true when unknown).
    func any(since version: Int, below priority: Int, orAt: Bool = false) -> Bool {
        guard version >= start else { return true }
        for index in (version - start)..<priorities.count where priorities[index] < priority || (orAt && priorities[index] == priority) {
            return true
        }
        return false
    }
}

/// One group of pending tasks in the policy's static order.
struct PendingGroup: Sendable {
    var key: PendingGroupKey
    var queue = SortedKeys<QueueOrderKey>()
    /// The cycle in which the group was passed over because its head could not start.
    var failedCycle = -1
    var memo: FitMemo?
}

/// The pending queue of a policy with a static order, split into groups (see ``PendingGroupKey``).
///
/// A cycle walks the groups merged by their heads' keys, which is the whole queue's order, and leaves a
/// group as soon as its head cannot start: the tasks behind it in the group ask for the same and have no
/// higher priority, so they cannot start either. A queue of 100,000 tasks of a few shapes then costs a few
/// placements per cycle, not 100,000.
struct PendingQueue: Sendable {
    private(set) var groups: [PendingGroup] = []
    private var index: [PendingGroupKey: Int] = [:]
    private var unused: [Int] = []

    /// Inserts the key into its group (made when missing); returns the group.
    mutating func insert(_ key: QueueOrderKey, into groupKey: PendingGroupKey) -> Int {
        let group: Int
        if let known = index[groupKey] {
            group = known
        } else if let reused = unused.popLast() {
            group = reused
            groups[group] = PendingGroup(key: groupKey)
            index[groupKey] = group
        } else {
            group = groups.count
            groups.append(PendingGroup(key: groupKey))
            index[groupKey] = group
        }
        groups[group].queue.insert(key)
        // A new head may find room or victims where the remembered one did not.
        if let memo = groups[group].memo, key < memo.head { groups[group].memo = nil }
        return group
    }

    /// Removes the key from its group; an emptied group is recycled.
    @discardableResult
    mutating func remove(_ key: QueueOrderKey, from group: Int) -> Bool {
        guard group >= 0, group < groups.count, groups[group].queue.remove(key) else { return false }
        if groups[group].queue.count == 0 {
            index[groups[group].key] = nil
            groups[group].memo = nil
            unused.append(group)
        }
        return true
    }

    mutating func setFailed(_ group: Int, cycle: Int, memo: FitMemo?) {
        groups[group].failedCycle = cycle
        groups[group].memo = memo
    }

    /// Every group with tasks.
    var liveGroups: [Int] { groups.indices.filter { groups[$0].queue.count > 0 } }
}

/// A cycle's walk through a ``PendingQueue`` in the merged static order.
///
/// The walk holds positions into the queue, so the queue must not change while it runs (the scheduler
/// defers order changes to the end of the cycle).
struct MergedWalk {
    struct Head: Comparable {
        var key: QueueOrderKey
        var group: Int
        var position: SortedKeys<QueueOrderKey>.Position

        // Sequences are unique, so the key alone orders heads.
        static func < (lhs: Self, rhs: Self) -> Bool { lhs.key < rhs.key }
        static func == (lhs: Self, rhs: Self) -> Bool { lhs.key == rhs.key }
    }

    private var heap: Heap<Head> = []
    private var current: Head?

    init(_ queue: PendingQueue, groups: [Int]) {
        var heads: [Head] = []
        heads.reserveCapacity(groups.count)
        for group in groups {
            if let position = queue.groups[group].queue.firstPosition {
                heads.append(Head(key: queue.groups[group].queue[position], group: group, position: position))
            }
        }
        heap = Heap(heads)
    }

    /// The next task: its slot and group.
    mutating func next() -> (slot: Int, group: Int)? {
        guard let head = heap.popMin() else { return nil }
        current = head
        return (head.key.slot, head.group)
    }

    /// Goes on with the current task's group (after a start, or a task that did not start for a reason of its own).
    mutating func advance(_ queue: PendingQueue) {
        guard let head = current else { return }
        current = nil
        let sorted = queue.groups[head.group].queue
        if let position = sorted.position(after: head.position) {
            heap.insert(Head(key: sorted[position], group: head.group, position: position))
        }
    }

    /// Leaves the current task's group for the rest of the cycle.
    mutating func leaveGroup() { current = nil }
}
