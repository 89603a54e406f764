/// EASY backfill's reservation for the blocked task at the head of the queue.
///
/// The shadow time is when, by the running tasks' expected ends, enough is released for the head to fit.
/// A later task may start now if it is expected to end by then, or if, holding its resources, the head
/// still fits at the shadow time ("extra" capacity). Running tasks of unknown length are never counted on
/// to end: while any of them must end for the head to fit, only the second rule applies, against the state
/// in which every running task has ended, so nothing can take the head's place.
struct Reservation {
    var head: Int
    var demand: Demand
    var gang: Int
    /// `nil` when the head waits on a task of unknown length.
    var shadow: Double?
    /// The cluster at the shadow time, with long-running backfilled tasks added.
    var future: ClusterState
    /// Whether the head fits in `future` at all; if not (a cordon, a quota), it holds nothing back.
    var headFits: Bool

    /// Whether the task is expected to end by the shadow time (or nothing is held back at all).
    func endsBeforeShadow(_ spec: TaskSpec, now: Double) -> Bool {
        guard headFits else { return true }
        guard let shadow, let estimate = spec.estimateSeconds else { return false }
        return now + estimate <= shadow
    }

    mutating func admits(_ record: TaskRecord, _ choices: [Choice], now: Double, strategy: any PlacementStrategy) -> Bool {
        if endsBeforeShadow(record.spec, now: now) { return true }
        for choice in choices { future.allocate(record.demand, choice) }
        if let headChoices = Scheduler.placeGang(demand, count: gang, strategy: strategy, in: &future) {
            for choice in headChoices { future.release(demand, choice) }
            return true
        }
        for choice in choices { future.release(record.demand, choice) }
        return false
    }
}

extension Scheduler {
    func makeReservation(_ head: Int, now: Double) -> Reservation {
        let record = tasks[head]!
        let strategy = configuration.strategy
        var future = cluster
        func fits(_ state: inout ClusterState) -> Bool {
            guard let choices = Self.placeGang(record.demand, count: record.spec.gang, strategy: strategy, in: &state) else { return false }
            for choice in choices { state.release(record.demand, choice) }
            return true
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
            if fits(&future) {
                return Reservation(head: head, demand: record.demand, gang: record.spec.gang, shadow: max(end, now), future: future, headFits: true)
            }
        }
        for slot in unknown {
            for choice in tasks[slot]!.choices { future.release(tasks[slot]!.demand, choice) }
        }
        let headFits = fits(&future)
        return Reservation(head: head, demand: record.demand, gang: record.spec.gang, shadow: nil, future: future, headFits: headFits)
    }
}
