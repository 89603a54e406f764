import AllotAPI
import AllotCore
import AllotStore
import AllotStoreSQLite
import Testing

@Suite struct CostStoreTests {
    @Test(arguments: Backend.allCases) func attemptsAndBillingPeriodsAreFoundByTheTimeTheyOverlap(_ backend: Backend) async throws {
        let store = try await backend.make()
        let placement = ReplicaPlacement(node: NodeID("n1"), gpuIndices: [0, 1], cpuMillis: 4_000, memoryBytes: 1 << 30)
        let closed = JobAttempt(
            job: "a",
            number: 1,
            nodes: ["n1"],
            startedAt: 110,
            endedAt: 200,
            outcome: .succeeded,
            tenant: "t",
            allocatedAt: 100,
            placements: [placement]
        )
        let open = JobAttempt(job: "b", number: 1, nodes: ["n1"], startedAt: 300, tenant: "t", allocatedAt: 300, placements: [placement])
        let pricing = NodePricing(cloud: "aws", region: "us-east-1", instanceType: "p4d.24xlarge", hourlyPrice: 21.96, priceSource: "catalog")
        let first = NodeBillingPeriod(node: "n1", start: 50, end: 250, pricing: pricing, cpuMillis: 96_000, memoryBytes: 1 << 40, gpus: 8)
        var second = NodeBillingPeriod(node: "n1", start: 280, pricing: pricing, cpuMillis: 96_000, memoryBytes: 1 << 40, gpus: 8)
        try await store.commit(WriteBatch(attempts: [closed, open], billing: [first, second]))
        #expect(try await store.attempts(overlapping: 0, 100) == [])
        #expect(try await store.attempts(overlapping: 0, 101) == [closed])
        #expect(try await store.attempts(overlapping: 200, 300) == [])
        #expect(try await store.attempts(overlapping: 199, 1_000) == [closed, open])
        #expect(try await store.attempts(overlapping: 10_000, 20_000) == [open])
        #expect(try await store.billingPeriods(overlapping: 250, 280) == [])
        #expect(try await store.billingPeriods(overlapping: 0, 1_000) == [first, second])
        // Closing a period replaces it.
        second.end = 400
        try await store.commit(WriteBatch(billing: [second]))
        #expect(try await store.billingPeriods(overlapping: 500, 600) == [])
        #expect(try await store.billingPeriods(overlapping: 300, 301) == [second])
    }

    @Test(arguments: Backend.allCases) func billedRowsReplaceTheirKeyAndAreFoundByDay(_ backend: Backend) async throws {
        let store = try await backend.make()
        let first = BilledCost(source: "focus", day: "2026-11-02", resource: "i-1", service: "EC2", cloud: "aws", cost: 3)
        let other = BilledCost(source: "focus", day: "2026-11-03", resource: "i-1", service: "EC2", cloud: "aws", cost: 4)
        let sameDayOtherService = BilledCost(source: "focus", day: "2026-11-02", resource: "i-1", service: "EBS", cloud: "aws", cost: 1)
        try await store.saveBilledCosts([first, other, sameDayOtherService])
        var corrected = first
        corrected.cost = 5
        try await store.saveBilledCosts([corrected])
        #expect(try await store.billedCosts(fromDay: "2026-11-01", toDay: "2026-11-30").count == 3)
        #expect(try await store.billedCosts(fromDay: "2026-11-02", toDay: "2026-11-02").map(\.cost).sorted() == [1, 5])
        #expect(try await store.billedCosts(fromDay: "2026-11-03", toDay: "2026-11-03") == [other])
        #expect(try await store.billedCosts(fromDay: "2026-12-01", toDay: "2026-12-31").isEmpty)
    }

    @Test(arguments: Backend.allCases) func budgetsAndFeedbackRoundTrip(_ backend: Backend) async throws {
        let store = try await backend.make()
        var budget = Budget(name: "vision-monthly", tenant: "vision", amount: 1_000, hard: true, createdAt: 5)
        try await store.saveBudget(budget)
        try await store.saveBudget(Budget(name: "all", amount: 50_000, createdAt: 6))
        #expect(try await store.budgets().map(\.name) == ["all", "vision-monthly"])
        budget.announcedPeriod = "2026-11"
        budget.announcedPercent = 80
        try await store.saveBudget(budget)
        #expect(try await store.budgets().last == budget)
        try await store.deleteBudget("all")
        #expect(try await store.budgets() == [budget])

        let first = try await store.appendFeedback(FeedbackEntry(at: 1, kind: .product, actor: "tok-1", tenant: "a", text: "great"))
        let second = try await store.appendFeedback(
            FeedbackEntry(at: 2, kind: .recommendation, actor: "tok-2", tenant: "b", text: "needed", recommendation: "idle-1", decision: .dismiss)
        )
        #expect(first.sequence == 1 && second.sequence == 2)
        #expect(try await store.feedback(tenants: nil) == [first, second])
        #expect(try await store.feedback(tenants: ["b"]) == [second])
    }
}
