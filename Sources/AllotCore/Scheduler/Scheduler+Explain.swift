extension Scheduler {
    /// Why a pending task is not running, in words naming the exhausted resource, or `nil` if it runs or is unknown.
    public func pendingReason(_ id: TaskID) -> String? {
        guard let slot = taskSlots[id], let record = tasks[slot], record.phase == .pending else { return nil }
        switch currentOutcome(record) {
        case .notConsidered: return "not yet considered by a scheduling cycle"
        case .heldAfterPreemption: return "preempted by higher-priority work; waits for the next cycle"
        case .quota(let problem): return problem
        case .blockedBehind(let head):
            let name = tasks[head].map { $0.spec.id.rawValue } ?? "an earlier task"
            return "waits behind \(name), which does not fit yet (\(configuration.policy.name) order; enable backfill to let smaller tasks pass)"
        case .wouldDelay(let head):
            let name = tasks[head].map { $0.spec.id.rawValue } ?? "the head task"
            return "fits now, but would delay the reservation of \(name) (backfill)"
        case .noFit:
            let reason = explainNoFit(record.demand, empty: false)
            return record.spec.gang > 1 ? "gang of \(record.spec.gang) cannot be placed whole: \(reason)" : reason
        }
    }

    /// Whether a pending task waits for capacity the cluster lacks: it fit no node in the last cycle, waits
    /// behind a head that fit none, or there is no schedulable node at all. New machines would start it; a
    /// task held by its quota or by backfill's reservation would not.
    public func waitsForCapacity(_ id: TaskID) -> Bool {
        guard let slot = taskSlots[id], let record = tasks[slot], record.phase == .pending else { return false }
        switch currentOutcome(record) {
        case .noFit, .blockedBehind: return true
        case .notConsidered: return !cluster.nodes.contains { $0.alive && $0.schedulable }
        case .quota, .wouldDelay, .heldAfterPreemption: return false
        }
    }

    /// Names the resource that stops a replica from fitting, on the current cluster or an empty one.
    func explainNoFit(_ demand: Demand, empty: Bool) -> String {
        var checks: [(name: String, need: Int64, best: Int64, format: (Int64) -> String)] = []
        var live: [Int] = []
        for slot in cluster.nodes.indices where cluster.nodes[slot].alive && (empty || cluster.nodes[slot].schedulable) { live.append(slot) }
        guard !live.isEmpty else { return empty ? "the cluster has no nodes" : "no node is schedulable (all cordoned or down)" }
        func free(_ slot: Int, _ value: (Amounts) -> Int64) -> Int64 {
            let node = cluster.nodes[slot]
            let limit = value(demand.critical ? node.capacity : node.limit)
            return empty ? limit : limit - value(node.allocated)
        }
        func best(_ value: @escaping (Amounts) -> Int64) -> Int64 { live.map { free($0, value) }.max() ?? 0 }
        let bytes = Quantity.formatBytes
        if demand.amounts.cpu > 0 { checks.append(("cpu", demand.amounts.cpu, best { $0.cpu }, Quantity.formatCPU)) }
        if demand.amounts.memory > 0 { checks.append(("memory", demand.amounts.memory, best { $0.memory }, bytes)) }
        if demand.amounts.disk > 0 { checks.append(("disk", demand.amounts.disk, best { $0.disk }, bytes)) }
        if demand.amounts.network > 0 { checks.append(("network", demand.amounts.network, best { $0.network }, { "\($0)bps" })) }
        for (key, need) in demand.amounts.extended.enumerated() where need > 0 {
            checks.append((cluster.extendedNames[key], need, best { $0.extended(key) }, { "\($0)" }))
        }
        let model = demand.modelKey == 0 ? "" : " \(cluster.modelNames[demand.modelKey])"
        if demand.deviceCount > 0 {
            func matches(_ device: Int) -> Bool { cluster.serves(demand, device: device) }
            if demand.sharesDevices {
                let room =
                    live.flatMap { slot in
                        cluster.deviceRange(slot).filter(matches).map { device -> Int64 in
                            let record = cluster.devices[device]
                            let limit = demand.critical ? record.capacity : record.limit
                            return empty ? limit : (record.exclusive ? 0 : limit - record.used)
                        }
                    }.max() ?? 0
                checks.append(("memory on one\(model) GPU", demand.shareBytes, room, bytes))
            } else {
                let count =
                    live.map { slot in
                        Int64(cluster.deviceRange(slot).count { matches($0) && (empty || cluster.devices[$0].isFree) })
                    }.max() ?? 0
                checks.append(("free\(model) GPUs on one node", Int64(demand.deviceCount), count, { "\($0)" }))
            }
        }
        for check in checks where check.best < check.need {
            let place = empty ? "the largest node offers" : "at most"
            let tail = empty ? "" : " free on any node"
            return "insufficient \(check.name): needs \(check.format(check.need)), \(place) \(check.format(max(0, check.best)))\(tail)"
        }
        let wanted = checks.map { "\($0.name) \($0.format($0.need))" }.joined(separator: ", ")
        return empty ? "no single node offers all of \(wanted)" : "no single node has all of \(wanted) free at once"
    }
}
