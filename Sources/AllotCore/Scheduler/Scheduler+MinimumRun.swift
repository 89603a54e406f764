import HeapModule

/// The moment a run's minimum ends and the task may be preempted.
struct ExemptionEnd: Comparable, Sendable {
    var time: Double
    var slot: Int
    /// The task's ``TaskRecord/serviceStamp`` when it started: a later stamp means another run.
    var stamp: Int

    static func < (lhs: Self, rhs: Self) -> Bool { lhs.time != rhs.time ? lhs.time < rhs.time : lhs.slot < rhs.slot }
}

extension Scheduler {
    /// A preemptible task just started at ``clock``: with a minimum run, no cycle evicts it before its end.
    mutating func exempt(_ slot: Int) {
        let minimum = configuration.minimumRunSeconds
        guard minimum > 0 else { return }
        runClocks[slot].exemptUntil = clock + minimum
        exemptions.insert(ExemptionEnd(time: clock + minimum, slot: slot, stamp: tasks[slot]!.serviceStamp))
    }

    /// Tasks whose minimum run ended by `now` become evictable: a pending task that failed to find victims
    /// before may find them now (see ``VictimLog``).
    mutating func endExemptions(now: Double) {
        while let end = exemptions.min, end.time <= now {
            exemptions.removeMin()
            if Self.isCurrent(end, in: tasks) { victims.record(priorities[end.slot]) }
        }
    }

    /// The earliest minimum run still to end, dropping those of runs that are over.
    mutating func nextExemptionEnd() -> Double? {
        while let end = exemptions.min {
            if Self.isCurrent(end, in: tasks) { return end.time }
            exemptions.removeMin()
        }
        return nil
    }

    /// Whether the end is of the task's current run (not of one that stopped, nor of a task gone). Static: an
    /// instance method called from the mutating ones above would be handed a copy of the scheduler.
    private static func isCurrent(_ end: ExemptionEnd, in tasks: [TaskRecord?]) -> Bool {
        guard let record = tasks[end.slot] else { return false }
        return record.phase == .running && record.serviceStamp == end.stamp
    }
}
