import PropertyBased
import Testing

@testable import AllotCore

/// Random clusters, queues and event sequences: whatever happens, capacity is never exceeded, gangs are
/// whole or absent, headroom holds for ordinary work, nothing is lost, and the same input gives the same output.
struct PropertyTests {
    /// A random scenario drawn from a seed.
    struct Scenario {
        var configuration: SchedulerConfiguration
        var nodes: [NodeSpec]
        var batches: [[TaskSpec]]

        init(seed: UInt64) {
            var random = SplitMix64(seed: seed)
            func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
            let strategy = pick(PlacementStrategies.names)
            let policy = pick(QueuePolicies.names)
            configuration = SchedulerConfiguration(
                strategy: try! PlacementStrategies.named(strategy),
                policy: try! QueuePolicies.named(policy, agingSeconds: random.next() % 2 == 0 ? 30 : nil),
                headroom: pick([0, 0.05, 0.1, 0.2, 0.3]),
                backfill: random.next() % 2 == 0,
                preemption: random.next() % 4 != 0,
                minimumRunSeconds: pick([0, 0, 45])
            )
            configuration.defragmentation = configuration.preemption && random.next() % 3 == 0
            let nodeCount = 1 + Int(random.next() % 8)
            nodes = (0..<nodeCount).map { index in
                let gpus = pick([0, 0, 1, 2, 4, 8])
                let model = pick(["A100", "H100", "L4"])
                return NodeSpec(
                    id: NodeID("n\(index)"),
                    capacity: ResourceVector(cpuMillis: Int64(pick([2, 4, 8, 16, 64])) * 1000, memoryBytes: Int64(pick([4, 8, 32, 256])) * GiB),
                    gpus: (0..<gpus).map { GPUDevice(index: $0, model: model, memoryBytes: Int64(pick([16, 24, 40, 80])) * GiB) }
                )
            }
            var counter = 0
            batches = (0..<4).map { _ in
                (0..<Int(random.next() % 12)).map { _ in
                    counter += 1
                    var request = ResourceRequest(
                        resources: ResourceVector(
                            cpuMillis: Int64(pick([0, 250, 500, 1000, 2000, 4000])),
                            memoryBytes: Int64(pick([0, 1, 2, 4, 8])) * GiB
                        )
                    )
                    switch random.next() % 4 {
                    case 0: request.gpus = pick([1, 1, 2, 4])
                    case 1: request.gpuMemoryBytes = Int64(pick([2, 4, 8, 16])) * GiB
                    default: break
                    }
                    if random.next() % 3 == 0 { request.gpuModel = pick(["A100", "H100", "L4"]) }
                    return TaskSpec(
                        id: TaskID("t\(counter)"),
                        tenant: TenantID(pick(["a", "b", "c"])),
                        priority: Int(random.next() % 5),
                        slaClass: pick([.critical, .standard, .standard, .bestEffort]),
                        requests: request,
                        limits: random.next() % 4 == 0 ? ResourceVector(cpuMillis: request.resources.cpuMillis * 2) : nil,
                        gang: pick([1, 1, 1, 2, 3]),
                        preemptible: random.next() % 2 == 0,
                        estimateSeconds: random.next() % 3 == 0 ? nil : Double(10 + random.next() % 300)
                    )
                }
            }
        }

        /// Runs the scenario: each batch is submitted, a cycle runs and another with nothing new, then some
        /// running tasks finish and a cycle runs. `forgetReservations` works backfill's reservation out afresh
        /// in every cycle.
        func run(forgetReservations: Bool = false, check: (Scheduler, [TaskID: TaskSpec]) -> Void = { _, _ in }) -> [[SchedulerAction]] {
            var scheduler = try! Scheduler(configuration: configuration)
            func cycle(_ now: Double) -> [SchedulerAction] {
                if forgetReservations { scheduler.reservationCache = nil }
                return scheduler.schedule(now: now)
            }
            for node in nodes { try! scheduler.addNode(node) }
            var specs: [TaskID: TaskSpec] = [:]
            var log: [[SchedulerAction]] = []
            for (step, batch) in batches.enumerated() {
                let now = Double(step * 60)
                for task in batch {
                    do {
                        try scheduler.submit(task, now: now)
                        specs[task.id] = task
                    } catch {
                        #expect(error.code == .infeasible, "unexpected refusal: \(error)")
                    }
                }
                log.append(cycle(now))
                check(scheduler, specs)
                log.append(cycle(now + 1))
                check(scheduler, specs)
                for (index, id) in scheduler.runningTasks.enumerated() where index % 3 == step % 3 {
                    try! scheduler.finish(id)
                    specs[id] = nil
                }
                log.append(cycle(now + 30))
                check(scheduler, specs)
            }
            return log
        }
    }

