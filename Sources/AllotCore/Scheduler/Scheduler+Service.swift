import HeapModule

/// A task's estimate, the seconds it ran before its current run, and when that run started.
struct RunClock: Sendable {
    var estimate: Double
    var ran = 0.0
    var started = Double.nan
    /// Until when the current run may not be preempted (``SchedulerConfiguration/minimumRunSeconds``).
    var exemptUntil = -Double.infinity
}

/// A moment at which a task's service-based priority changes by itself.
struct ServiceEvent: Comparable, Sendable {
    enum Kind: Int, Sendable {
        /// A running task passes its level's threshold and drops to ``ServiceEvent/level``.
        case crossing = 0
        /// A pending task has waited long enough to return to the top level.
        case promotion = 1
    }

    var time: Double
    var kind: Kind
    var slot: Int
    var stamp: Int
    var level: Int

    static func < (lhs: Self, rhs: Self) -> Bool {
        if lhs.time != rhs.time { return lhs.time < rhs.time }
        if lhs.kind != rhs.kind { return lhs.kind.rawValue < rhs.kind.rawValue }
        return lhs.slot < rhs.slot
    }
}

extension Scheduler {
    /// Least attained service and shortest remaining time: the scheduler keeps each task's service from the
    /// times of its starts and stops and sets its priority from it; callers only pass `now`.
    var service: ServiceOrder? { configuration.policy.service }

    mutating func advanceClock(_ now: Double?) {
        if let now, now > clock { clock = now }
    }

    /// What one second of the task's run counts: its GPUs (whole or shared), or its cores without GPUs.
    /// Static: called per task from mutating methods, an instance method would be handed a copy of the scheduler.
    static func serviceWeight(_ record: TaskRecord) -> Double {
        let replicas = Double(record.spec.gang)
        if record.demand.deviceCount > 0 { return Double(record.demand.deviceCount) * replicas }
        return Double(record.demand.amounts.cpu) / 1000 * replicas
    }

    /// Minus the seconds left, rounded up; an unknown estimate (infinite) comes after every known one.
    static func remainingTimePriority(estimate: Double, ran: Double) -> Int {
        -Int(min(max(0, estimate - ran), 1e18).rounded(.up))
    }

    /// A task joins the queue (submitted, or stopped after running): its priority from its service so far,
    /// and under least attained service, when the starvation guard would lift it.
    mutating func serviceQueued(_ slot: Int, now: Double) {
        tasks[slot]!.queuedSince = now
        guard let service else { return }
        switch service {
        case .attainedService(let levels, let starvationFactor, _):
            let record = tasks[slot]!
            let level = levels.level(attained: record.attained - record.baseAttained)
            setPriority(slot, levelPriority(level))
            if let starvationFactor, level > 0 {
                let wait = starvationFactor * (runClocks[slot].ran - record.baseRan)
                serviceEvents.insert(ServiceEvent(time: now + wait, kind: .promotion, slot: slot, stamp: record.serviceStamp, level: 0))
            }
        case .remainingTime:
            setPriority(slot, Self.remainingTimePriority(estimate: runClocks[slot].estimate, ran: runClocks[slot].ran))
        }
    }

    /// A task starts running at `now`: under least attained service, when it will drop a level.
    mutating func serviceStarted(_ slot: Int, now: Double) {
        tasks[slot]!.serviceStamp += 1
        runClocks[slot].started = now
        guard case .attainedService(let levels, _, _) = service else { return }
        scheduleCrossing(slot, started: now, levels: levels, level: levels.level(attained: tasks[slot]!.attained - tasks[slot]!.baseAttained))
    }

    private mutating func scheduleCrossing(_ slot: Int, started: Double, levels: AttainedServiceLevels, level: Int) {
        let record = tasks[slot]!
        let weight = Self.serviceWeight(record)
        guard level < levels.thresholds.count, weight > 0 else { return }
        let time = started + (record.baseAttained + levels.thresholds[level] - record.attained) / weight
        serviceEvents.insert(ServiceEvent(time: max(time, started), kind: .crossing, slot: slot, stamp: record.serviceStamp, level: level + 1))
    }

    /// The priority of a task at `level`: the level's rank when levels are ranked, else the level itself
    /// (higher levels are lower priorities).
    func levelPriority(_ level: Int) -> Int { Self.levelPriority(level, rank: serviceHistory?.rank) }

    static func levelPriority(_ level: Int, rank: [Int]?) -> Int { -(rank?[level] ?? level) }

