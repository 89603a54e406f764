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
        advanceClock(now)
        refreshService(now: now)
        endExemptions(now: now)
        var preemptions: [SchedulerAction] = []
        var bound: [Int] = []
        var walk = makeWalk(now: now)
        let strategy = configuration.strategy
        let blocking = configuration.policy.blocking
        var reservation: Reservation?
        var failed = FailedShapes()
        var failedSearches = FailedShapes()
        var preemptionSearches = 0
        var defragmentationChecks = 0
        var defragmentations = 0
        // Built at the first placement that fails, so that cycles where everything fits never pay for it.
        var gate: PreemptionGate?
        var stoppedBy: Int?
        var examinedWithoutStart = 0
        var shadowOnly = Set<Int>()

        while examinedWithoutStart < configuration.queueDepth {
            guard let (slot, group, entry) = walk.next(entry: { queueEntry($0) }) else { break }
            observer.decisionStarted()
            examinedWithoutStart += 1
            // Without tenant limits there is no quota to check (and no record to copy for it).
            if !configuration.tenants.isEmpty, let problem = quotaProblem(tasks[slot]!) {
                setOutcome(slot, .quota(problem))
                walk.passed(queue)
                observer.decisionFinished(placed: false)
                continue
            }
            // A task of a group that backfill has refused once may start only if it ends by the shadow time:
            // the extra capacity the refused one lacked does not grow within a cycle.
            if let held = reservation, group >= 0, shadowOnly.contains(group), !held.endsBeforeShadow(tasks[slot]!.spec, now: now) {
                setOutcome(slot, .wouldDelay(held.head))
                walk.passed(queue)
                observer.decisionFinished(placed: false)
                continue
            }
            let known = !failed.isEmpty && failed.covers(tasks[slot]!)
            if !known,
                let choices = Self.placeGang(tasks[slot]!.demand, count: tasks[slot]!.spec.gang, strategy: strategy, in: &cluster)
            {
                if reservation != nil, !reservation!.admits(tasks[slot]!, choices, now: now, strategy: strategy) {
                    for choice in choices { cluster.release(tasks[slot]!.demand, choice) }
                    if group >= 0 { shadowOnly.insert(group) }
                    setOutcome(slot, .wouldDelay(reservation!.head))
                    walk.passed(queue)
                    observer.decisionFinished(placed: false)
                    continue
                }
                start(slot, choices, now: now)
                if gate != nil { gate!.started(tasks[slot]!) }
                bound.append(slot)
                examinedWithoutStart -= 1
                walk.started(queue, entry: entry ?? queueEntry(slot))
                observer.decisionFinished(placed: true)
                continue
            }
            if !known { failed.add(tasks[slot]!) }
            if configuration.preemption, gate == nil { gate = PreemptionGate(self) }
            let record = tasks[slot]!
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
                    gate?.started(tasks[slot]!)
                    bound.append(slot)
                    examinedWithoutStart -= 1
                    failed = FailedShapes()
                    walk.started(queue, entry: entry ?? queueEntry(slot))
                    observer.decisionFinished(placed: true)
                    continue
                }
            }
            var moves: (placed: [Choice], moved: [Int: [Choice]])?
            if configuration.defragmentation, defragmentations < Self.defragmentationsPerCycle,
                defragmentationChecks < Self.defragmentationChecksPerCycle, record.demand.deviceCount > 0, !record.demand.sharesDevices,
                reservation == nil || record.demand.critical
            {
                defragmentationChecks += 1
                if scattered(record) { moves = defragmentation(for: slot) }
            }
            if let (choices, moved) = moves {
                defragmentations += 1
                let order = moved.keys.sorted { tasks[$0]!.sequence < tasks[$1]!.sequence }
                for victim in order {
                    stopRunning(victim)
                    tasks[victim]!.preemptions += 1
                    preemptions.append(.preempt(tasks[victim]!.spec.id, by: record.spec.id))
                }
                for choice in choices { cluster.allocate(record.demand, choice) }
                start(slot, choices, now: now)
                bound.append(slot)
                for victim in order {
                    for choice in moved[victim]! { cluster.allocate(tasks[victim]!.demand, choice) }
                    start(victim, moved[victim]!, now: now)
                    bound.append(victim)
                }
                gate?.started(tasks[slot]!)
                examinedWithoutStart -= 1
                failed = FailedShapes()
                walk.started(queue, entry: entry ?? queueEntry(slot))
                observer.decisionFinished(placed: true)
                continue
            }
            setOutcome(slot, .noFit)
            observer.decisionFinished(placed: false)
            // The tasks behind it in its group ask for the same with no higher priority: unless it may
            // reclaim what others may not (critical work, a tenant's guarantee), none of them can start.
            // (Under strict order without backfill the cycle stops here anyway, and the rest wait behind this head.)
            let stops = blocking == .wholeQueue && !configuration.backfill && !borrowing(record)
            if group >= 0, !stops, case .merged = walk, !configuration.preemption || searchable {
                let memo =
                    blocking == .passOver && !configuration.backfill
                    ? FitMemo(fitVersion: fitVersion, victimVersion: victims.version, head: orderKey(slot), priority: record.spec.priority) : nil
                queue!.setFailed(group, cycle: cycleCount, memo: memo)
                walk.leaveGroup()
            } else {
                walk.blocked(queue, entry: entry)
            }
            if configuration.backfill {
                if reservation == nil { reservation = self.reservation(for: slot, now: now) }
            } else if blocking == .wholeQueue, !borrowing(record) {
                // Work that would run on borrowed capacity never holds back a tenant still owed its guarantee.
                stoppedBy = slot
                break
            }
        }
        lastStoppedBy = stoppedBy
        if let changed = deferredOrder {
            deferredOrder = nil
            for slot in Set(changed) {
                removeOrdered(slot)
                if pending.contains(slot) { insertOrdered(slot) }
            }
        }
        let resizes = reshareElastic(except: Set(bound))
        if !resizes.isEmpty { fitVersion += 1 }
        return preemptions + resizes + binds(bound)
    }

    /// One non-mutating call for all the binds: called from the cycle once per bind, a method of the scheduler
    /// would be handed a copy of the whole of it each time.
    private func binds(_ bound: [Int]) -> [SchedulerAction] {
        bound.map { .bind(tasks[$0]!.spec.id, replicaPlacements(tasks[$0]!)) }
    }

    /// How this cycle goes through the queue: groups merged in the static order (groups remembered to fail
    /// left out), tenants in turn, or the policy's own cursor over a snapshot.
    private mutating func makeWalk(now: Double) -> QueueWalk {
        // Built only for the walks that read it (a closure capturing `self` would copy the whole scheduler).
        func context() -> QueueContext { QueueContext(now: now, totals: clusterTotals(), usage: tenantUsage, tenants: configuration.tenants) }
        guard queue != nil else { return .cursor(configuration.policy.makeCursor(queueEntries(), context: context())) }
        deferredOrder = []
        var groups = queue!.liveGroups
        if configuration.policy.staticOrder == nil { return .fair(FairWalk(queue!, groups: groups, context: context())) }
        if configuration.policy.blocking == .passOver, !configuration.backfill {
            groups.removeAll { group in
                guard let memo = queue!.groups[group].memo, memo.fitVersion == fitVersion,
                    !configuration.preemption
                        || !victims.any(since: memo.victimVersion, below: memo.priority, orAt: configuration.defragmentation)
                else { return false }
                queue!.setFailed(group, cycle: cycleCount, memo: memo)
                return true
            }
        }
        return .merged(MergedWalk(queue!, groups: groups))
    }

    private func queueEntry(_ slot: Int) -> QueueEntry {
        let record = tasks[slot]!
        return QueueEntry(
            slot: slot,
            id: record.spec.id,
            tenant: record.spec.tenant,
            priority: record.spec.priority,
            sequence: record.sequence,
            submitted: record.submitted,
            usage: usage(of: record)
        )
    }

    private func queueEntries() -> [QueueEntry] {
        var entries: [QueueEntry] = []
        entries.reserveCapacity(pending.count)
        for slot in pending { entries.append(queueEntry(slot)) }
        return entries
    }

    /// At most this many pending tasks start by moving others (``SchedulerConfiguration/defragmentation``) per
    /// cycle: each search tries the running tasks of every node.
    static let defragmentationsPerCycle = 1
    /// At most this many pending tasks per cycle are checked for scattered GPUs, each check a pass over the
    /// nodes and, when they are scattered, a search for moves.
    static let defragmentationChecksPerCycle = 4

    private mutating func start(_ slot: Int, _ choices: [Choice], now: Double) {
        tasks[slot]!.started = now
        markRunning(slot, choices)
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

    var isEmpty: Bool { shapes.isEmpty }

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

/// A cycle's way through the pending queue.
///
/// Each step takes the walk out of the enum before changing it, so that its buffers are not copied.
enum QueueWalk {
    case merged(MergedWalk)
    case fair(FairWalk)
    case cursor(any QueueCursor)
    case moving

    /// The next task: its slot, its group (-1 outside groups) and, from a policy's cursor, its entry.
    mutating func next(entry: (Int) -> QueueEntry) -> (slot: Int, group: Int, entry: QueueEntry?)? {
        switch take() {
        case .merged(var walk):
            defer { self = .merged(walk) }
            return walk.next().map { ($0.slot, $0.group, nil) }
        case .fair(var walk):
            defer { self = .fair(walk) }
            return walk.next(entry: entry).map { ($0.slot, $0.group, nil) }
        case .cursor(var cursor):
            defer { self = .cursor(cursor) }
            return cursor.next().map { ($0.slot, -1, $0) }
        case .moving:
            return nil
        }
    }

    /// The current task started.
    mutating func started(_ queue: PendingQueue?, entry: @autoclosure () -> QueueEntry) {
        switch take() {
        case .merged(var walk):
            walk.advance(queue!)
            self = .merged(walk)
        case .fair(var walk):
            walk.placed(entry())
            self = .fair(walk)
        case .cursor(var cursor):
            cursor.placed(entry())
            self = .cursor(cursor)
        case .moving:
            break
        }
    }

    /// The current task did not start for a reason of its own (a quota, backfill's reservation): go on.
    mutating func passed(_ queue: PendingQueue?) {
        guard case .merged(var walk) = self else { return }
        self = .moving
        walk.advance(queue!)
        self = .merged(walk)
    }

    /// The current task fits nowhere.
    mutating func blocked(_ queue: PendingQueue?, entry: QueueEntry?) {
        switch take() {
        case .merged(var walk):
            walk.advance(queue!)
            self = .merged(walk)
        case .fair(var walk):
            walk.blocked()
            self = .fair(walk)
        case .cursor(var cursor):
            if let entry { cursor.blocked(entry) }
            self = .cursor(cursor)
        case .moving:
            break
        }
    }

    /// Leaves the current task's group (merged walks only).
    mutating func leaveGroup() {
        guard case .merged(var walk) = self else { return }
        self = .moving
        walk.leaveGroup()
        self = .merged(walk)
    }

    private mutating func take() -> QueueWalk {
        let walk = self
        self = .moving
        return walk
    }
}
