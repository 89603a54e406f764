extension Scheduler {
    /// Checks that a task would be accepted by ``submit(_:now:)``, without recording it: its fields, and,
    /// when ``SchedulerConfiguration/rejectInfeasible`` is set, that it fits the empty cluster.
    public mutating func check(_ spec: TaskSpec) throws(SchedulerError) {
        guard taskSlots[spec.id] == nil else { throw SchedulerError(.duplicateTask, "task \(spec.id) is already known") }
        try Self.validate(spec)
        guard configuration.rejectInfeasible else { return }
        try refuseInfeasible(spec, cluster.compile(spec.requests, critical: spec.slaClass == .critical))
    }

    /// When a pending task could start if it were next in the queue: the time, by the running tasks' expected
    /// ends, at which enough is released for it (now if it fits now); `nil` when that depends on a task of unknown length.
    public func estimatedStart(_ id: TaskID, now: Double) -> Double? {
        guard let slot = taskSlots[id], let record = tasks[slot], record.phase == .pending else { return nil }
        var state = cluster
        // `state` is a scratch copy: placing on it changes nothing.
        if Self.placeGang(record.demand, count: record.spec.gang, strategy: configuration.strategy, in: &state) != nil { return now }
        let reservation = makeReservation(slot, now: now)
        return reservation.headFits ? reservation.shadow : nil
    }
}