    /// A running task ended having received `attained` in all: with ranked levels, a sample of the service
    /// tasks take. When the ranking changes, every task's priority follows its level's new rank.
    mutating func serviceEnded(_ attained: Double) {
        guard serviceHistory?.record(attained) == true, case .attainedService(let levels, _, _) = service else { return }
        // Read once: a method of the scheduler called per task from here would be handed a copy of all of it.
        let rank = serviceHistory!.rank
        let clock = self.clock
        for slot in pending.union(running) {
            let record = tasks[slot]!
            let current = record.attained + (record.started.map { max(0, clock - $0) } ?? 0) * Self.serviceWeight(record)
            let priority = Self.levelPriority(levels.level(attained: current - record.baseAttained), rank: rank)
            guard priority != record.spec.priority else { continue }
            if record.phase == .pending {
                dequeue(slot)
                setPriority(slot, priority)
                enqueue(slot)
            } else {
                if priority < record.spec.priority { victims.record(priority) }
                setPriority(slot, priority)
            }
        }
    }

    /// A running task stops at ``clock``: what it ran is banked.
    mutating func serviceStopped(_ slot: Int) {
        guard let started = tasks[slot]!.started else { return }
        let ran = max(0, clock - started)
        runClocks[slot].ran += ran
        runClocks[slot].started = .nan
        tasks[slot]!.attained += ran * Self.serviceWeight(tasks[slot]!)
        tasks[slot]!.serviceStamp += 1
    }

    /// Brings service-based priorities up to `now`: running tasks that passed a threshold drop a level
    /// (and may now be preempted), pending tasks that waited long enough return to the top, and under
    /// shortest remaining time the running tasks' remaining times shrink.
    mutating func refreshService(now: Double) {
        guard let service else { return }
        switch service {
        case .attainedService(let levels, _, _):
            while let event = serviceEvents.min, event.time <= now {
                serviceEvents.removeMin()
                guard let record = tasks[event.slot], record.serviceStamp == event.stamp else { continue }
                switch event.kind {
                case .crossing:
                    guard record.phase == .running, let started = record.started else { continue }
                    let attained = record.attained + (now - started) * Self.serviceWeight(record) - record.baseAttained
                    // At least the level the event was set for: rounding must not leave it a hair above.
                    let level = max(event.level, levels.level(attained: attained))
                    let priority = Self.levelPriority(level, rank: serviceHistory?.rank)
                    if tasks[event.slot]!.spec.priority != priority {
                        if priority < tasks[event.slot]!.spec.priority { victims.record(priority) }
                        setPriority(event.slot, priority)
                    }
                    scheduleCrossing(event.slot, started: started, levels: levels, level: level)
                case .promotion:
                    guard record.phase == .pending else { continue }
                    dequeue(event.slot)
                    tasks[event.slot]!.baseAttained = record.attained
                    tasks[event.slot]!.baseRan = runClocks[event.slot].ran
                    setPriority(event.slot, levelPriority(0))
                    enqueue(event.slot)
                }
            }
        case .remainingTime:
            guard !pending.isEmpty else { return }
            var lowered: [Int] = []
            for slot in running {
                let clock = runClocks[slot]
                let priority = Self.remainingTimePriority(estimate: clock.estimate, ran: clock.ran + now - clock.started)
                // Remaining time only shrinks as a task runs: its priority rises, and nothing new becomes evictable.
                if tasks[slot]!.spec.priority != priority {
                    if priority < tasks[slot]!.spec.priority { lowered.append(priority) }
                    setPriority(slot, priority)
                }
            }
            for priority in lowered { victims.record(priority) }
        }
    }

    /// When what a cycle may decide next changes by itself while tasks wait (a running task dropping a level,
    /// a pending one promoted, a running one's minimum run ending), so that the caller runs a cycle then;
    /// `nil` when nothing is due.
    public mutating func nextWakeup() -> Double? {
        guard !pending.isEmpty else { return nil }
        var next = nextExemptionEnd()
        guard service != nil else { return next }
        while let event = serviceEvents.min {
            if let record = tasks[event.slot], record.serviceStamp == event.stamp,
                record.phase == (event.kind == .crossing ? .running : .pending)
            {
                next = min(next ?? event.time, event.time)
                break
            }
            serviceEvents.removeMin()
        }
        return next
    }

    /// The service a task has received, in resource-seconds (GPU-seconds, or core-seconds without GPUs), up to `now`.
    public func attainedService(_ id: TaskID, now: Double) -> Double? {
        guard let slot = taskSlots[id], let record = tasks[slot] else { return nil }
        let running = record.started.map { max(0, now - $0) } ?? 0
        return record.attained + running * Self.serviceWeight(record)
    }
}
