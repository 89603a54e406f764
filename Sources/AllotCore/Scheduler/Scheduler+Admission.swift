extension Scheduler {
    /// Validates a task and records it as pending; returns its slot.
    mutating func admit(_ spec: TaskSpec, now: Double, checkFeasible: Bool = true) throws(SchedulerError) -> Int {
        guard taskSlots[spec.id] == nil else { throw SchedulerError(.duplicateTask, "task \(spec.id) is already known") }
        try Self.validate(spec)
        let demand = cluster.compile(spec.requests, critical: spec.slaClass == .critical)
        if checkFeasible && configuration.rejectInfeasible { try refuseInfeasible(spec, demand) }
        if configuration.strategy.measuresFragmentation { cluster.requestMix.observe(demand) }
        let slot = tasks.count
        tasks.append(TaskRecord(spec: spec, demand: demand, sequence: nextSequence, submitted: now))
        runClocks.append(RunClock(estimate: spec.estimateSeconds ?? .infinity))
        priorities.append(spec.priority)
        tasks[slot]!.outcomeCycle = cycleCount
        nextSequence += 1
        taskSlots[spec.id] = slot
        serviceQueued(slot, now: now)
        return slot
    }

    /// Refuses a task that could not fit even on the empty cluster, or a gang larger than the cluster.
    func refuseInfeasible(_ spec: TaskSpec, _ demand: Demand) throws(SchedulerError) {
        let fitting = replicasOnEmptyCluster(demand, enough: spec.gang)
        if fitting == 0 {
            throw SchedulerError(.infeasible, "task \(spec.id) fits no node even when the cluster is empty: \(explainNoFit(demand, empty: true))")
        }
        if fitting < spec.gang {
            throw SchedulerError(
                .infeasible,
                "task \(spec.id): gang of \(spec.gang) is larger than the cluster: at most \(fitting) replicas fit even when it is empty"
            )
        }
    }

    /// Checks a task's own fields, naming the first bad one.
    static func validate(_ spec: TaskSpec) throws(SchedulerError) {
        func fail(_ message: String) -> SchedulerError { SchedulerError(.invalidTask, "task \(spec.id): \(message)") }
        if spec.id.rawValue.isEmpty { throw SchedulerError(.invalidTask, "a task has an empty id") }
        if spec.gang < 1 { throw fail("gang must be at least 1 (got \(spec.gang))") }
        if spec.requests.gpus < 0 { throw fail("requests.gpus must not be negative (got \(spec.requests.gpus))") }
        if let share = spec.requests.gpuMemoryBytes, share <= 0 { throw fail("requests.gpuMemory must be positive") }
        let resources = spec.requests.resources
        if resources.cpuMillis < 0 || resources.memoryBytes < 0 || resources.diskBytes < 0 || resources.networkBitsPerSecond < 0
            || resources.extended.values.contains(where: { $0 < 0 })
        {
            throw fail("requests must not be negative")
        }
        if let estimate = spec.estimateSeconds, !(estimate >= 0) || !estimate.isFinite {
            throw fail("estimate must be a non-negative number of seconds")
        }
        if let limits = spec.limits {
            if limits.cpuMillis > 0 && limits.cpuMillis < resources.cpuMillis {
                throw fail("limits.cpu \(Quantity.formatCPU(limits.cpuMillis)) is below requests.cpu \(Quantity.formatCPU(resources.cpuMillis))")
            }
            if limits.memoryBytes > 0 && limits.memoryBytes < resources.memoryBytes {
                throw fail(
                    "limits.memory \(Quantity.formatBytes(limits.memoryBytes)) is below requests.memory \(Quantity.formatBytes(resources.memoryBytes))"
                )
            }
        }
    }

    func checkRestorable(_ record: TaskRecord, _ choice: Choice, node: NodeID) throws(SchedulerError) {
        let demand = record.demand
        let nodeRecord = cluster.nodes[choice.node]
        func fail(_ what: String) -> SchedulerError {
            SchedulerError(.invalidTask, "running task \(record.spec.id) does not fit on \(node): \(what)")
        }
        guard Amounts.fits(demand.amounts, used: nodeRecord.allocated, limit: nodeRecord.capacity) else {
            throw fail("not enough free CPU, memory, disk or network")
        }
        guard choice.devices.count == demand.deviceCount else { throw fail("it needs \(demand.deviceCount) GPUs, \(choice.devices.count) given") }
        for device in choice.devices {
            let record = cluster.devices[device]
            if demand.modelKey != 0 && record.modelKey != demand.modelKey {
                throw fail("GPU \(record.index) is not a \(cluster.modelNames[demand.modelKey])")
            }
            if demand.sharesDevices {
                if record.exclusive || record.used + demand.shareBytes > record.capacity {
                    throw fail("GPU \(record.index) has too little free memory")
                }
            } else if !record.isFree {
                throw fail("GPU \(record.index) is already in use")
            }
        }
    }

    /// How many replicas of this demand the cluster could hold if it were empty, counting no further than `enough`.
    func replicasOnEmptyCluster(_ demand: Demand, enough: Int = .max) -> Int {
        var total = 0
        for slot in cluster.nodes.indices where cluster.nodes[slot].alive {
            let node = cluster.nodes[slot]
            let limit = demand.critical ? node.capacity : node.limit
            var count = Int.max
            func bound(_ capacity: Int64, _ need: Int64) {
                if need > 0 { count = min(count, capacity <= 0 ? 0 : Int(capacity / need)) }
            }
            bound(limit.cpu, demand.amounts.cpu)
            bound(limit.memory, demand.amounts.memory)
            bound(limit.disk, demand.amounts.disk)
            bound(limit.network, demand.amounts.network)
            for index in demand.amounts.extended.indices { bound(limit.extended(index), demand.amounts.extended[index]) }
            if demand.deviceCount > 0 {
                let matching = cluster.deviceRange(slot).filter { cluster.serves(demand, device: $0) }
                if demand.sharesDevices {
                    let perDevice = matching.map {
                        let device = cluster.devices[$0]
                        return Int((demand.critical ? device.capacity : device.limit) / demand.shareBytes)
                    }
                    let usable = perDevice.filter { $0 > 0 }
                    count = usable.count < demand.deviceCount ? 0 : min(count, perDevice.reduce(0, +) / demand.deviceCount)
                } else {
                    count = min(count, matching.count / demand.deviceCount)
                }
            }
            total += count == Int.max ? 1 << 20 : count
            if total >= enough || total >= 1 << 20 { return total }
        }
        return total
    }
}
