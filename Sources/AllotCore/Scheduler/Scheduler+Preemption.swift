extension Scheduler {
    /// Whether `preemptor` may evict `victim`: the victim must be preemptible and either of lower priority,
    /// non-critical when the preemptor is critical, or borrowing beyond its tenant's guarantee while the
    /// preemptor's tenant reclaims what it is guaranteed. Equal priorities never evict each other, so
    /// there is no ping-pong.
    func mayEvict(_ preemptor: TaskRecord, _ victim: TaskRecord) -> Bool {
        guard victim.spec.preemptible, victim.spec.id != preemptor.spec.id else { return false }
        if victim.spec.priority < preemptor.spec.priority { return true }
        if preemptor.spec.slaClass == .critical && victim.spec.slaClass != .critical { return true }
        return reclaims(preemptor, from: victim)
    }

    /// Whether the task would take its tenant past its guarantee (it would run on borrowed capacity).
    func borrowing(_ record: TaskRecord) -> Bool {
        guard let guaranteed = configuration.tenants[record.spec.tenant]?.guaranteed else { return false }
        return !((tenantUsage[record.spec.tenant] ?? .zero) + usage(of: record)).fits(within: guaranteed)
    }

    private func reclaims(_ preemptor: TaskRecord, from victim: TaskRecord) -> Bool {
        guard victim.spec.tenant != preemptor.spec.tenant, let guaranteed = configuration.tenants[preemptor.spec.tenant]?.guaranteed else {
            return false
        }
        let own = (tenantUsage[preemptor.spec.tenant] ?? .zero) + usage(of: preemptor)
        guard own.fits(within: guaranteed) else { return false }
        let victimGuarantee = configuration.tenants[victim.spec.tenant]?.guaranteed ?? .zero
        return !(tenantUsage[victim.spec.tenant] ?? .zero).fits(within: victimGuarantee)
    }

    /// Finds the fewest evictions that let every replica of the task at `slot` start. The cluster is left as
    /// it was; the replicas' choices hold once the victims are released.
    mutating func preemptFor(_ slot: Int) -> (victims: [Int], choices: [Choice])? {
        let record = tasks[slot]!
        // A list: each running task comes once, and building a set of them cost more than the search.
        var eligible: [Int] = []
        eligible.reserveCapacity(preemptibleRunning.count)
        let onlyByPriority = record.spec.slaClass != .critical && configuration.tenants[record.spec.tenant]?.guaranteed == nil
        let exempting = configuration.minimumRunSeconds > 0
        for victim in preemptibleRunning {
            // A task within its minimum run is not a candidate (``SchedulerConfiguration/minimumRunSeconds``).
            if exempting && runClocks[victim].exemptUntil > clock { continue }
            // Lower priority is the common case and needs no copy of the victim's record.
            if priorities[victim] < record.spec.priority {
                eligible.append(victim)
            } else if !onlyByPriority, mayEvict(record, tasks[victim]!) {
                eligible.append(victim)
            }
        }
        guard !eligible.isEmpty, mayHoldGang(record, evicting: eligible) else { return nil }
        var evicted: [Int] = []
        var placed: [Choice] = []
        func rollback(_ scheduler: inout Scheduler) {
            for choice in placed { scheduler.cluster.release(record.demand, choice) }
            for victim in evicted {
                for choice in scheduler.tasks[victim]!.choices { scheduler.cluster.allocate(scheduler.tasks[victim]!.demand, choice) }
            }
        }
        for _ in 0..<record.spec.gang {
            if let choice = cluster.findPlacement(record.demand, strategy: configuration.strategy) {
                cluster.allocate(record.demand, choice)
                placed.append(choice)
                continue
            }
            guard let (node, victims) = fewestVictims(record, among: evicted.isEmpty ? eligible : eligible.filter { !evicted.contains($0) }) else {
                rollback(&self)
                return nil
            }
            for victim in victims {
                for choice in tasks[victim]!.choices { cluster.release(tasks[victim]!.demand, choice) }
                evicted.append(victim)
            }
            guard let choice = cluster.fit(record.demand, node: node) else {
                rollback(&self)
                return nil
            }
            cluster.allocate(record.demand, choice)
            placed.append(choice)
        }
        // Leave the cluster as it was: the caller stops the victims and allocates the choices, in that order.
        for choice in placed { cluster.release(record.demand, choice) }
        for victim in evicted {
            for choice in tasks[victim]!.choices { cluster.allocate(tasks[victim]!.demand, choice) }
        }
        return (evicted.sorted { tasks[$0]!.sequence < tasks[$1]!.sequence }, placed)
    }

    /// The node where the fewest eligible tasks (a gang counts as all its replicas) must go for one more
    /// replica to fit; ties go to the lower total priority, then the earlier node.
    private mutating func fewestVictims(_ record: TaskRecord, among eligible: [Int]) -> (node: Int, victims: [Int])? {
        // Per node, each victim once (a victim's replicas on one node come one after the other).
        var byNode = [[Int]](repeating: [], count: cluster.nodes.count)
        for victim in eligible {
            for choice in tasks[victim]!.choices where byNode[choice.node].last != victim { byNode[choice.node].append(victim) }
        }
        var best: (cost: [Int], node: Int, victims: [Int])?
        // Work on the cluster itself, moved out so that the what-if releases below do not copy it; every
        // release is undone before it is moved back.
        var state = ClusterState(headroom: cluster.headroom, order: cluster.order)
        swap(&state, &cluster)
        defer { swap(&state, &cluster) }
        for node in byNode.indices where !byNode[node].isEmpty && state.nodes[node].alive && state.nodes[node].schedulable {
            guard mayFitWithout(byNode[node], record.demand, node: node, in: state) else { continue }
            // Sorted on keys read once, and each candidate's demand and choices read once for every probe below:
            // reading a record copies it whole.
            let candidates = byNode[node].map { slot -> Held in
                let record = tasks[slot]!
                return Held(
                    slot: slot,
                    priority: priorities[slot],
                    sequence: record.sequence,
                    gang: record.spec.gang,
                    demand: record.demand,
                    choices: record.choices
                )
            }
            .sorted { ($0.priority, -$0.sequence) < ($1.priority, -$1.sequence) }
            guard Self.fitsWithout(Array(candidates.indices), of: candidates, record, node: node, in: &state) else { continue }
            guard let chosen = Self.smallestSet(candidates, record, node: node, in: &state) else { continue }
            let victims = chosen.map { candidates[$0] }
            let cost = [victims.reduce(0) { $0 + $1.gang }, victims.reduce(0) { $0 + $1.priority }, node]
            if best == nil || cost.lexicographicallyPrecedes(best!.cost) { best = (cost, node, victims.map(\.slot)) }
        }
        return best.map { ($0.node, $0.victims) }
    }

    /// A quick bound for a gang of whole-device replicas: whether free devices and those the eligible
    /// victims hold could hold every replica at all (each replica on one node).
    private func mayHoldGang(_ record: TaskRecord, evicting eligible: [Int]) -> Bool {
        let demand = record.demand
        guard record.spec.gang > 1, demand.deviceCount > 0, !demand.sharesDevices else { return true }
        var available = [Int](repeating: 0, count: cluster.nodes.count)
        for node in cluster.nodes.indices where cluster.nodes[node].alive && cluster.nodes[node].schedulable {
            available[node] = cluster.freeDevices(for: demand, node: node)
        }
        // A device only shares hold is freed whole when they all go: counted once, as if it were.
        var shared = Set<Int>()
        for victim in eligible {
            let sharing = tasks[victim]!.demand.sharesDevices
            for choice in tasks[victim]!.choices {
                for device in choice.devices where cluster.serves(demand, device: device) && (!sharing || shared.insert(device).inserted) {
                    available[choice.node] += 1
                }
            }
        }
        var replicas = 0
        for node in cluster.nodes.indices where cluster.nodes[node].alive && cluster.nodes[node].schedulable {
            replicas += available[node] / demand.deviceCount
            if replicas >= record.spec.gang { return true }
        }
        return false
    }

    /// A quick bound before the probes: whether the node's free CPU, memory and whole devices, with all
    /// that the victims hold there, could hold one replica at all.
    private func mayFitWithout(_ victims: [Int], _ demand: Demand, node: Int, in state: ClusterState) -> Bool {
        let record = state.nodes[node]
        let limit = demand.critical ? record.capacity : record.limit
        var cpu = limit.cpu - record.allocated.cpu
        var memory = limit.memory - record.allocated.memory
        let wholeDevices = demand.deviceCount > 0 && !demand.sharesDevices
        var devices = wholeDevices ? state.freeDevices(for: demand, node: node) : 0
        // A device only shares hold is freed whole when they all go: counted once, as if it were.
        var shared: [Int] = []
        for victim in victims {
            let (held, choices) = (tasks[victim]!.demand, tasks[victim]!.choices)
            for choice in choices where choice.node == node {
                cpu += held.amounts.cpu
                memory += held.amounts.memory
                guard wholeDevices else { continue }
                for device in choice.devices where state.serves(demand, device: device) {
                    if held.sharesDevices {
                        if shared.contains(device) { continue }
                        shared.append(device)
                    }
                    devices += 1
                }
            }
        }
        return cpu >= demand.amounts.cpu && memory >= demand.amounts.memory && (!wholeDevices || devices >= demand.deviceCount)
    }

    /// A candidate victim on one node: what a probe releases and takes back.
    struct Held {
        var slot: Int
        var priority: Int
        var sequence: Int
        var gang: Int
        var demand: Demand
        var choices: [Choice]
    }

    /// Whether the task fits on `node` once the candidates at `victims` are gone. A probe: the node's amounts
    /// and devices are released and taken back without touching the candidate indexes, which end as they began.
    static func fitsWithout(_ victims: [Int], of candidates: [Held], _ record: TaskRecord, node: Int, in state: inout ClusterState) -> Bool {
        for victim in victims {
            for choice in candidates[victim].choices { state.release(candidates[victim].demand, choice, reindex: false) }
        }
        let fits = state.fit(record.demand, node: node) != nil
        for victim in victims {
            for choice in candidates[victim].choices { state.allocate(candidates[victim].demand, choice, reindex: false) }
        }
        return fits
    }

    /// The smallest subset that makes room (positions in `candidates`): exhaustive by size for up to 12
    /// candidates, otherwise greedy (lowest priority first) with a pass that drops every victim not needed.
    private static func smallestSet(_ candidates: [Held], _ record: TaskRecord, node: Int, in state: inout ClusterState) -> [Int]? {
        if candidates.count <= 12 {
            // For whole devices, a subset that frees too few of them cannot do: counted, not probed. A share
            // counts its device as freed (it is, once the device's last share goes): a bound, never too low.
            let demand = record.demand
            let counting = demand.deviceCount > 0 && !demand.sharesDevices
            var short = 0
            var freed: [Int] = []
            if counting {
                short = demand.deviceCount - state.freeDevices(for: demand, node: node)
                freed = candidates.map { held in
                    var count = 0
                    for choice in held.choices where choice.node == node {
                        for device in choice.devices where state.serves(demand, device: device) { count += 1 }
                    }
                    return count
                }
            }
            for size in 1...candidates.count {
                var found: [Int]?
                forEachCombination(of: candidates.count, size: size) { subset in
                    if short > 0 {
                        var gained = 0
                        for member in subset { gained += freed[member] }
                        if gained < short { return true }
                    }
                    if fitsWithout(subset, of: candidates, record, node: node, in: &state) {
                        found = subset
                        return false
                    }
                    return true
                }
                if let found { return found }
            }
            return nil
        }
        var chosen: [Int] = []
        for candidate in candidates.indices {
            chosen.append(candidate)
            if fitsWithout(chosen, of: candidates, record, node: node, in: &state) { break }
        }
        guard fitsWithout(chosen, of: candidates, record, node: node, in: &state) else { return nil }
        for victim in chosen.reversed() {
            let without = chosen.filter { $0 != victim }
            if fitsWithout(without, of: candidates, record, node: node, in: &state) { chosen = without }
        }
        return chosen
    }
}

