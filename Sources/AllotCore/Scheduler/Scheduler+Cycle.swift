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
        cycleCount += 1
        var preemptions: [SchedulerAction] = []
        var bound: [Int] = []
        // A static order is walked in place, as far as the cycle goes; any other policy orders a snapshot.
        var cursor: (any QueueCursor)?
        var position: SortedKeys<QueueOrderKey>.Position?
        if ordered != nil {
            position = ordered!.firstPosition
            deferredOrder = []
        } else {
            let context = QueueContext(now: now, totals: clusterTotals(), usage: tenantUsage, tenants: configuration.tenants)
            cursor = configuration.policy.makeCursor(queueEntries(), context: context)
        }
        let strategy = configuration.strategy
        var reservation: Reservation?
        var failed = FailedShapes()
        var failedSearches = FailedShapes()
        var preemptionSearches = 0
        // Built at the first placement that fails, so that cycles where everything fits never pay for it.
        var gate: PreemptionGate?
        var stoppedBy: Int?
        var examinedWithoutStart = 0

        while examinedWithoutStart < configuration.queueDepth {
            let entry: QueueEntry?
            let slot: Int
            if cursor != nil {
                guard let next = cursor!.next() else { break }
                entry = next
                slot = next.slot
            } else {
                guard let current = position else { break }
                slot = ordered![current].slot
                position = ordered!.position(after: current)
                entry = nil
            }
            observer.decisionStarted()
            let record = tasks[slot]!
            examinedWithoutStart += 1
            if let problem = quotaProblem(record) {
                setOutcome(slot, .quota(problem))
                observer.decisionFinished(placed: false)
                continue
            }
            let known = failed.covers(record)
            if !known,
                let choices = Self.placeGang(record.demand, count: record.spec.gang, strategy: strategy, in: &cluster)
            {
                if reservation != nil, !reservation!.admits(record, choices, now: now, strategy: strategy) {
                    for choice in choices { cluster.release(record.demand, choice) }
                    setOutcome(slot, .wouldDelay(reservation!.head))
                    observer.decisionFinished(placed: false)
                    continue
                }
                start(slot, choices, now: now)
                gate?.started(record)
                bound.append(slot)
                examinedWithoutStart -= 1
                if let entry { cursor!.placed(entry) }
                observer.decisionFinished(placed: true)
                continue
            }
            if !known { failed.add(record) }
            if configuration.preemption, gate == nil { gate = PreemptionGate(self) }
            let searchable = record.spec.slaClass != .critical && configuration.tenants[record.spec.tenant]?.guaranteed == nil
            if configuration.preemption, preemptionSearches < configuration.preemptionAttemptsPerCycle, gate!.mayFindVictims(record),
                reservation == nil || record.demand.critical, !(searchable && failedSearches.covers(record))
            {
                preemptionSearches += 1
                let found = preemptFor(slot)
                if found == nil, searchable { failedSearches.addSearch(record) }
                if let (victims, choices) = found {
                    for victim in victims {
                        stopRunning(victim)
                        tasks[victim]!.preemptions += 1
                        setOutcome(victim, .heldAfterPreemption)
                        preemptions.append(.preempt(tasks[victim]!.spec.id, by: record.spec.id))
                    }
                    for choice in choices { cluster.allocate(record.demand, choice) }
                    start(slot, choices, now: now)
                    gate?.started(record)
                    bound.append(slot)
                    examinedWithoutStart -= 1
                    failed = FailedShapes()
                    if let entry { cursor!.placed(entry) }
                    observer.decisionFinished(placed: true)
                    continue
                }
            }
            setOutcome(slot, .noFit)
            if let entry { cursor!.blocked(entry) }
            observer.decisionFinished(placed: false)
            if configuration.backfill {
                if reservation == nil { reservation = makeReservation(slot, now: now) }
            } else if configuration.policy.blocking == .wholeQueue, !borrowing(record) {
                // Work that would run on borrowed capacity never holds back a tenant still owed its guarantee.
                stoppedBy = slot
                break
            }
        }
        lastStoppedBy = stoppedBy
        if let changed = deferredOrder {
            deferredOrder = nil
            for slot in Set(changed) {
                ordered!.remove(orderKey(slot))
                if pending.contains(slot) { ordered!.insert(orderKey(slot)) }
            }
        }
        let resizes = reshareElastic(except: Set(bound))
        return preemptions + resizes + bound.map { .bind(tasks[$0]!.spec.id, replicaPlacements(tasks[$0]!)) }
    }

    private func queueEntries() -> [QueueEntry] {
        var entries: [QueueEntry] = []
        entries.reserveCapacity(pending.count)
        for slot in pending {
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
///
/// Kept for preemption searches too, with the priority searched at: a search can evict only lower-priority
/// work, so one at a lower or equal priority (not critical, no guarantee to reclaim) finds no more victims.
struct FailedShapes {
    private var shapes: [(demand: Demand, gang: Int, priority: Int)] = []

    func covers(_ record: TaskRecord) -> Bool {
        let demand = record.demand
        for shape in shapes
        where shape.demand.modelKey == demand.modelKey && shape.demand.sharesDevices == demand.sharesDevices
            && shape.demand.critical == demand.critical && record.spec.gang >= shape.gang && demand.deviceCount >= shape.demand.deviceCount
            && demand.shareBytes >= shape.demand.shareBytes && demand.amounts.dominates(shape.demand.amounts)
            && record.spec.priority <= shape.priority
        {
            return true
        }
        return false
    }

    mutating func add(_ record: TaskRecord) {
        if shapes.count >= 32 { shapes.removeFirst() }
        shapes.append((record.demand, record.spec.gang, .max))
    }

    /// Records a failed preemption search at the task's priority.
    mutating func addSearch(_ record: TaskRecord) {
        if shapes.count >= 32 { shapes.removeFirst() }
        shapes.append((record.demand, record.spec.gang, record.spec.priority))
    }
}
