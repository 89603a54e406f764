extension Scheduler {
    /// Runs one scheduling cycle at `now`: orders the queue by the policy, places what fits by the
    /// strategy, preempts where allowed, backfills where enabled, and re-shares elastic capacity.
    ///
    /// The actions come in the order to carry them out: preemptions, then elastic resizes, then binds.
    public mutating func schedule(now: Double) -> [SchedulerAction] {
        var observer = NoSchedulingObserver()
        return schedule(now: now, observer: &observer)
    }

    /// ``schedule(now:)`` with an observer told of every decision.
    public mutating func schedule<Observer: SchedulingObserver>(now: Double, observer: inout Observer) -> [SchedulerAction] {
        var preemptions: [SchedulerAction] = []
        var bound: [Int] = []
        let entries = queueEntries()
        let context = QueueContext(now: now, totals: clusterTotals(), usage: tenantUsage, tenants: configuration.tenants)
        var cursor = configuration.policy.makeCursor(entries, context: context)
        let strategy = configuration.strategy
        var reservation: Reservation?
        var failed = FailedShapes()
        var preemptionSearches = 0
        // Built at the first placement that fails, so that cycles where everything fits never pay for it.
        var gate: PreemptionGate?
        var stoppedBy: Int?

        while let entry = cursor.next() {
            let slot = entry.slot
            observer.decisionStarted()
            let record = tasks[slot]!
            if let problem = quotaProblem(record) {
                tasks[slot]!.outcome = .quota(problem)
                observer.decisionFinished(placed: false)
                continue
            }
            let known = failed.covers(record)
            if !known,
                let choices = Self.placeGang(record.demand, count: record.spec.gang, strategy: strategy, in: &cluster)
            {
                if reservation != nil, !reservation!.admits(record, choices, now: now, strategy: strategy) {
                    for choice in choices { cluster.release(record.demand, choice) }
                    tasks[slot]!.outcome = .wouldDelay(reservation!.head)
                    observer.decisionFinished(placed: false)
                    continue
                }
                start(slot, choices, now: now)
                gate?.started(record)
                bound.append(slot)
                cursor.placed(entry)
                observer.decisionFinished(placed: true)
                continue
            }
            if !known { failed.add(record) }
            if configuration.preemption, gate == nil { gate = PreemptionGate(self) }
            if configuration.preemption, preemptionSearches < configuration.preemptionAttemptsPerCycle, gate!.mayFindVictims(record),
                reservation == nil || record.demand.critical
            {
                preemptionSearches += 1
                if let (victims, choices) = preemptFor(slot) {
                    for victim in victims {
                        stopRunning(victim)
                        tasks[victim]!.preemptions += 1
                        tasks[victim]!.outcome = .heldAfterPreemption
                        preemptions.append(.preempt(tasks[victim]!.spec.id, by: record.spec.id))
                    }
                    for choice in choices { cluster.allocate(record.demand, choice) }
                    start(slot, choices, now: now)
                    gate?.started(record)
                    bound.append(slot)
                    failed = FailedShapes()
                    cursor.placed(entry)
                    observer.decisionFinished(placed: true)
                    continue
                }
            }
            tasks[slot]!.outcome = .noFit
            cursor.blocked(entry)
            observer.decisionFinished(placed: false)
            if configuration.backfill {
                if reservation == nil { reservation = makeReservation(slot, now: now) }
            } else if configuration.policy.blocking == .wholeQueue {
                stoppedBy = slot
                break
            }
        }
        if let stoppedBy {
            for slot in pending where tasks[slot]!.outcome == .notConsidered { tasks[slot]!.outcome = .blockedBehind(stoppedBy) }
        }
        let resizes = reshareElastic(except: Set(bound))
        return preemptions + resizes + bound.map { .bind(tasks[$0]!.spec.id, replicaPlacements(tasks[$0]!)) }
    }

    private mutating func queueEntries() -> [QueueEntry] {
        var entries: [QueueEntry] = []
        entries.reserveCapacity(pending.count)
        for slot in pending {
            tasks[slot]!.outcome = .notConsidered
            let record = tasks[slot]!
            entries.append(
                QueueEntry(
                    slot: slot,
                    id: record.spec.id,
                    tenant: record.spec.tenant,
                    priority: record.spec.priority,
                    sequence: record.sequence,
                    submitted: record.submitted,
                    usage: usage(of: record)
                )
            )
        }
        return entries
    }

    private mutating func start(_ slot: Int, _ choices: [Choice], now: Double) {
        markRunning(slot, choices)
        tasks[slot]!.started = now
        tasks[slot]!.expectedEnd = tasks[slot]!.spec.estimateSeconds.map { now + $0 }
    }
}

/// Demands that found no room in this cycle: a task asking for at least as much of everything of the same
/// kind cannot fit either until something is released, so it is not searched for again.
struct FailedShapes {
    private var shapes: [(demand: Demand, gang: Int)] = []

    func covers(_ record: TaskRecord) -> Bool {
        let demand = record.demand
        for shape in shapes
        where shape.demand.modelKey == demand.modelKey && shape.demand.sharesDevices == demand.sharesDevices
            && shape.demand.critical == demand.critical && record.spec.gang >= shape.gang && demand.deviceCount >= shape.demand.deviceCount
            && demand.shareBytes >= shape.demand.shareBytes && demand.amounts.dominates(shape.demand.amounts)
        {
            return true
        }
        return false
    }

    mutating func add(_ record: TaskRecord) {
        if shapes.count >= 32 { shapes.removeFirst() }
        shapes.append((record.demand, record.spec.gang))
    }
}