    static func checkInvariants(_ scheduler: Scheduler, _ specs: [TaskID: TaskSpec], _ scenario: Scenario) {
        let headroom = scenario.configuration.headroom
        let nodes = Dictionary(uniqueKeysWithValues: scenario.nodes.map { ($0.id, $0) })
        var cpu: [NodeID: (all: Int64, ordinary: Int64)] = [:]
        var granted: [NodeID: Int64] = [:]
        var memory: [NodeID: (all: Int64, ordinary: Int64)] = [:]
        var shares: [String: (all: Int64, ordinary: Int64)] = [:]
        var exclusive: [String: Int] = [:]
        // Nothing is lost: every known task is running or pending, never both.
        let running = Set(scheduler.runningTasks)
        let pending = Set(scheduler.pendingTasks)
        #expect(running.isDisjoint(with: pending))
        #expect(running.union(pending) == Set(specs.keys))
        for id in running {
            let spec = specs[id]!
            let placements = scheduler.placements(of: id)!
            #expect(placements.count == spec.gang, "gang \(id) placed \(placements.count) of \(spec.gang)")
            let ordinary: Int64 = spec.slaClass == .critical ? 0 : 1
            for placement in placements {
                let node = nodes[placement.node]!
                let r = spec.requests.resources
                cpu[placement.node, default: (0, 0)].all += r.cpuMillis
                cpu[placement.node, default: (0, 0)].ordinary += r.cpuMillis * ordinary
                memory[placement.node, default: (0, 0)].all += r.memoryBytes
                memory[placement.node, default: (0, 0)].ordinary += r.memoryBytes * ordinary
                granted[placement.node, default: 0] += placement.cpuMillis
                #expect(placement.gpuIndices.count == spec.requests.deviceCount)
                #expect(Set(placement.gpuIndices).count == placement.gpuIndices.count)
                for index in placement.gpuIndices {
                    let gpu = node.gpus.first { $0.index == index }!
                    if let model = spec.requests.gpuModel { #expect(gpu.model.lowercased() == model.lowercased()) }
                    let key = "\(placement.node)/\(index)"
                    if let share = spec.requests.gpuMemoryBytes {
                        shares[key, default: (0, 0)].all += share
                        shares[key, default: (0, 0)].ordinary += share * ordinary
                    } else {
                        exclusive[key, default: 0] += 1
                    }
                }
            }
        }
        func limit(_ capacity: Int64) -> Int64 { capacity - Int64((Double(capacity) * headroom).rounded(.down)) }
        for (id, node) in nodes {
            let used = cpu[id] ?? (0, 0)
            #expect(used.all <= node.capacity.cpuMillis, "cpu over capacity on \(id)")
            #expect(used.ordinary <= limit(node.capacity.cpuMillis), "ordinary cpu in the headroom on \(id)")
            #expect((granted[id] ?? 0) <= node.capacity.cpuMillis, "granted cpu over capacity on \(id)")
            let mem = memory[id] ?? (0, 0)
            #expect(mem.all <= node.capacity.memoryBytes, "memory over capacity on \(id)")
            #expect(mem.ordinary <= limit(node.capacity.memoryBytes), "ordinary memory in the headroom on \(id)")
            for gpu in node.gpus {
                let key = "\(id)/\(gpu.index)"
                let share = shares[key] ?? (0, 0)
                #expect((exclusive[key] ?? 0) <= 1, "GPU \(key) given whole twice")
                #expect(exclusive[key] == nil || share.all == 0, "GPU \(key) both whole and shared")
                #expect(share.all <= gpu.memoryBytes, "GPU \(key) memory over capacity")
                #expect(share.ordinary <= limit(gpu.memoryBytes), "GPU \(key) ordinary shares in the headroom")
            }
        }
        // The side table a preemption search reads agrees with every record.
        for (slot, record) in scheduler.tasks.enumerated() {
            if let record { #expect(scheduler.priorities[slot] == record.spec.priority) }
        }
        // The scheduler's own utilization never reports a pool over capacity.
        #expect(scheduler.utilization().pools.allSatisfy { $0.used <= $0.capacity + 1e-9 })
    }

    @Test func invariantsHoldOnRandomScenarios() async {
        await propertyCheck(count: 300, input: Gen.uint64(in: 0...UInt64.max)) { seed in
            let scenario = Scenario(seed: seed)
            _ = scenario.run { scheduler, specs in Self.checkInvariants(scheduler, specs, scenario) }
        }
    }

    @Test func aReservationKeptAcrossCyclesDecidesAsOneWorkedOutAfresh() async {
        await propertyCheck(count: 300, input: Gen.uint64(in: 0...UInt64.max)) { seed in
            var scenario = Scenario(seed: seed)
            scenario.configuration.backfill = true
            #expect(scenario.run() == scenario.run(forgetReservations: true))
        }
    }

    /// Cycles run at each step's 0, 1 and 30 s, steps 60 s apart: a minimum run of 45 s spans some cycles.
    @Test func noTaskIsPreemptedWithinItsMinimumRun() async {
        await propertyCheck(count: 300, input: Gen.uint64(in: 0...UInt64.max)) { seed in
            var scenario = Scenario(seed: seed)
            scenario.configuration.preemption = true
            scenario.configuration.minimumRunSeconds = 45
            var started: [TaskID: Double] = [:]
            for (index, actions) in scenario.run().enumerated() {
                let now = Double(index / 3 * 60 + [0, 1, 30][index % 3])
                for action in actions {
                    switch action {
                    case .preempt(let id, _):
                        let ran = started[id].map { now - $0 } ?? .infinity
                        #expect(ran >= 45, "\(id) preempted \(ran) s after its start")
                    case .bind(let id, _):
                        started[id] = now
                    default:
                        break
                    }
                }
            }
        }
    }

    @Test func sameInputGivesSameOutput() async {
        await propertyCheck(count: 100, input: Gen.uint64(in: 0...UInt64.max)) { seed in
            let scenario = Scenario(seed: seed)
            #expect(scenario.run() == scenario.run())
        }
    }
}
