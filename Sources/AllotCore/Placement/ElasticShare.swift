/// Max-min fair water-filling: shares `available` among claims, none getting more than it asks, the
/// smallest claims satisfied first and the rest split evenly.
public enum ElasticShare {
    public static func waterFill(_ available: Int64, claims: [Int64]) -> [Int64] {
        var grants = Array(repeating: Int64(0), count: claims.count)
        var remaining = max(0, available)
        let order = claims.indices.sorted { claims[$0] != claims[$1] ? claims[$0] < claims[$1] : $0 < $1 }
        for (position, index) in order.enumerated() {
            let share = remaining / Int64(order.count - position)
            let grant = min(max(0, claims[index]), share)
            grants[index] = grant
            remaining -= grant
        }
        return grants
    }
}

extension Scheduler {
    /// Re-shares each changed node's spare CPU and memory (below the headroom) among its elastic replicas, up to their limits.
    /// Returns resize actions for tasks whose grant changed, except those just bound (their bind carries it).
    mutating func reshareElastic(except justBound: Set<Int>) -> [SchedulerAction] {
        var actions: [SchedulerAction] = []
        for node in dirtyNodes.sorted() where cluster.nodes[node].alive {
            var replicas: [(slot: Int, replica: Int)] = []
            for slot in nodeTasks[node].sorted() where tasks[slot]!.isElastic {
                for (replica, choice) in tasks[slot]!.choices.enumerated() where choice.node == node { replicas.append((slot, replica)) }
            }
            let record = cluster.nodes[node]
            var extras = Amounts.zero
            if !replicas.isEmpty {
                let cpuClaims = replicas.map { entry in
                    let spec = tasks[entry.slot]!.spec
                    return max(0, (spec.limits?.cpuMillis ?? 0) - spec.requests.resources.cpuMillis)
                }
                let memoryClaims = replicas.map { entry in
                    let spec = tasks[entry.slot]!.spec
                    return max(0, (spec.limits?.memoryBytes ?? 0) - spec.requests.resources.memoryBytes)
                }
                let cpuGrants = ElasticShare.waterFill(record.limit.cpu - record.allocated.cpu, claims: cpuClaims)
                let memoryGrants = ElasticShare.waterFill(record.limit.memory - record.allocated.memory, claims: memoryClaims)
                for (position, entry) in replicas.enumerated() {
                    var task = tasks[entry.slot]!
                    let changed = task.extraCPU[entry.replica] != cpuGrants[position] || task.extraMemory[entry.replica] != memoryGrants[position]
                    task.extraCPU[entry.replica] = cpuGrants[position]
                    task.extraMemory[entry.replica] = memoryGrants[position]
                    tasks[entry.slot] = task
                    extras.cpu += cpuGrants[position]
                    extras.memory += memoryGrants[position]
                    if changed && !justBound.contains(entry.slot) {
                        actions.append(
                            .resize(
                                task.spec.id,
                                replica: entry.replica,
                                cpuMillis: task.demand.amounts.cpu + cpuGrants[position],
                                memoryBytes: task.demand.amounts.memory + memoryGrants[position]
                            )
                        )
                    }
                }
            }
            nodeExtras[node] = extras
        }
        dirtyNodes.removeAll(keepingCapacity: true)
        return actions
    }
}
