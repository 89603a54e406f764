import AllotAPI
import AllotCore
import AllotStore

extension Lifecycle {
    /// A node's agent sent its inventory: the node joins, or returns, ready (a priced node opens a billing
    /// period).
    public mutating func nodeJoined(
        _ name: String,
        inventory: NodeInventory,
        usage: NodeUsage?,
        now time: Double
    ) throws(LifecycleError)
        -> (node: NodeStatus, actions: [LifecycleAction])
    {
        try requireChanges()
        var node = nodes[name] ?? NodeStatus(name: name, inventory: inventory, joinedAt: time, lastHeartbeatAt: time)
        node.state = .ready
        node.lastHeartbeatAt = time
        if let usage { node.usage = usage }
        if disconnected.removeValue(forKey: name) != nil {
            // Back within a job's wait: the scheduler kept the node, and the jobs on it, as they were (its
            // inventory is taken as it was: the jobs hold their GPUs); it takes new work again.
            scheduled.insert(name)
            if !node.cordoned { try? scheduler.uncordon(NodeID(name)) }  // the scheduler kept it
        } else {
            node.inventory = inventory
            addToScheduler(node)
        }
        nodes[name] = node
        let batch = WriteBatch(nodes: [node], billing: openBilling(for: node, at: time))
        return (node, Self.actions(batch, schedule: true))
    }

    /// A heartbeat from a known node (memory only: it is never worth a write).
    public mutating func heartbeat(_ name: String, usage: NodeUsage?, now: Double) {
        guard nodes[name] != nil else { return }
        nodes[name]?.lastHeartbeatAt = now
        if let usage { nodes[name]?.usage = usage }
    }

    mutating func addToScheduler(_ node: NodeStatus) {
        var spec = node.inventory.nodeSpec
        spec.id = NodeID(node.name)
        guard (try? scheduler.addNode(spec)) != nil else { return }  // already there
        scheduled.insert(node.name)
        if node.cordoned { try? scheduler.cordon(spec.id) }  // just added
    }

    /// Every scan interval: evicted jobs past their grace period stop holding back their preemptors; a ready
    /// node silent for three scan intervals is down and its jobs requeued (or lost, or cancelled); a draining
    /// node with nothing left is drained.
    public mutating func tick(now time: Double) -> [LifecycleAction] {
        var woken: Set<String> = []
        for (node, entries) in vacating {
            let left = entries.filter { $0.deadline > time }
            if left.count < entries.count {
                vacating[node] = left.isEmpty ? nil : left
                woken.insert(node)
            }
        }
        // Nodes are marked down only when that can be recorded; agents that report keep theirs alive meanwhile.
        guard acceptsChanges else { return woken.isEmpty ? [] : [.wake(woken.sorted())] }
        let limit = 3 * settings.scanIntervalSeconds
        var batch = WriteBatch()
        for name in nodes.keys.sorted() {
            guard var node = nodes[name] else { continue }
            if node.state == .ready, time - node.lastHeartbeatAt > limit {
                node.state = .down
                nodes[name] = node
                batch.nodes.append(node)
                scheduled.remove(name)
                vacating[name] = nil
                if placedJobs(on: name).contains(where: { active[$0]?.onDisconnect?.waitSeconds != nil }) {
                    // Jobs that wait out a partition keep their place: the node stays in the scheduler, cordoned,
                    // and only the others are requeued now.
                    disconnected[name] = time
                    try? scheduler.cordon(NodeID(name))  // a ready node is there
                    batch.merge(requeueDisconnected(on: name, at: time, waitedSince: time))
                    continue
                }
                batch.billing += closeBilling(name, at: time)
                let actions = (try? scheduler.removeNode(NodeID(name), reason: "node down", now: time)) ?? []  // a ready node is there
                for case .requeue(let id, let reason) in actions {
                    if let (job, attempt) = requeueAfterLoss(JobID(id.rawValue), reason: reason, at: time) {
                        batch.updateJobs.append(job)
                        batch.attempts.append(attempt)
                    }
                }
            } else if let since = disconnected[name] {
                batch.merge(requeueDisconnected(on: name, at: time, waitedSince: since))
            } else if node.draining, placedJobs(on: name).isEmpty {
                node.draining = false
                nodes[name] = node
                batch.nodes.append(node)
            }
        }
        // Priorities set from service (least attained service) change by themselves: a running job drops a
        // level, a starving one is promoted. The first tick after such a moment runs a cycle.
        let due = scheduler.nextWakeup().map { $0 <= time } ?? false
        return Self.actions(batch, wake: woken, schedule: !batch.isEmpty || due)
    }

