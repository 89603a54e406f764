/// Fragmentation-aware GPU packing (after Weng et al., "Beware of Fragmentation: Scheduling GPU-Sharing
/// Workloads with Fragmentation Gradient Descent", USENIX ATC'23).
///
/// A node's fragmentation for one kind of request is the unallocated GPU capacity on it that such a request
/// could not use: all of it when the request cannot run there at all (too little CPU or memory, too few
/// devices of its model with room), otherwise the free parts of devices too full (or of another model) for
/// it. A request that asks for no GPU can use none of it. Weighted by how often each kind of request arrives
/// (``RequestMix``, learned from submissions), that is the node's expected fragmentation; each replica goes
/// where it increases the expected fragmentation of the cluster the least, ties to the tightest candidate.
///
/// Work that asks for no GPU still goes to a GPU node only when no plain node fits; critical work, which may
/// use the headroom, is placed as under best-fit.
public struct FragmentationAware: PlacementStrategy {
    public init() {}
    public var name: String { "fragmentation" }
    public var order: CandidateOrder { .lowestID }
    public var measuresFragmentation: Bool { true }
}

/// The recent mix of replica demands, by kind, with exponentially decaying weights: each new demand counts 1
/// and older ones fade by ``decay`` per arrival (about the last hundred count), so the mix follows the
/// workload. At most ``capacity`` kinds are kept; the lightest goes first. (On `allot bench packing --nodes
/// 1000`, seed 1, a decay of 0.99 left 29.9 GPUs unallocated when the arrived demand reached the cluster, 0.999
/// left 34.8 and 0.9999 left 38.0; with 0.99, 16 or 64 kinds instead of 32 changed little.)
struct RequestMix: Sendable {
    private(set) var kinds: [Demand] = []
    private var weights: [Double] = []
    private var scale = 1.0
    static let decay = 0.99
    static let capacity = 32

    mutating func observe(_ demand: Demand) {
        scale /= Self.decay
        if scale > 1e100 {
            for index in weights.indices { weights[index] /= scale }
            scale = 1
        }
        if let index = kinds.firstIndex(of: demand) {
            weights[index] += scale
            return
        }
        if kinds.count >= Self.capacity, let lightest = weights.indices.min(by: { weights[$0] < weights[$1] }) {
            kinds.remove(at: lightest)
            weights.remove(at: lightest)
        }
        kinds.append(demand)
        weights.append(scale)
    }

    /// Each kind with its share of the mix (summing to 1).
    var shares: [(demand: Demand, share: Double)] {
        let total = weights.reduce(0, +)
        guard total > 0 else { return [] }
        return zip(kinds, weights).map { ($0, $1 / total) }
    }
}

extension ClusterState {
    /// The replica's placement under ``FragmentationAware``: every feasible candidate is scored.
    func fragmentationPlacement(_ demand: Demand) -> Choice? {
        let mix = requestMix.shares
        var best: Choice?
        var bestDelta = Double.infinity
        // Each node's expected fragmentation as it stands, worked out once however many of its devices are
        // candidates.
        var standing: [Int: Double] = [:]
        func consider(_ choice: Choice) {
            let before = standing[choice.node] ?? expectedFragmentation(choice.node, mix: mix)
            standing[choice.node] = before
            let delta = expectedFragmentation(choice.node, mix: mix, adding: demand, on: choice.devices) - before
            if delta < bestDelta - 1e-9 {
                bestDelta = delta
                best = choice
            }
        }
        if demand.deviceCount == 0 {
            // Plain nodes first, as for every strategy; GPU nodes only when none fits.
            for plain in [true, false] {
                visitCandidates(for: demand) { node in
                    if (nodes[node].deviceCount == 0) == plain, amountsFit(demand, node: node) {
                        consider(Choice(node: node, devices: []))
                    }
                    return true
                }
                if best != nil { return best }
            }
            return nil
        }
        visitCandidates(for: demand) { candidate in
            if let choice = choice(demand, candidate: candidate) { consider(choice) }
            return true
        }
        return best
    }

    /// The node's unallocated GPU capacity that each kind in `mix` could not use, weighted by its share; with
    /// `adding`, as if that replica were placed on `chosen`.
    func expectedFragmentation(_ slot: Int, mix: [(demand: Demand, share: Double)], adding: Demand? = nil, on chosen: [Int] = []) -> Double {
        let node = nodes[slot]
        guard node.deviceCount > 0 else { return 0 }
        var allocated = node.allocated
        if let adding { allocated.add(adding.amounts) }
        // Per device: free fraction, memory room for ordinary work, whether wholly free, model.
        var free: [Double] = []
        var room: [Int64] = []
        var whole: [Bool] = []
        var models: [Int] = []
        var unallocated = 0.0
        for device in deviceRange(slot) {
            var record = devices[device]
            if let adding, chosen.contains(device) {
                if adding.sharesDevices {
                    record.used += adding.shareBytes
                    record.sharers += 1
                } else {
                    record.exclusive = true
                }
            }
            let fraction = record.exclusive || record.capacity <= 0 ? 0 : max(0, Double(record.capacity - record.used) / Double(record.capacity))
            free.append(fraction)
            room.append(record.exclusive ? 0 : record.limit - record.used)
            whole.append(record.isFree)
            models.append(record.modelKey)
            unallocated += fraction
        }
        var expected = 0.0
        for (kind, share) in mix {
            // A kind that could never run here, even on the empty node (another model, more devices than it
            // has, more CPU or memory), is left out: no placement changes that, and counting its whole capacity
            // would reward using up the nodes that kind cannot use, which starves the work pinned to them.
            if kind.deviceCount > 0 {
                let devicesOfModel = kind.modelKey == 0 ? models.count : models.count { $0 == kind.modelKey }
                if devicesOfModel < kind.deviceCount || !node.limit.dominates(kind.amounts) { continue }
            }
            guard kind.deviceCount > 0, Amounts.fits(kind.amounts, used: allocated, limit: node.limit) else {
                expected += share * unallocated
                continue
            }
            var usable = 0.0
            var count = 0
            for index in free.indices where kind.modelKey == 0 || models[index] == kind.modelKey {
                if kind.sharesDevices ? room[index] >= kind.shareBytes : whole[index] {
                    usable += free[index]
                    count += 1
                }
            }
            expected += share * (count >= kind.deviceCount ? unallocated - usable : unallocated)
        }
        return expected
    }
}
