import HeapModule

/// The scheduler state machine: events in, actions out.
///
/// It owns no clock and does no I/O: callers pass `now` (seconds on any fixed origin) and carry out the
/// returned ``SchedulerAction``s. The server and the simulator drive this same type.
public struct Scheduler: Sendable {
    public private(set) var configuration: SchedulerConfiguration
    var cluster: ClusterState
    var tasks: [TaskRecord?] = []
    var taskSlots: [TaskID: Int] = [:]
    var nodeTasks: [Set<Int>] = []
    var nodeExtras: [Amounts] = []
    var pending: Set<Int> = []
    var running: Set<Int> = []
    /// The running tasks that may be preempted: the only ones a preemption search looks at.
    var preemptibleRunning: Set<Int> = []
    var tenantUsage: [TenantID: UsageVector] = [:]
    var dirtyNodes: Set<Int> = []
    var nextSequence = 0
    /// The pending queue kept in the policy's static order (by shape), or in each tenant's (by tenant), when
    /// the policy has one.
    var queue: PendingQueue?
    /// While a cycle walks ``queue``, changes to it wait here (the walk holds positions into it).
    var deferredOrder: [Int]?
    /// Counts releases of capacity (and anything else that may let a task fit that did not).
    var fitVersion = 0
    /// Changes to what a preemption search may evict: the priorities at which running work became
    /// evictable (a preemptible start, a priority lowered), in order (see ``VictimLog``).
    var victims = VictimLog()
    /// The latest `now` any call has passed: the time of changes that come without one.
    var clock = 0.0
    /// Under least attained service with ranked levels: finished tasks' service, and the levels' order.
    var serviceHistory: ServiceHistory?
    /// Level crossings of running tasks and starvation promotions of pending ones, under least attained service.
    var serviceEvents = Heap<ServiceEvent>()
    /// When running tasks' minimum runs end (``SchedulerConfiguration/minimumRunSeconds``).
    var exemptions = Heap<ExemptionEnd>()
    /// Per slot, what shortest remaining time reads every cycle, kept apart from the records so that reading
    /// it copies nothing.
    var runClocks: [RunClock] = []
    /// Per slot, the task's current priority, kept apart from the records so that a preemption search reads it
    /// for every running task without copying a record. Set through ``setPriority(_:_:)``.
    var priorities: [Int] = []
    /// Cycles run so far; a pending task's outcome is current when stamped with this count.
    var cycleCount = 0
    /// The task that stopped the last cycle under strict order, if one did.
    var lastStoppedBy: Int?
    /// Backfill's last reservation, while it holds.
    var reservationCache: CachedReservation?
    /// The last search for moves that found none (``SchedulerConfiguration/defragmentation``).
    var defragmentationMemo: DefragmentationMemo?

    public init(configuration: SchedulerConfiguration = SchedulerConfiguration()) throws(QuantityError) {
        try configuration.validate()
        self.configuration = configuration
        self.cluster = ClusterState(headroom: configuration.headroom, order: configuration.strategy.order)
        if configuration.policy.staticOrder != nil || configuration.policy.orderWithinTenant != nil { queue = PendingQueue() }
        if case .attainedService(let levels, _, true) = configuration.policy.service { serviceHistory = ServiceHistory(levels: levels) }
    }

    // MARK: - Nodes

    /// A node joins (or is declared).
    public mutating func addNode(_ spec: NodeSpec) throws(SchedulerError) {
        guard cluster.slots[spec.id] == nil else { throw SchedulerError(.duplicateNode, "node \(spec.id) is already known") }
        let slot = cluster.addNode(spec)
        fitVersion += 1
        nodeTasks.append([])
        nodeExtras.append(.zero)
        dirtyNodes.insert(slot)
    }

    /// A node stops accepting new work; what runs there stays.
    public mutating func cordon(_ node: NodeID) throws(SchedulerError) { cluster.setSchedulable(try slot(of: node), false) }

    /// A cordoned node accepts work again.
    public mutating func uncordon(_ node: NodeID) throws(SchedulerError) {
        let slot = try slot(of: node)
        cluster.setSchedulable(slot, true)
        dirtyNodes.insert(slot)
        fitVersion += 1
    }

    /// A node is gone (down or removed): every task with a replica there is requeued whole.
    public mutating func removeNode(_ node: NodeID, reason: String = "node lost", now: Double? = nil) throws(SchedulerError) -> [SchedulerAction] {
        let slot = try slot(of: node)
        advanceClock(now)
        var actions: [SchedulerAction] = []
        for task in nodeTasks[slot].sorted(by: { tasks[$0]!.sequence < tasks[$1]!.sequence }) {
            actions.append(.requeue(tasks[task]!.spec.id, reason: "\(reason): \(node)"))
            stopRunning(task)
        }
        cluster.removeNode(slot)
        return actions
    }

    /// The nodes, in join order.
    public var nodes: [NodeSpec] { cluster.nodes.filter(\.alive).map(\.spec) }

    func slot(of node: NodeID) throws(SchedulerError) -> Int {
        guard let slot = cluster.slots[node] else { throw SchedulerError(.unknownNode, "unknown node \(node)") }
        return slot
    }

    // MARK: - Tasks

    /// A task enters the queue.
    public mutating func submit(_ spec: TaskSpec, now: Double) throws(SchedulerError) {
        let slot = try admit(spec, now: now)
        enqueue(slot)
    }