    /// On a disconnected node: requeues the jobs whose wait is over (all those without one at once), and once
    /// none waits any longer, lets the node go from the scheduler as any node that went down.
    mutating func requeueDisconnected(on name: String, at time: Double, waitedSince since: Double) -> WriteBatch {
        var batch = WriteBatch()
        for id in placedJobs(on: name) {
            guard let job = active[id], time - since >= job.onDisconnect?.waitSeconds ?? 0 else { continue }
            try? scheduler.requeue(TaskID(id.rawValue), now: time)  // a placed job is running in the scheduler
            let reason =
                job.onDisconnect?.waitSeconds == nil ? "node down: \(name)" : "node \(name) silent past the job's \(job.onDisconnect ?? .requeue)"
            if let (requeued, attempt) = requeueAfterLoss(id, reason: reason, at: time) {
                batch.updateJobs.append(requeued)
                batch.attempts.append(attempt)
            }
        }
        if placedJobs(on: name).isEmpty {
            disconnected[name] = nil
            batch.billing += closeBilling(name, at: time)
            _ = try? scheduler.removeNode(NodeID(name), reason: "node down", now: time)  // kept while jobs waited; none left
        }
        return batch
    }

    /// `cordon` (no new work), `drain` (no new work; draining until its jobs end), `uncordon`.
    public mutating func setNode(_ name: String, _ action: NodeAction) throws(LifecycleError) -> (node: NodeStatus, actions: [LifecycleAction]) {
        guard var node = nodes[name] else { throw LifecycleError(.notFound, "node \(name) not found") }
        try requireChanges()
        var schedule = false
        switch action {
        case .cordon, .drain:
            node.cordoned = true
            node.draining = action == .drain && !placedJobs(on: name).isEmpty
            if scheduled.contains(name) { try? scheduler.cordon(NodeID(name)) }  // a scheduled node is there
        case .uncordon:
            node.cordoned = false
            node.draining = false
            if scheduled.contains(name) { try? scheduler.uncordon(NodeID(name)) }  // a scheduled node is there
            schedule = true
        }
        nodes[name] = node
        return (node, Self.actions(WriteBatch(nodes: [node]), schedule: schedule))
    }

    // MARK: - Billing periods

    /// Opens a node's billing period when it joins with a price (closing the open one first when its price or
    /// size changed).
    mutating func openBilling(for node: NodeStatus, at time: Double) -> [NodeBillingPeriod] {
        guard let pricing = node.inventory.pricing, pricing.hourlyPrice != nil else { return closeBilling(node.name, at: time) }
        let spec = node.inventory.nodeSpec
        let period = NodeBillingPeriod(
            node: node.name,
            start: time,
            pricing: pricing,
            cpuMillis: spec.capacity.cpuMillis,
            memoryBytes: spec.capacity.memoryBytes,
            gpus: spec.gpus.count,
            gpuModel: spec.gpus.first?.model,
            gpuMemoryBytes: spec.gpus.first?.memoryBytes
        )
        if let open = openBilling[node.name] {
            var same = open
            same.start = time
            if same == period { return [] }
        }
        let closed = closeBilling(node.name, at: time)
        openBilling[node.name] = period
        return closed + [period]
    }

    /// Ends a node's open billing period (it went down or left).
    mutating func closeBilling(_ node: String, at time: Double) -> [NodeBillingPeriod] {
        guard var open = openBilling.removeValue(forKey: node) else { return [] }
        open.end = max(open.start, time)
        return [open]
    }

    /// Priced nodes without an open billing period (recorded before periods were kept) start one now.
    public mutating func openMissingBilling(now: Double) -> WriteBatch {
        var batch = WriteBatch()
        for node in nodes.values.sorted(by: { $0.name < $1.name }) where openBilling[node.name] == nil && node.inventory.pricing?.hourlyPrice != nil {
            batch.billing += openBilling(for: node, at: now)
        }
        return batch
    }
}
