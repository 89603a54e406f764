import Testing

@testable import AllotCore

struct FairShareTests {
    /// Tenants with endless queues of identical CPU tasks on a contended node; returns the CPU each holds.
    func contend(weights: [String: Double], tasksEach: Int = 60) throws -> [String: Double] {
        var scheduler = makeScheduler(
            policy: FairSharePolicy(),
            tenants: Dictionary(uniqueKeysWithValues: weights.map { (TenantID($0.key), TenantPolicy(weight: $0.value)) })
        )
        try scheduler.addNode(cpuNode("n1", cpu: 60, memoryGiB: 600))
        for tenant in weights.keys.sorted() {
            for index in 0..<tasksEach { try scheduler.submit(cpuTask("\(tenant)\(index)", cpu: 1, memoryGiB: 1, tenant: tenant), now: 0) }
        }
        _ = scheduler.schedule(now: 0)
        return Dictionary(uniqueKeysWithValues: scheduler.usageByTenant.map { ($0.key.rawValue, $0.value.cpuMillis / 1000) })
    }

    @Test(arguments: [
        ["a": 1.0, "b": 1.0], ["a": 2.0, "b": 1.0], ["a": 1.0, "b": 1.0, "c": 1.0], ["a": 2.0, "b": 1.0, "c": 1.0],
    ])
    func sharesConvergeToTheWeights(weights: [String: Double]) throws {
        let held = try contend(weights: weights)
        let total = weights.values.reduce(0, +)
        for (tenant, weight) in weights {
            let expected = 60 * weight / total
            #expect(abs((held[tenant] ?? 0) - expected) <= expected * 0.05, "\(tenant) holds \(held[tenant] ?? 0), expected \(expected)")
        }
    }

    @Test func aTenantLimitStopsItsTasksAndNamesTheQuota() throws {
        var scheduler = makeScheduler(
            policy: FairSharePolicy(),
            tenants: ["a": TenantPolicy(limit: UsageVector(cpuMillis: 2000, memoryBytes: 1e15, gpus: 0, gpuMemoryBytes: 0))]
        )
        try scheduler.addNode(cpuNode("n1", cpu: 16, memoryGiB: 64))
        for index in 0..<3 { try scheduler.submit(cpuTask("a\(index)", cpu: 1, memoryGiB: 1, tenant: "a"), now: 0) }
        try scheduler.submit(cpuTask("b0", cpu: 1, memoryGiB: 1, tenant: "b"), now: 0)
        let actions = scheduler.schedule(now: 0)
        #expect(Set(actions.bound) == ["a0", "a1", "b0"])
        #expect(scheduler.pendingReason("a2") == "tenant a limit: cpu 3 > 2 with this task")
    }

    @Test func aTenantBorrowsWhenIdleAndReclaimsItsGuaranteeByPreemption() throws {
        let guarantee = UsageVector(cpuMillis: 0, memoryBytes: 0, gpus: 2, gpuMemoryBytes: 0)
        var scheduler = makeScheduler(
            policy: FairSharePolicy(),
            tenants: ["research": TenantPolicy(guaranteed: guarantee), "prod": TenantPolicy(guaranteed: guarantee)]
        )
        try scheduler.addNode(gpuNode("n1", [80, 80, 80, 80]))
        for index in 0..<4 {
            try scheduler.submit(TaskSpec(id: TaskID("r\(index)"), tenant: "research", requests: ResourceRequest(gpus: 1), preemptible: true), now: 0)
        }
        // prod is idle: research borrows all four GPUs.
        #expect(scheduler.schedule(now: 0).bound.count == 4)
        try scheduler.submit(TaskSpec(id: "p0", tenant: "prod", requests: ResourceRequest(gpus: 1)), now: 1)
        try scheduler.submit(TaskSpec(id: "p1", tenant: "prod", requests: ResourceRequest(gpus: 1)), now: 1)
        try scheduler.submit(TaskSpec(id: "p2", tenant: "prod", requests: ResourceRequest(gpus: 1)), now: 1)
        let actions = scheduler.schedule(now: 1)
        // prod reclaims exactly its guarantee of two GPUs; the third prod task is not a reclaim.
        #expect(actions.filter { if case .preempt = $0 { true } else { false } }.count == 2)
        #expect(Set(actions.bound) == ["p0", "p1"])
        #expect(scheduler.usageByTenant["research"]?.gpus == 2)
    }

    @Test func agingLetsOldLowPriorityWorkOvertake() throws {
        var scheduler = makeScheduler(policy: PriorityPolicy(agingSeconds: 60))
        try scheduler.addNode(cpuNode("n1", cpu: 1, memoryGiB: 4))
        try scheduler.submit(cpuTask("old", cpu: 1, memoryGiB: 1, priority: 0), now: 0)
        try scheduler.submit(cpuTask("new", cpu: 1, memoryGiB: 1, priority: 2), now: 299)
        #expect(scheduler.schedule(now: 300).bound == ["old"])
        var strict = makeScheduler(policy: PriorityPolicy())
        try strict.addNode(cpuNode("n1", cpu: 1, memoryGiB: 4))
        try strict.submit(cpuTask("old", cpu: 1, memoryGiB: 1, priority: 0), now: 0)
        try strict.submit(cpuTask("new", cpu: 1, memoryGiB: 1, priority: 2), now: 299)
        #expect(strict.schedule(now: 300).bound == ["new"])
    }

    @Test func presetsMatchTheirDefinitions() throws {
        let small = try SchedulerConfiguration.preset("small")
        let large = try SchedulerConfiguration.preset("large")
        #expect(small.scanIntervalSeconds == 5 && small.headroom == 0.05 && small.policy.name == "priority")
        #expect(try SchedulerConfiguration.preset("medium").headroom == 0.10)
        #expect(large.scanIntervalSeconds == 20 && large.headroom == 0.15 && large.policy.name == "fair")
        #expect(throws: QuantityError.self) { try SchedulerConfiguration.preset("huge") }
    }
}