/// A cheap bound, kept through one cycle, on whether a preemption search can find any victim at all: most
/// pending work in a busy queue cannot evict anything (nothing preemptible runs below its priority), and a
/// search would only prove that at the cost of a pass over the running tasks.
struct PreemptionGate {
    /// At most the lowest priority among preemptible running tasks (starts lower it; evictions may leave it low).
    var lowestPriority: Int
    var anyNonCritical: Bool
    let guaranteedTenants: Set<TenantID>

    init(_ scheduler: Scheduler) {
        lowestPriority = .max
        anyNonCritical = false
        for slot in scheduler.preemptibleRunning {
            lowestPriority = min(lowestPriority, scheduler.tasks[slot]!.spec.priority)
            if scheduler.tasks[slot]!.spec.slaClass != .critical { anyNonCritical = true }
        }
        guaranteedTenants = Set(scheduler.configuration.tenants.filter { $0.value.guaranteed != nil }.keys)
    }

    /// `false` only when ``Scheduler/mayEvict(_:_:)`` is false for every preemptible running task.
    func mayFindVictims(_ record: TaskRecord) -> Bool {
        if lowestPriority < record.spec.priority { return true }
        if record.spec.slaClass == .critical && anyNonCritical { return true }
        return guaranteedTenants.contains(record.spec.tenant)
    }

    mutating func started(_ record: TaskRecord) {
        guard record.spec.preemptible else { return }
        lowestPriority = min(lowestPriority, record.spec.priority)
        if record.spec.slaClass != .critical { anyNonCritical = true }
    }
}

/// Calls `body` with each `size`-subset of `0..<count` in lexicographic order until it returns `false`.
func forEachCombination(of count: Int, size: Int, _ body: ([Int]) -> Bool) {
    guard size > 0, size <= count else { return }
    var indices = Array(0..<size)
    while true {
        if !body(indices) { return }
        var position = size - 1
        while position >= 0 && indices[position] == count - size + position { position -= 1 }
        if position < 0 { return }
        indices[position] += 1
        for next in (position + 1)..<size { indices[next] = indices[next - 1] + 1 }
    }
}
