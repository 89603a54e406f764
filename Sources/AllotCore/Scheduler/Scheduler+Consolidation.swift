/// Moves of preemptible work that make room: each move stops a running task and starts it elsewhere.
public struct ConsolidationPlan: Sendable, Equatable {
    public struct Move: Sendable, Equatable {
        public var task: TaskID
        public var from: [ReplicaPlacement]
        public var to: [ReplicaPlacement]
    }

    /// The pending task the moves make room for; `nil` when the plan empties a node so it can be released.
    public var target: TaskID?
    public var moves: [Move]
    /// Where the target starts once the moves are done.
    public var targetPlacements: [ReplicaPlacement]
    /// Nodes whose every task moves away (the target may then take them whole).
    public var emptiedNodes: [NodeID]
    /// GPUs with nothing on them before the plan: free, but scattered where the target cannot use them.
    public var freeGPUsBefore: Int
}

extension Scheduler {
    /// A plan that lets the pending task `id` start by moving the fewest preemptible tasks (a gang counts as
    /// all its replicas), computed with the scheduler's own placement on a what-if copy: for each replica that
    /// does not fit, the node where the smallest set of movable tasks can be placed elsewhere and leave room.
    /// A task is movable when it is preemptible, not critical, and not of higher priority than the target.
    /// `nil` when the task fits already or no moves make room.
    public func consolidationPlan(for id: TaskID) -> ConsolidationPlan? {
        guard let slot = taskSlots[id], let record = tasks[slot], record.phase == .pending else { return nil }
        var what = self
        let tasks = self.tasks
        guard let (placed, moved) = what.makeRoom(for: slot, movable: { Self.movable(tasks[$0]!, for: record) }) else { return nil }
        return what.plan(target: record, placed, moved, from: self)
    }

    /// Whether `candidate` may be moved to make room for `record`: preemptible, not critical, and not of higher
    /// priority.
    static func movable(_ candidate: TaskRecord, for record: TaskRecord) -> Bool {
        candidate.spec.preemptible && candidate.spec.slaClass != .critical && candidate.spec.priority <= record.spec.priority
    }

    /// Places every replica of the pending task at `slot`, moving the fewest `movable` running tasks for those
    /// that do not fit (see ``consolidationPlan(for:)``). The cluster then holds the moves and the replicas
    /// (call it on a what-if copy); `nil` when the task fits without moves or no moves make room.
    mutating func makeRoom(for slot: Int, movable: (Int) -> Bool) -> (placed: [Choice], moved: [Int: [Choice]])? {
        let record = tasks[slot]!
        var placed: [Choice] = []
        var moved: [Int: [Choice]] = [:]
        for _ in 0..<record.spec.gang {
            if let choice = cluster.findPlacement(record.demand, strategy: configuration.strategy) {
                cluster.allocate(record.demand, choice)
                placed.append(choice)
                continue
            }
            guard let best = fewestMoves(making: record, room: movable, excluding: Set(moved.keys)) else { return nil }
            placed.append(best.choice)
            for (victim, choices) in best.moves { moved[victim] = choices }
        }
        guard !moved.isEmpty else { return nil }
        return (placed, moved)
    }

    /// A plan that empties `node` by moving every task on it elsewhere (so the node can be released), or `nil`
    /// when something there cannot move or does not fit elsewhere.
    public func drainPlan(_ node: NodeID) -> ConsolidationPlan? {
        guard let slot = cluster.slots[node], cluster.nodes[slot].alive, !nodeTasks[slot].isEmpty else { return nil }
        var what = self
        let victims = nodeTasks[slot].sorted { tasks[$0]!.sequence < tasks[$1]!.sequence }
        guard victims.allSatisfy({ tasks[$0]!.spec.preemptible && tasks[$0]!.spec.slaClass != .critical }) else { return nil }
        for victim in victims { for choice in tasks[victim]!.choices { what.cluster.release(tasks[victim]!.demand, choice) } }
        guard let moves = what.relocate(victims, awayFrom: slot) else { return nil }
        return what.plan(target: nil, [], moves, from: self)
    }

