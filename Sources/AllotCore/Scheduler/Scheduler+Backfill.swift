/// EASY backfill's reservation for the blocked task at the head of the queue.
///
/// The shadow time is when, by the running tasks' expected ends, enough is released for the head to fit.
/// A later task may start now if it is expected to end by then, or if, holding its resources, the head
/// still fits at the shadow time ("extra" capacity). Running tasks of unknown length are never counted on
/// to end: while any of them must end for the head to fit, only the second rule applies, against the state
/// in which every running task has ended, so nothing can take the head's place.
struct Reservation: Sendable {
    var head: Int
    var demand: Demand
    var gang: Int
    /// `nil` when the head waits on a task of unknown length.
    var shadow: Double?
    /// The cluster at the shadow time, with long-running backfilled tasks added.
    var future: ClusterState
    /// Whether the head fits in `future` at all; if not (a cordon, a quota), it holds nothing back.
    var headFits: Bool
    /// Where the head fits in `future` (when it does): while a backfilled task takes nothing on these nodes,
    /// the head still fits there, and no search is needed to say so.
    var headPlan: [Choice]
    /// Nodes of `future` changed without updating its candidate indexes (see ``ClusterState/refreshIndexes(of:)``).
    var staleNodes: Set<Int> = []

    /// Whether the task is expected to end by the shadow time (or nothing is held back at all).
    func endsBeforeShadow(_ spec: TaskSpec, now: Double) -> Bool {
        guard headFits else { return true }
        guard let shadow, let estimate = spec.estimateSeconds else { return false }
        return now + estimate <= shadow
    }

    mutating func admits(_ record: TaskRecord, _ choices: [Choice], now: Double, strategy: any PlacementStrategy) -> Bool {
        if endsBeforeShadow(record.spec, now: now) { return true }
        // Feasibility is per node: on nodes the head's plan does not use, the task leaves that plan standing.
        if !choices.contains(where: { choice in headPlan.contains { $0.node == choice.node } }) {
            for choice in choices {
                future.allocate(record.demand, choice, reindex: false)
                staleNodes.insert(choice.node)
            }
            return true
        }
        future.refreshIndexes(of: staleNodes)
        staleNodes.removeAll(keepingCapacity: true)
        for choice in choices { future.allocate(record.demand, choice) }
        if let headChoices = Scheduler.placeGang(demand, count: gang, strategy: strategy, in: &future) {
            for choice in headChoices { future.release(demand, choice) }
            headPlan = headChoices
            return true
        }
        for choice in choices { future.release(record.demand, choice) }
        return false
    }
}

/// The last reservation worked out, kept while its head and the cluster are unchanged: a cycle in which
/// nothing started, ended or joined does not work it out again.
///
/// One that waits on tasks of unknown length also holds while tasks only start (with them running, no
/// earlier end lets the head fit either, and the state in which every running task has ended is the same),
/// and while no running task has an expected end at all (that state is then the only one looked at).
struct CachedReservation: Sendable {
    var head: Int
    var sequence: Int
    var clusterVersion: Int
    var clusterReleases: Int
    var clusterLayout: Int
    /// The expected end the shadow time was taken from (the shadow is never before `now`).
    var end: Double?
    var reservation: Reservation
}

extension Scheduler {
    /// The reservation for `head`, from the cache when neither the head nor the cluster changed since it was
    /// worked out.
    mutating func reservation(for head: Int, now: Double) -> Reservation {
        let sequence = tasks[head]!.sequence
        if let cached = reservationCache, cached.head == head, cached.sequence == sequence {
            let unchanged = cached.clusterVersion == cluster.version
            // The fragmentation strategy's mix changes with every submission, and with it where a gang is placed.
            let waitsOnUnknown = cached.reservation.shadow == nil && !configuration.strategy.measuresFragmentation
            let onlyStarts = waitsOnUnknown && cached.clusterReleases == cluster.releases
            let noKnownEnds = waitsOnUnknown && cached.clusterLayout == cluster.layout && !running.contains { tasks[$0]!.expectedEnd != nil }
            if unchanged || onlyStarts || noKnownEnds {
                var reservation = cached.reservation
                reservation.shadow = cached.end.map { max($0, now) }
                return reservation
            }
        }
        let (reservation, end) = workOutReservation(head, now: now)
        reservationCache = CachedReservation(
            head: head,
            sequence: sequence,
            clusterVersion: cluster.version,
            clusterReleases: cluster.releases,
            clusterLayout: cluster.layout,
            end: end,
            reservation: reservation
        )
        return reservation
    }

    func makeReservation(_ head: Int, now: Double) -> Reservation { workOutReservation(head, now: now).reservation }

    /// The reservation, and the expected end its shadow time comes from.
    private func workOutReservation(_ head: Int, now: Double) -> (reservation: Reservation, end: Double?) {
        let record = tasks[head]!
        let strategy = configuration.strategy
        var future = cluster
        func plan(_ state: inout ClusterState) -> [Choice]? {
            guard let choices = Self.placeGang(record.demand, count: record.spec.gang, strategy: strategy, in: &state) else { return nil }
            for choice in choices { state.release(record.demand, choice) }
            return choices
        }
        func reservation(shadow: Double?, plan: [Choice]?) -> Reservation {
            Reservation(
                head: head,
                demand: record.demand,
                gang: record.spec.gang,
                shadow: shadow,
                future: future,
                headFits: plan != nil,
                headPlan: plan ?? []
            )
        }
        let ordered = running.map { (end: tasks[$0]!.expectedEnd ?? .infinity, sequence: tasks[$0]!.sequence, slot: $0) }
            .sorted { ($0.end, $0.sequence) < ($1.end, $1.sequence) }
            .map(\.slot)
        var unknown: [Int] = []
        for slot in ordered {
            let task = tasks[slot]!
            guard let end = task.expectedEnd else {
                unknown.append(slot)
                continue
            }
            for choice in task.choices { future.release(task.demand, choice) }
            if let choices = plan(&future) { return (reservation(shadow: max(end, now), plan: choices), end) }
        }
        // Nothing is searched until every one of them is released: each node's indexes are brought up to date once.
        var released = Set<Int>()
        for slot in unknown {
            for choice in tasks[slot]!.choices {
                future.release(tasks[slot]!.demand, choice, reindex: false)
                released.insert(choice.node)
            }
        }
        future.refreshIndexes(of: released)
        return (reservation(shadow: nil, plan: plan(&future)), nil)
    }
}
