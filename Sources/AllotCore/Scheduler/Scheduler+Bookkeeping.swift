extension Scheduler {
    /// What a whole task (all replicas) takes, for fair sharing and quotas.
    func usage(of record: TaskRecord) -> UsageVector {
        let replicas = Double(record.spec.gang)
        let demand = record.demand
        return UsageVector(
            cpuMillis: Double(demand.amounts.cpu) * replicas,
            memoryBytes: Double(demand.amounts.memory) * replicas,
            gpus: demand.sharesDevices ? 0 : Double(demand.deviceCount) * replicas,
            gpuMemoryBytes: demand.sharesDevices ? Double(demand.shareBytes) * Double(demand.deviceCount) * replicas : 0
        )
    }

    mutating func markRunning(_ slot: Int, _ choices: [Choice]) {
        // Changed in place: a copy of the whole record costs more than the rest of a start.
        tasks[slot]!.phase = .running
        tasks[slot]!.choices = choices
        // Only elastic replicas are granted extras (and only theirs are read by index).
        if tasks[slot]!.isElastic {
            tasks[slot]!.extraCPU = Array(repeating: 0, count: choices.count)
            tasks[slot]!.extraMemory = Array(repeating: 0, count: choices.count)
        }
        tasks[slot]!.outcome = .notConsidered
        dequeue(slot)
        serviceStarted(slot, now: clock)
        running.insert(slot)
        if tasks[slot]!.spec.preemptible {
            preemptibleRunning.insert(slot)
            victims.record(tasks[slot]!.spec.priority)
            exempt(slot)
        }
        for choice in choices {
            nodeTasks[choice.node].insert(slot)
            dirtyNodes.insert(choice.node)
        }
        let tenant = tasks[slot]!.spec.tenant
        tenantUsage[tenant, default: .zero] = (tenantUsage[tenant] ?? .zero) + usage(of: tasks[slot]!)
    }

    /// Releases a running task's resources and puts it back in the queue.
    mutating func stopRunning(_ slot: Int) {
        guard tasks[slot]!.phase == .running else { return }
        serviceStopped(slot)
        fitVersion += 1
        var record = tasks[slot]!
        for choice in record.choices {
            cluster.release(record.demand, choice)
            nodeTasks[choice.node].remove(slot)
            dirtyNodes.insert(choice.node)
        }
        tenantUsage[record.spec.tenant] = (tenantUsage[record.spec.tenant] ?? .zero) - usage(of: record)
        record.phase = .pending
        record.choices = []
        record.extraCPU = []
        record.extraMemory = []
        record.started = nil
        record.expectedEnd = nil
        tasks[slot] = record
        running.remove(slot)
        preemptibleRunning.remove(slot)
        setOutcome(slot, .notConsidered)
        serviceQueued(slot, now: clock)
        enqueue(slot)
    }

    /// A task joins the pending queue (and its place in a static order).
    mutating func enqueue(_ slot: Int) {
        guard pending.insert(slot).inserted, queue != nil else { return }
        if deferredOrder != nil {
            deferredOrder!.append(slot)
        } else {
            insertOrdered(slot)
        }
    }

    /// A task leaves the pending queue.
    mutating func dequeue(_ slot: Int) {
        guard pending.remove(slot) != nil, queue != nil else { return }
        if deferredOrder != nil {
            deferredOrder!.append(slot)
        } else {
            removeOrdered(slot)
        }
    }

    mutating func insertOrdered(_ slot: Int) {
        let record = tasks[slot]!
        let key: PendingGroupKey =
            configuration.policy.staticOrder != nil ? .shape(record.demand, gang: record.spec.gang) : .tenant(record.spec.tenant)
        tasks[slot]!.group = queue!.insert(orderKey(slot), into: key)
    }

    mutating func removeOrdered(_ slot: Int) {
        if queue!.remove(orderKey(slot), from: tasks[slot]!.group) { tasks[slot]!.group = -1 }
    }

    func orderKey(_ slot: Int) -> QueueOrderKey {
        let record = tasks[slot]!
        let order = configuration.policy.staticOrder ?? configuration.policy.orderWithinTenant
        let rank = order == .priority ? -record.spec.priority : 0
        return QueueOrderKey(rank: rank, sequence: record.sequence, slot: slot)
    }

    /// Records why a pending task did not start, for the current cycle.
    mutating func setOutcome(_ slot: Int, _ outcome: PendingOutcome) {
        tasks[slot]!.outcome = outcome
        tasks[slot]!.outcomeCycle = cycleCount
    }

    /// The outcome of the last cycle for a pending task: one it was not reached in was stopped by the
    /// strict-order head, if there was one.
    func currentOutcome(_ record: TaskRecord) -> PendingOutcome {
        if record.outcomeCycle == cycleCount { return record.outcome }
        // Passed over with its group, whose head could not start.
        if record.group >= 0, let queue, queue.groups[record.group].failedCycle == cycleCount { return .noFit }
        return lastStoppedBy.map { .blockedBehind($0) } ?? .notConsidered
    }

    func replicaPlacements(_ record: TaskRecord) -> [ReplicaPlacement] {
        record.choices.enumerated().map { replica, choice in
            ReplicaPlacement(
                node: cluster.nodes[choice.node].spec.id,
                gpuIndices: choice.devices.map { cluster.devices[$0].index },
                gpuMemoryBytes: record.demand.sharesDevices ? record.demand.shareBytes : nil,
                cpuMillis: record.demand.amounts.cpu + (replica < record.extraCPU.count ? record.extraCPU[replica] : 0),
                memoryBytes: record.demand.amounts.memory + (replica < record.extraMemory.count ? record.extraMemory[replica] : 0)
            )
        }
    }

    /// The schedulable totals that shares are fractions of.
    func clusterTotals() -> UsageVector {
        var total = UsageVector.zero
        for slot in cluster.nodes.indices where cluster.nodes[slot].alive && cluster.nodes[slot].schedulable {
            let node = cluster.nodes[slot]
            total.cpuMillis += Double(node.capacity.cpu)
            total.memoryBytes += Double(node.capacity.memory)
            total.gpus += Double(node.deviceCount)
            for device in cluster.deviceRange(slot) { total.gpuMemoryBytes += Double(cluster.devices[device].capacity) }
        }
        return total
    }

    /// Why a tenant's limit stops this task, if it does.
    func quotaProblem(_ record: TaskRecord) -> String? {
        guard let limit = configuration.tenants[record.spec.tenant]?.limit else { return nil }
        let after = (tenantUsage[record.spec.tenant] ?? .zero) + usage(of: record)
        guard let excess = after.excess(over: limit) else { return nil }
        return "tenant \(record.spec.tenant) limit: \(excess) with this task"
    }

    /// Places every replica of a gang on `state` under the strategy, or none.
    static func placeGang(_ demand: Demand, count: Int, strategy: any PlacementStrategy, in state: inout ClusterState) -> [Choice]? {
        var choices: [Choice] = []
        choices.reserveCapacity(count)
        for _ in 0..<count {
            guard let choice = state.findPlacement(demand, strategy: strategy) else {
                for placed in choices { state.release(demand, placed) }
                return nil
            }
            state.allocate(demand, choice)
            choices.append(choice)
        }
        return choices
    }

    /// Changes a task's priority in its record and in ``priorities``.
    mutating func setPriority(_ slot: Int, _ priority: Int) {
        tasks[slot]!.spec.priority = priority
        priorities[slot] = priority
    }
}
