extension Scheduler {
    /// Whether the whole devices a pending task asks for are free in the cluster but scattered: enough of
    /// them, of its model, for every replica, yet it found no place. Moving running work may then make room.
    func scattered(_ record: TaskRecord) -> Bool {
        let demand = record.demand
        guard demand.deviceCount > 0, !demand.sharesDevices else { return false }
        var free = 0
        let needed = demand.deviceCount * record.spec.gang
        for node in cluster.nodes.indices where cluster.nodes[node].alive && cluster.nodes[node].schedulable {
            free += cluster.freeDevices(for: demand, node: node)
            if free >= needed { return true }
        }
        return false
    }

    /// The fewest moves of running work that let the pending task at `slot` start
    /// (``SchedulerConfiguration/defragmentation``): where its replicas go and where each moved task goes
    /// instead, computed on a what-if copy. A task may move when ``movable(_:for:)`` holds and it is past its
    /// minimum run. A search that finds none is remembered while nothing is released and nothing at or below
    /// the task's priority becomes movable: a task of the same shape at no higher priority finds none either.
    mutating func defragmentation(for slot: Int) -> (placed: [Choice], moved: [Int: [Choice]])? {
        let record = tasks[slot]!
        if let memo = defragmentationMemo, memo.fitVersion == fitVersion, memo.demand == record.demand, memo.gang == record.spec.gang,
            record.spec.priority <= memo.priority, !victims.any(since: memo.victimVersion, below: memo.priority, orAt: true)
        {
            return nil
        }
        let (tasks, priorities, preemptible, clocks) = (self.tasks, self.priorities, preemptibleRunning, runClocks)
        let (clock, exempting, priority) = (self.clock, configuration.minimumRunSeconds > 0, record.spec.priority)
        var what = self
        // The cheap checks first: the record is read (and copied) last.
        let found = what.makeRoom(for: slot) { victim in
            priorities[victim] <= priority && preemptible.contains(victim) && !(exempting && clocks[victim].exemptUntil > clock)
                && Self.movable(tasks[victim]!, for: record)
        }
        if found == nil {
            defragmentationMemo = DefragmentationMemo(
                demand: record.demand,
                gang: record.spec.gang,
                priority: priority,
                fitVersion: fitVersion,
                victimVersion: victims.version
            )
        }
        return found
    }
}

/// A search for moves that found none, and the versions it depended on (see ``Scheduler/defragmentation(for:)``).
struct DefragmentationMemo: Sendable {
    var demand: Demand
    var gang: Int
    var priority: Int
    var fitVersion: Int
    var victimVersion: Int
}
