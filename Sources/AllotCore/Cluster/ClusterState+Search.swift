extension ClusterState {
    /// Whether the device is of the model the demand asks for (any, when it names none).
    func serves(_ demand: Demand, device: Int) -> Bool { demand.modelKey == 0 || devices[device].modelKey == demand.modelKey }

    /// How many of the node's devices are free and of the model the demand asks for.
    func freeDevices(for demand: Demand, node: Int) -> Int {
        var count = 0
        for device in deviceRange(node) where devices[device].isFree && serves(demand, device: device) { count += 1 }
        return count
    }

    /// Finds where one replica goes under a strategy, or `nil` when it fits nowhere now.
    ///
    /// Ordinary work walks the strategy's index from the candidates with enough of the primary resource;
    /// critical work, which may use the headroom the indexes leave out, scans every node.
    func findPlacement(_ demand: Demand, strategy: any PlacementStrategy) -> Choice? {
        if demand.critical { return scanAll(demand, strategy: strategy) }
        if strategy.measuresFragmentation { return fragmentationPlacement(demand) }
        let window = strategy.window
        var best: Choice?
        var bestScore = -Double.infinity
        var feasible = 0
        visitCandidates(for: demand) { candidate in
            guard let choice = choice(demand, candidate: candidate) else { return true }
            if window == 1 {
                best = choice
                return false
            }
            let score = strategy.score(utilizationAfter: utilizationAfter(demand, choice))
            if score > bestScore {
                bestScore = score
                best = choice
            }
            feasible += 1
            return feasible < window
        }
        return best
    }

    /// Where the replica would go at a candidate of ``visitCandidates(for:_:)`` (a device for a share of one
    /// device, else a node), or `nil` when it does not fit there.
    func choice(_ demand: Demand, candidate: Int) -> Choice? {
        if demand.sharesDevices {
            let node = devices[candidate].node
            guard amountsFit(demand, node: node) else { return nil }
            if demand.deviceCount == 1 {
                guard modelMatches(candidate, demand.modelKey) else { return nil }
                return Choice(node: node, devices: [candidate])
            }
            return pickDevices(demand, node: node).map { Choice(node: node, devices: $0) }
        }
        guard amountsFit(demand, node: candidate) else { return nil }
        return pickDevices(demand, node: candidate).map { Choice(node: candidate, devices: $0) }
    }

    /// Whether the replica fits on this node now, and on which devices.
    func fit(_ demand: Demand, node slot: Int) -> Choice? {
        guard nodes[slot].alive, nodes[slot].schedulable, amountsFit(demand, node: slot), let chosen = pickDevices(demand, node: slot) else {
            return nil
        }
        return Choice(node: slot, devices: chosen)
    }

    func amountsFit(_ demand: Demand, node slot: Int) -> Bool {
        let node = nodes[slot]
        return Amounts.fits(demand.amounts, used: node.allocated, limit: demand.critical ? node.capacity : node.limit)
    }

    private func modelMatches(_ device: Int, _ key: Int) -> Bool { key == 0 || devices[device].modelKey == key }

    private func shareRoom(_ device: Int, critical: Bool) -> Int64 {
        let record = devices[device]
        return (critical ? record.capacity : record.limit) - record.used
    }

    /// The devices a replica takes on a node: free whole devices (one topology group when possible), or
    /// devices with room for its share, in the strategy's order.
    func pickDevices(_ demand: Demand, node slot: Int) -> [Int]? {
        guard demand.deviceCount > 0 else { return [] }
        let range = deviceRange(slot)
        if !demand.sharesDevices {
            let free = range.filter { modelMatches($0, demand.modelKey) && devices[$0].isFree }
            guard free.count >= demand.deviceCount else { return nil }
            if demand.deviceCount > 1 {
                var groups: [String: [Int]] = [:]
                for device in free {
                    if let group = nodes[slot].spec.gpus[device - nodes[slot].firstDevice].topology { groups[group, default: []].append(device) }
                }
                if let group = groups.keys.sorted().first(where: { groups[$0]!.count >= demand.deviceCount }) {
                    return Array(groups[group]!.prefix(demand.deviceCount))
                }
            }
            return Array(free.prefix(demand.deviceCount))
        }
        var fitting = range.filter {
            modelMatches($0, demand.modelKey) && !devices[$0].exclusive && shareRoom($0, critical: demand.critical) >= demand.shareBytes
        }
        guard fitting.count >= demand.deviceCount else { return nil }
        switch order {
        case .lowestID: break
        case .ascendingFree: fitting.sort { (shareRoom($0, critical: false), $0) < (shareRoom($1, critical: false), $1) }
        case .descendingFree: fitting.sort { (shareRoom($0, critical: false), -$0) > (shareRoom($1, critical: false), -$1) }
        }
        return Array(fitting.prefix(demand.deviceCount))
    }

    /// The mean utilization, after placing, of every resource the replica asks for on its node.
    func utilizationAfter(_ demand: Demand, _ choice: Choice) -> Double {
        let node = nodes[choice.node]
        var total = 0.0
        var count = 0.0
        func add(_ used: Int64, _ capacity: Int64) {
            guard capacity > 0 else { return }
            total += Double(used) / Double(capacity)
            count += 1
        }
        if demand.amounts.cpu > 0 { add(node.allocated.cpu + demand.amounts.cpu, node.capacity.cpu) }
        if demand.amounts.memory > 0 { add(node.allocated.memory + demand.amounts.memory, node.capacity.memory) }
        if demand.deviceCount > 0 {
            if demand.sharesDevices {
                for device in choice.devices { add(devices[device].used + demand.shareBytes, devices[device].capacity) }
            } else {
                let range = deviceRange(choice.node).filter { modelMatches($0, demand.modelKey) }
                add(Int64(range.count { !devices[$0].isFree } + demand.deviceCount), Int64(range.count))
            }
        }
        return count == 0 ? 0 : total / count
    }

    /// The primary free amount a strategy orders by, for the linear scan.
    private func primaryFree(_ demand: Demand, _ choice: Choice) -> Int64 {
        let node = nodes[choice.node]
        if demand.deviceCount > 0 {
            if demand.sharesDevices { return choice.devices.map { shareRoom($0, critical: true) }.min() ?? 0 }
            return Int64(deviceRange(choice.node).count { modelMatches($0, demand.modelKey) && devices[$0].isFree })
        }
        if demand.amounts.cpu > 0 || demand.amounts.memory == 0 { return node.capacity.cpu - node.allocated.cpu }
        return node.capacity.memory - node.allocated.memory
    }

    private func scanAll(_ demand: Demand, strategy: any PlacementStrategy) -> Choice? {
        if demand.deviceCount == 0 {
            // As for ordinary work: plain nodes first, GPU nodes only when none fits.
            return scan(demand, strategy: strategy) { nodes[$0].deviceCount == 0 } ?? scan(demand, strategy: strategy) { nodes[$0].deviceCount > 0 }
        }
        return scan(demand, strategy: strategy) { _ in true }
    }

    private func scan(_ demand: Demand, strategy: any PlacementStrategy, where include: (Int) -> Bool) -> Choice? {
        var best: Choice?
        var bestKey = -Double.infinity
        for slot in nodes.indices where include(slot) {
            guard let choice = fit(demand, node: slot) else { continue }
            let key: Double
            if strategy.window > 1 {
                key = strategy.score(utilizationAfter: utilizationAfter(demand, choice))
            } else {
                switch strategy.order {
                case .lowestID: return choice
                case .ascendingFree: key = -Double(primaryFree(demand, choice))
                case .descendingFree: key = Double(primaryFree(demand, choice))
                }
            }
            if key > bestKey {
                bestKey = key
                best = choice
            }
        }
        return best
    }
}