    /// A task that already runs (recovered after a restart, or given in a what-if) takes its resources back.
    ///
    /// - Parameters:
    ///   - replicas: one `(node, gpu indices)` per replica.
    ///   - remainingSeconds: how long it is expected to run on, if known.
    public mutating func restore(
        _ spec: TaskSpec,
        replicas: [(node: NodeID, gpuIndices: [Int])],
        now: Double,
        remainingSeconds: Double? = nil
    ) throws(SchedulerError) {
        guard replicas.count == spec.gang else {
            throw SchedulerError(.invalidTask, "running task \(spec.id): \(replicas.count) placements given for a gang of \(spec.gang)")
        }
        let slot = try admit(spec, now: now, checkFeasible: false)
        advanceClock(now)
        var record = tasks[slot]!
        var choices: [Choice] = []
        for replica in replicas {
            do throws(SchedulerError) {
                let node = try self.slot(of: replica.node)
                var devices: [Int] = []
                for index in replica.gpuIndices {
                    guard let device = cluster.device(node: node, gpuIndex: index) else {
                        throw SchedulerError(.invalidTask, "running task \(spec.id): node \(replica.node) has no GPU \(index)")
                    }
                    devices.append(device)
                }
                if devices.isEmpty, record.demand.deviceCount > 0, let picked = cluster.pickDevices(record.demand, node: node) {
                    devices = picked
                }
                let choice = Choice(node: node, devices: devices)
                try checkRestorable(record, choice, node: replica.node)
                cluster.allocate(record.demand, choice)
                choices.append(choice)
            } catch {
                for choice in choices { cluster.release(record.demand, choice) }
                tasks[slot] = nil
                taskSlots[spec.id] = nil
                throw error
            }
        }
        record.phase = .running
        record.started = now
        record.expectedEnd = remainingSeconds.map { now + $0 } ?? spec.estimateSeconds.map { now + $0 }
        tasks[slot] = record
        markRunning(slot, choices)
    }

    /// A running task ended (succeeded, failed or was cancelled) at `now` (when given): its resources are free.
    public mutating func finish(_ id: TaskID, now: Double? = nil) throws(SchedulerError) { try remove(id, now: now, ended: true) }

    /// A task leaves the scheduler whatever its phase (cancelled).
    public mutating func cancel(_ id: TaskID, now: Double? = nil) throws(SchedulerError) { try remove(id, now: now, ended: false) }

    /// `ended`: a running task came to its end, and what it received in all is a sample of the service tasks take.
    private mutating func remove(_ id: TaskID, now: Double?, ended: Bool) throws(SchedulerError) {
        let slot = try taskSlot(id)
        advanceClock(now)
        let ran = tasks[slot]!.phase == .running
        switch tasks[slot]!.phase {
        case .running:
            stopRunning(slot)
            dequeue(slot)
        case .pending:
            dequeue(slot)
        }
        let attained = tasks[slot]!.attained
        tasks[slot] = nil
        taskSlots[id] = nil
        if ended, ran { serviceEnded(attained) }
    }

    /// A running task goes back to the queue (its process failed and may retry, or it was evicted outside a cycle).
    public mutating func requeue(_ id: TaskID, now: Double? = nil) throws(SchedulerError) {
        let slot = try taskSlot(id)
        advanceClock(now)
        guard tasks[slot]!.phase == .running else { throw SchedulerError(.invalidState, "task \(id) is not running") }
        stopRunning(slot)
    }

    /// The phase of a task, or `nil` when the scheduler does not know it.
    public func phase(of id: TaskID) -> TaskPhase? { taskSlots[id].flatMap { tasks[$0]?.phase } }

    /// Where a running task's replicas are.
    public func placements(of id: TaskID) -> [ReplicaPlacement]? {
        guard let slot = taskSlots[id], let record = tasks[slot], record.phase == .running else { return nil }
        return replicaPlacements(record)
    }

    /// The pending tasks' identifiers, in submission order.
    public var pendingTasks: [TaskID] { pending.sorted { tasks[$0]!.sequence < tasks[$1]!.sequence }.map { tasks[$0]!.spec.id } }
    /// The running tasks' identifiers, in submission order.
    public var runningTasks: [TaskID] { running.sorted { tasks[$0]!.sequence < tasks[$1]!.sequence }.map { tasks[$0]!.spec.id } }
    /// What each tenant's running work takes.
    public var usageByTenant: [TenantID: UsageVector] { tenantUsage }

    func taskSlot(_ id: TaskID) throws(SchedulerError) -> Int {
        guard let slot = taskSlots[id] else { throw SchedulerError(.unknownTask, "unknown task \(id)") }
        return slot
    }
}

extension Scheduler {
    /// Tenants' weights, guarantees and limits change (an operator's edit); they apply from the next cycle.
    public mutating func setTenantPolicies(_ tenants: [TenantID: TenantPolicy]) throws(QuantityError) {
        var changed = configuration
        changed.tenants = tenants
        try changed.validate()
        configuration = changed
        fitVersion += 1
        victims.reset()
    }

    /// A task's priority changes (an operator's edit, or a policy driver such as least attained service).
    /// It takes effect from the next cycle; a running task keeps running until something may evict it.
    public mutating func reprioritize(_ id: TaskID, priority: Int) throws(SchedulerError) {
        let slot = try taskSlot(id)
        guard tasks[slot]!.spec.priority != priority else { return }
        let queued = tasks[slot]!.phase == .pending
        if queued { dequeue(slot) } else if priority < tasks[slot]!.spec.priority { victims.record(priority) }
        setPriority(slot, priority)
        if queued { enqueue(slot) }
    }
}
