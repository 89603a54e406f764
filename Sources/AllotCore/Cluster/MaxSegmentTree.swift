/// A segment tree of maxima over numbered slots, answering "the lowest slot at or after `start` whose
/// value is at least `demand`" in logarithmic time; it drives first-fit, where order is join order.
struct MaxSegmentTree: Sendable {
    static let absent = Int64.min
    private var leaves = 1
    private var tree: [Int64] = [absent, absent]

    init() {}

    /// Sets a slot's value (``absent`` removes it) and recomputes its ancestors.
    mutating func update(_ slot: Int, _ value: Int64) {
        if slot >= leaves { grow(to: slot + 1) }
        var node = leaves + slot
        tree[node] = value
        node >>= 1
        while node >= 1 {
            tree[node] = max(tree[2 * node], tree[2 * node + 1])
            node >>= 1
        }
    }

    /// The lowest slot `>= start` whose value is `>= demand`, if any.
    func first(atLeast demand: Int64, from start: Int) -> Int? {
        guard start < leaves, tree[1] >= demand else { return nil }
        return search(node: 1, low: 0, high: leaves, start: start, demand: demand)
    }

    private func search(node: Int, low: Int, high: Int, start: Int, demand: Int64) -> Int? {
        if high <= start || tree[node] < demand { return nil }
        if high - low == 1 { return low }
        let mid = (low + high) >> 1
        if let found = search(node: 2 * node, low: low, high: mid, start: start, demand: demand) { return found }
        return search(node: 2 * node + 1, low: mid, high: high, start: start, demand: demand)
    }

    private mutating func grow(to needed: Int) {
        var newLeaves = leaves
        while newLeaves < needed { newLeaves <<= 1 }
        var newTree = [Int64](repeating: Self.absent, count: 2 * newLeaves)
        for slot in 0..<leaves { newTree[newLeaves + slot] = tree[leaves + slot] }
        var node = newLeaves - 1
        while node >= 1 {
            newTree[node] = max(newTree[2 * node], newTree[2 * node + 1])
            node -= 1
        }
        leaves = newLeaves
        tree = newTree
    }
}