    /// The node where the fewest movable tasks, placed elsewhere, leave room for one replica of `record`.
    /// On success the what-if cluster holds the moves and the replica.
    ///
    /// Before a subset is tried (moved, with every replica placed anew), it is checked cheaply, with the same
    /// answer: that it holds enough whole devices, that other nodes have as many whole devices free as it
    /// holds here and one of them enough for each of its replicas, and that the replica fits once it is gone.
    /// A node where even all of them gone leaves no room is not searched, and a move of one task cannot be
    /// beaten.
    private mutating func fewestMoves(
        making record: TaskRecord,
        room movable: (Int) -> Bool,
        excluding done: Set<Int>
    ) -> (choice: Choice, moves: [Int: [Choice]])? {
        let demand = record.demand
        let counting = demand.deviceCount > 0 && !demand.sharesDevices
        var best: (cost: Int, node: Int, victims: [Int])?
        let usable = cluster.nodes.indices.filter { cluster.nodes[$0].alive && cluster.nodes[$0].schedulable }
        let freeWhole = usable.map { node in cluster.deviceRange(node).reduce(0) { $0 + (cluster.devices[$1].isFree ? 1 : 0) } }
        let freeEverywhere = freeWhole.reduce(0, +)
        // The two largest counts of free whole devices on one node, for the largest on any other node.
        var largest = (count: 0, position: -1, second: 0)
        for (position, count) in freeWhole.enumerated() {
            if count > largest.count {
                largest = (count, position, largest.count)
            } else if count > largest.second {
                largest.second = count
            }
        }
        for (position, node) in usable.enumerated() {
            // Each candidate's record read once: reading a field through the array copies the whole record.
            let candidates = nodeTasks[node].compactMap { slot -> Held? in
                guard !done.contains(slot), movable(slot) else { return nil }
                let held = tasks[slot]!
                return Held(
                    slot: slot,
                    priority: held.spec.priority,
                    sequence: held.sequence,
                    gang: held.spec.gang,
                    demand: held.demand,
                    choices: held.choices
                )
            }
            .sorted { ($0.gang, $0.priority, -$0.sequence) < ($1.gang, $1.priority, -$1.sequence) }
            guard !candidates.isEmpty else { continue }
            let considered = Array(candidates.prefix(12))
            guard Self.fitsWithout(Array(considered.indices), of: considered, record, node: node, in: &cluster) else { continue }
            let short = counting ? demand.deviceCount - cluster.freeDevices(for: demand, node: node) : 0
            let freed = considered.map { held in
                var count = 0
                for choice in held.choices where choice.node == node {
                    for device in choice.devices where cluster.serves(demand, device: device) { count += 1 }
                }
                return count
            }
            // The whole devices the moved tasks hold here must be free on other nodes, and each replica's on one
            // of them (shares are not counted).
            let elsewhere = freeEverywhere - freeWhole[position]
            let largestElsewhere = largest.position == position ? largest.second : largest.count
            let holds = considered.map { held in
                held.demand.sharesDevices ? 0 : held.choices.reduce(0) { $0 + ($1.node == node ? $1.devices.count : 0) }
            }
            let fitsLargest = considered.map { held in held.demand.sharesDevices || held.demand.deviceCount <= largestElsewhere }
            // A gang with replicas on other nodes frees room there too: no such bound for a subset holding one.
            let spans = considered.map { held in held.choices.contains { $0.node != node } }
            var found: [Int]?
            for size in 1...considered.count {
                if let best, size > best.cost { break }
                forEachCombination(of: considered.count, size: size) { indices in
                    if short > 0, indices.reduce(0, { $0 + freed[$1] }) < short { return true }
                    if indices.reduce(0, { $0 + holds[$1] }) > elsewhere { return true }
                    if !indices.contains(where: { spans[$0] }), !indices.allSatisfy({ fitsLargest[$0] }) { return true }
                    guard Self.fitsWithout(indices, of: considered, record, node: node, in: &cluster) else { return true }
                    let subset = indices.map { considered[$0].slot }
                    guard trial(record, on: node, moving: subset) != nil else { return true }
                    found = indices
                    return false
                }
                if found != nil { break }
            }
            guard let chosen = found else { continue }
            let cost = chosen.reduce(0) { $0 + considered[$1].gang }
            if best == nil || cost < best!.cost { best = (cost, node, chosen.map { considered[$0].slot }) }
            if best!.cost == 1 { break }
        }
        guard let best, let result = trial(record, on: best.node, moving: best.victims, keep: true) else { return nil }
        return result
    }

    /// Moves `victims` off `node` (placing them elsewhere), then fits one replica of `record` there. Undone
    /// unless `keep`; `nil` when something does not fit.
    private mutating func trial(
        _ record: TaskRecord,
        on node: Int,
        moving victims: [Int],
        keep: Bool = false
    ) -> (choice: Choice, moves: [Int: [Choice]])? {
        for victim in victims { for choice in tasks[victim]!.choices { cluster.release(tasks[victim]!.demand, choice) } }
        func restore(_ scheduler: inout Scheduler) {
            for victim in victims {
                for choice in scheduler.tasks[victim]!.choices { scheduler.cluster.allocate(scheduler.tasks[victim]!.demand, choice) }
            }
        }
        guard let choice = cluster.fit(record.demand, node: node) else {
            restore(&self)
            return nil
        }
        cluster.allocate(record.demand, choice)
        guard let moves = relocate(victims, awayFrom: node) else {
            cluster.release(record.demand, choice)
            restore(&self)
            return nil
        }
        if !keep {
            for (victim, choices) in moves { for new in choices { cluster.release(tasks[victim]!.demand, new) } }
            cluster.release(record.demand, choice)
            restore(&self)
        }
        return (choice, moves)
    }

