/// The order in which a strategy visits candidate nodes or devices.
public enum CandidateOrder: Sendable, Equatable {
    /// Join order (first-fit).
    case lowestID
    /// Least free primary resource first (best-fit, binpack).
    case ascendingFree
    /// Most free primary resource first (worst-fit, spread).
    case descendingFree
}

/// Candidates (nodes or devices) keyed by the free amount of one resource, visited in a strategy's order
/// starting from those that have at least the demanded amount.
struct CandidateIndex: Sendable {
    private let order: CandidateOrder
    private var tree = MaxSegmentTree()
    private var sorted = SortedKeys<CandidateKey>()
    private var values: [Int64] = []

    init(order: CandidateOrder) { self.order = order }

    /// The current value of a slot, or `nil` when it is not in the index.
    func value(of slot: Int) -> Int64? {
        slot < values.count && values[slot] != MaxSegmentTree.absent ? values[slot] : nil
    }

    /// Sets (or with `nil` removes) a slot's free amount.
    mutating func set(_ slot: Int, _ newValue: Int64?) {
        if slot >= values.count { values.append(contentsOf: repeatElement(MaxSegmentTree.absent, count: slot + 1 - values.count)) }
        let old = values[slot]
        let new = newValue ?? MaxSegmentTree.absent
        guard old != new else { return }
        values[slot] = new
        if order == .lowestID {
            tree.update(slot, new)
        } else {
            if old != MaxSegmentTree.absent { sorted.remove(CandidateKey(value: old, id: keyID(slot))) }
            if new != MaxSegmentTree.absent { sorted.insert(CandidateKey(value: new, id: keyID(slot))) }
        }
    }

    /// Descending visits must still break ties by the lowest slot, so that index stores slots negated.
    private func keyID(_ slot: Int) -> Int32 { order == .descendingFree ? Int32(-slot - 1) : Int32(slot) }
    private func slot(of id: Int32) -> Int { order == .descendingFree ? Int(-id - 1) : Int(id) }

    /// Visits slots with value `>= demand` in this index's order until `body` returns `false`; returns
    /// `false` when `body` stopped the visit.
    @discardableResult
    func visit(atLeast demand: Int64, _ body: (Int) -> Bool) -> Bool {
        switch order {
        case .lowestID:
            var start = 0
            while let slot = tree.first(atLeast: demand, from: start) {
                if !body(slot) { return false }
                start = slot + 1
            }
        case .ascendingFree:
            var position = sorted.lowerBound(CandidateKey(value: demand, id: Int32.min))
            while let current = position {
                if !body(slot(of: sorted[current].id)) { return false }
                position = sorted.position(after: current)
            }
        case .descendingFree:
            var position = sorted.lastPosition
            while let current = position {
                let key = sorted[current]
                if key.value < demand { return true }
                if !body(slot(of: key.id)) { return false }
                position = sorted.position(before: current)
            }
        }
        return true
    }
}