    /// Places each of `victims` (already released) whole, every replica, with the scheduler's strategy on
    /// nodes other than `node`. On failure the ones placed are released again.
    private mutating func relocate(_ victims: [Int], awayFrom node: Int) -> [Int: [Choice]]? {
        let schedulable = cluster.nodes[node].schedulable
        cluster.setSchedulable(node, false)
        defer { cluster.setSchedulable(node, schedulable) }
        var moves: [Int: [Choice]] = [:]
        for victim in victims {
            let record = tasks[victim]!
            guard let choices = Self.placeGang(record.demand, count: record.spec.gang, strategy: configuration.strategy, in: &cluster) else {
                for (other, placed) in moves { for choice in placed { cluster.release(tasks[other]!.demand, choice) } }
                return nil
            }
            moves[victim] = choices
        }
        return moves
    }

    /// Describes the what-if state `self` reached from `before`.
    private func plan(target: TaskRecord?, _ placed: [Choice], _ moved: [Int: [Choice]], from before: Scheduler) -> ConsolidationPlan {
        var emptied: [NodeID] = []
        for node in cluster.nodes.indices where cluster.nodes[node].alive && !before.nodeTasks[node].isEmpty {
            let stays = before.nodeTasks[node].contains { moved[$0] == nil }
            if !stays && !moved.values.joined().contains(where: { $0.node == node }) {
                emptied.append(cluster.nodes[node].spec.id)
            }
        }
        let moves = moved.keys.sorted { tasks[$0]!.sequence < tasks[$1]!.sequence }.map { victim in
            var after = tasks[victim]!
            after.choices = moved[victim]!
            return ConsolidationPlan.Move(
                task: after.spec.id,
                from: before.replicaPlacements(before.tasks[victim]!),
                to: replicaPlacements(after)
            )
        }
        var started = target
        started?.choices = placed
        return ConsolidationPlan(
            target: target?.spec.id,
            moves: moves,
            targetPlacements: started.map { replicaPlacements($0) } ?? [],
            emptiedNodes: emptied,
            freeGPUsBefore: before.cluster.devices.filter { $0.isFree && before.cluster.nodes[$0.node].alive }.count
        )
    }

    /// Carries out a plan computed on the current state: stops each moved task and starts it at its new
    /// place, and starts the target. All or nothing: a plan that no longer matches (something moved, ended or
    /// took the room) fails with ``SchedulerError/Code/invalidState``.
    public mutating func apply(_ plan: ConsolidationPlan, now: Double) throws(SchedulerError) -> [SchedulerAction] {
        var next = self
        var actions: [SchedulerAction] = []
        func stale(_ why: String) -> SchedulerError { SchedulerError(.invalidState, "the plan is out of date: \(why)") }
        for move in plan.moves {
            guard let slot = next.taskSlots[move.task], next.tasks[slot]!.phase == .running,
                next.replicaPlacements(next.tasks[slot]!).map(\.node) == move.from.map(\.node)
            else { throw stale("\(move.task) is no longer where the plan found it") }
            next.stopRunning(slot)
            actions.append(.preempt(move.task, by: plan.target ?? TaskID("consolidation")))
        }
        var starts: [(TaskID, [ReplicaPlacement])] = []
        if let target = plan.target { starts.append((target, plan.targetPlacements)) }
        starts += plan.moves.map { ($0.task, $0.to) }
        for (id, placements) in starts {
            guard let slot = next.taskSlots[id], next.tasks[slot]!.phase == .pending, placements.count == next.tasks[slot]!.spec.gang else {
                throw stale("\(id) is not waiting to start")
            }
            var choices: [Choice] = []
            for placement in placements {
                guard let node = next.cluster.slots[placement.node] else { throw stale("node \(placement.node) is gone") }
                let devices = placement.gpuIndices.compactMap { next.cluster.device(node: node, gpuIndex: $0) }
                let choice = Choice(node: node, devices: devices)
                do { try next.checkRestorable(next.tasks[slot]!, choice, node: placement.node) } catch { throw stale(error.message) }
                next.cluster.allocate(next.tasks[slot]!.demand, choice)
                choices.append(choice)
            }
            next.markRunning(slot, choices)
            next.tasks[slot]!.started = now
            next.tasks[slot]!.expectedEnd = next.tasks[slot]!.spec.estimateSeconds.map { now + $0 }
            actions.append(.bind(id, next.replicaPlacements(next.tasks[slot]!)))
        }
        self = next
        return actions
    }
}
