import AllotAPI
import AllotCloud
import AllotCore
import AllotStore
import AllotStoreSQLite
import Foundation
import HTTPTypes
import Testing

@testable import AllotServer

@Suite struct CostFlowTests {
    static let admin = Identity(actor: "t", role: .admin, tenant: "default", scope: nil)

    func join(_ plane: ControlPlane, _ name: String, cpu: Int, gpus: Int, pricing: String, gpuGiB: Int64 = 80) async throws {
        var node = inventory(name, cpu: cpu, gpus: gpus)
        node.gpus = node.gpus.map { gpu in
            var gpu = gpu
            gpu.name = "NVIDIA A100-SXM4-\(gpuGiB)GB"
            gpu.memoryTotalBytes = gpuGiB << 30
            return gpu
        }
        node.pricing = try NodePricing.parse(pricing)
        _ = try await plane.report(AgentReport(node: name, inventory: node))
    }

    func submit(_ plane: ControlPlane, tenant: String, cpu: Double = 1, gpus: Int = 0, preemptible: Bool = false) async throws -> Job {
        var request = submission(cpu: cpu, gpus: gpus)
        request.task.tenant = TenantID(tenant)
        request.task.preemptible = preemptible
        return try await plane.submit(request)
    }

    /// Reports a job running, or exited, from the node it was placed on.
    func report(_ plane: ControlPlane, _ id: JobID, _ state: AgentReport.JobStatus.State) async throws {
        let job = try await plane.job(id).job
        let node = try #require(job.placements?.first?.node.rawValue)
        _ = try await plane.report(AgentReport(node: node, jobs: [.init(id: id, attempt: job.attempt, state: state, exitCode: 0)]))
    }

    @Test func jobsPlusIdleEqualTheNodesPricesOverTimeToTheCent() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("allot-costs-\(UUID().uuidString).sqlite").path
        let store = try SQLiteStore(path: path)
        let clock = ManualClock()
        let plane = try await makePlane(store, clock)
        let start = clock.now
        // $16/h for eight GPUs (on premises), and an AWS m6i.4xlarge priced from the catalog.
        try await join(plane, "gpu8", cpu: 32, gpus: 8, pricing: "cloud=on-prem,price=16")
        try await join(plane, "cpu16", cpu: 16, gpus: 0, pricing: "cloud=aws,region=us-east-1,type=m6i.4xlarge")
        let cpuPrice = try #require(await plane.node("cpu16")?.inventory.pricing?.hourlyPrice)
        let a = try await submit(plane, tenant: "acme", gpus: 4)
        let b = try await submit(plane, tenant: "globex", gpus: 2)
        let c = try await submit(plane, tenant: "acme", cpu: 12)
        await settle(plane)
        for job in [a, b, c] { try await report(plane, job.id, .running) }
        clock.advance(1_800)
        try await report(plane, a.id, .exited)
        clock.advance(1_800)
        try await report(plane, b.id, .exited)
        try await report(plane, c.id, .exited)
        clock.advance(3_600)
        await settle(plane)
        let end = clock.now

        // A: half the GPUs for half an hour; B: a quarter for an hour; C: 12 of its node's cores (or its dominant
        // share of the GPU node) for an hour.
        let cNode = try #require(try await plane.job(c.id).job.placements?.first?.node.rawValue)
        let cCost = cNode == "cpu16" ? 0.75 * cpuPrice : 12.0 / 32 * 16
        let nodesTotal = 16 * 2 + cpuPrice * 2
        let byJob = try await plane.costCenter.costs(groupBy: .job, from: start - 100, to: end + 100, for: Self.admin)
        #expect(byJob.rows.first { $0.key == a.id.rawValue }?.cost == 4)
        #expect(byJob.rows.first { $0.key == b.id.rawValue }?.cost == 4)
        #expect(byJob.rows.first { $0.key == c.id.rawValue }?.cost == (cCost * 100).rounded() / 100)
        #expect(byJob.rows.first { $0.key == a.id.rawValue }?.gpuHours == 2)
        #expect(byJob.total == (nodesTotal * 100).rounded() / 100)
        for grouping in CostGrouping.allCases {
            let report = try await plane.costCenter.costs(groupBy: grouping, from: start - 100, to: end + 100, for: Self.admin)
            // The rows (jobs and idle) add up to the nodes' prices over the time, to the cent.
            let cents = report.rows.map { Int64(($0.cost * 100).rounded()) }.reduce(0, +)
            #expect(cents == Int64((nodesTotal * 100).rounded()), "\(grouping)")
            #expect(Int64((report.total * 100).rounded()) == cents)
        }
        let byTenant = try await plane.costCenter.costs(groupBy: .tenant, from: start, to: end, for: Self.admin)
        #expect(byTenant.rows.map(\.key).sorted() == ["acme", "globex", "idle"])
        #expect(byTenant.rows.first { $0.key == "acme" }?.cost == ((4 + cCost) * 100).rounded() / 100)
        // A member of globex sees its own spend only: no idle, nothing of acme.
        let member = Identity(actor: "m", role: .member, tenant: "globex", scope: ["globex"])
        let own = try await plane.costCenter.costs(groupBy: .tenant, from: start, to: end, for: member)
        #expect(own.rows.map(\.key) == ["globex"] && own.total == 4)
        let byCloud = try await plane.costCenter.costs(groupBy: .cloud, from: start, to: end, for: Self.admin)
        #expect(byCloud.rows.first { $0.key == "on-prem" }.map { _ in true } == true)

        // The FOCUS export: the named columns, one charge per row, BilledCost adding up to the report.
        let csv = try await plane.costCenter.focusExport(from: start, to: end, for: Self.admin)
        let table = CSVTable(csv)
        for column in [
            "BilledCost", "EffectiveCost", "ChargePeriodStart", "ChargePeriodEnd", "ProviderName", "RegionId", "ResourceId", "ServiceCategory",
            "SubAccountId", "Tags", "BillingCurrency", "ChargeCategory",
        ] {
            #expect(table.header.contains(column), "\(column)")
        }
        let records = table.records
        #expect(records.count >= 5)
        let billed = records.compactMap { Double($0["BilledCost"] ?? "") }.reduce(0, +)
        #expect(abs(billed - nodesTotal) < 0.005)
        let aws = try #require(records.first { $0["ResourceId"] == "cpu16" })
        #expect(aws["ProviderName"] == "AWS" && aws["RegionId"] == "us-east-1" && aws["ServiceCategory"] == "Compute")
        #expect(records.contains { $0["SubAccountId"] == "idle" && $0["x_AllotJob"] == "" })
        let aRow = try #require(records.first { $0["x_AllotJob"] == a.id.rawValue })
        #expect(aRow["SubAccountId"] == "acme" && aRow["ChargePeriodStart"] == CostDates.timestamp(start))
        #expect(aRow["ChargePeriodEnd"] == CostDates.timestamp(start + 1_800))
        let tags = try #require(try JSONSerialization.jsonObject(with: Data((aRow["Tags"] ?? "").utf8)) as? [String: String])
        #expect(tags["allot/tenant"] == "acme" && tags["allot/job"] == a.id.rawValue)
        #expect(CostDates.parse(aRow["ChargePeriodStart"] ?? "") == start.rounded())
    }

    @Test func budgetsAnnounceEachThresholdOnceAndAHardOneRefusesNewJobs() async throws {
        let clock = ManualClock()
        let store = MemoryStore()
        let plane = try await makePlane(store, clock)
        let events = plane.subscribe(scope: ["acme"])
        try await join(plane, "gpu8", cpu: 32, gpus: 8, pricing: "cloud=on-prem,price=16")
        let job = try await submit(plane, tenant: "acme", gpus: 8)
        await settle(plane)
        try await report(plane, job.id, .running)
        let status = try await plane.costCenter.saveBudget(
            BudgetRequest(name: "acme-monthly", tenant: "acme", amount: 10, thresholds: [50, 80, 100], hard: true),
            knownTenants: ["acme", "globex"],
            by: Self.admin
        )
        #expect(status.spent == 0 && !status.blocking)
        await #expect(throws: APIError.self) {
            _ = try await plane.costCenter.saveBudget(BudgetRequest(name: "x", tenant: "nobody", amount: 1), knownTenants: ["acme"], by: Self.admin)
        }
        await #expect(throws: APIError.self) {
            _ = try await plane.costCenter.saveBudget(BudgetRequest(name: "x", tenant: "acme", amount: 0), knownTenants: ["acme"], by: Self.admin)
        }

        var seen: [Double] = []
        var iterator = events.makeAsyncIterator()
        func nextBudgetEvent() async -> BudgetStatus? {
            while let event = await iterator.next() {
                if event.type == "budget" { return try? JSONDecoder().decode(BudgetStatus.self, from: Data(event.data.utf8)) }
            }
            return nil
        }
        // $16/h against $10: 64 % after 24 minutes, 88 % after 33, 112 % after 42.
        for (minutes, percent) in [(24.0, 50.0), (33, 80), (42, 100)] {
            clock.advance(minutes * 60 - (seen.count == 0 ? 0 : [24.0, 33, 42][seen.count - 1] * 60))
            try await plane.costCenter.checkBudgets()
            try await plane.costCenter.checkBudgets()
            let event = try #require(await nextBudgetEvent())
            #expect(event.budget.announcedPercent == percent)
            seen.append(percent)
        }
        #expect(seen == [50, 80, 100])
        let statuses = try await plane.costCenter.budgetStatuses(for: Self.admin)
        #expect(statuses.first?.blocking == true && statuses.first?.crossed == [50, 80, 100])
        #expect(abs((statuses.first?.spent ?? 0) - 16 * 0.7) < 1e-6)
        var request = submission(gpus: 1)
        request.task.tenant = TenantID("acme")
        await #expect(throws: APIError(.forbidden, .budgetExceeded, try #require(await plane.budgetProblem("acme")))) {
            _ = try await plane.submit(request)
        }
        #expect(await plane.budgetProblem("acme")?.contains("budget acme-monthly for tenant acme is spent: $11.20 of $10.00 this month") == true)
        // Other tenants are not held back.
        request.task.tenant = TenantID("globex")
        _ = try await plane.submit(request)
        // The audit log keeps each announcement.
        await settle(plane)
        let announcements = await store.audit(AuditQuery(tenants: ["acme"])).filter { $0.action == "BUDGET threshold" }
        #expect(announcements.map(\.target) == ["acme-monthly", "acme-monthly", "acme-monthly"])
        #expect(announcements.last?.message?.hasPrefix("100 % of budget acme-monthly reached") == true)
        try await plane.costCenter.deleteBudget("acme-monthly", by: Self.admin)
        #expect(await plane.budgetProblem("acme") == nil)
    }

    @Test func theForecastReadsTheDailyGPUHoursAndSpendItAccounted() async throws {
        let store = MemoryStore()
        let clock = ManualClock()
        clock.advance(40 * 86_400 - 1_000_000.0.truncatingRemainder(dividingBy: 86_400) + 3_600)
        let today = (clock.now / 86_400).rounded(.down) * 86_400
        let first = today - 28 * 86_400
        // One 8-GPU node at $8/h for 28 days; each day a job holds a weekly pattern of GPUs for ten hours.
        let pricing = NodePricing(cloud: "on-prem", hourlyPrice: 8, priceSource: "declared")
        var batch = WriteBatch(billing: [
            NodeBillingPeriod(node: "n", start: first, end: today, pricing: pricing, cpuMillis: 64_000, memoryBytes: 1 << 40, gpus: 8)
        ])
        let pattern = [6, 7, 8, 7, 6, 2, 1]
        for day in 0..<28 {
            let begin = first + Double(day) * 86_400 + 3_600
            let placement = ReplicaPlacement(node: NodeID("n"), gpuIndices: Array(0..<pattern[day % 7]), cpuMillis: 1_000, memoryBytes: 1 << 30)
            batch.attempts.append(
                JobAttempt(
                    job: JobID("d\(day)"),
                    number: 1,
                    nodes: ["n"],
                    startedAt: begin,
                    endedAt: begin + 36_000,
                    outcome: .succeeded,
                    tenant: day % 2 == 0 ? "even" : "odd",
                    allocatedAt: begin,
                    placements: [placement]
                )
            )
        }
        try await store.commit(batch)
        let plane = try await makePlane(store, clock)
        let demand = try await plane.costCenter.forecast(metric: "gpu-hours", tenant: nil, days: 28, horizon: 7, for: Self.admin)
        #expect(demand.history.map(\.value) == (0..<28).map { Double(pattern[$0 % 7] * 10) })
        #expect(demand.model == "holt-winters" && demand.forecast.count == 7 && demand.backtestMAPE != nil)
        for (point, expected) in zip(demand.forecast, (28..<35).map { Double(pattern[$0 % 7] * 10) }) {
            #expect(abs(point.value - expected) < 5 && (point.lower ?? .infinity) <= point.value && point.value <= (point.upper ?? 0))
        }
        #expect(demand.forecast.first?.day == CostDates.day(today))
        let spend = try await plane.costCenter.forecast(metric: "cost", tenant: nil, days: 28, horizon: 7, for: Self.admin)
        #expect(spend.history.allSatisfy { abs($0.value - 8 * 24) < 1e-6 })
        let even = try await plane.costCenter.forecast(metric: "gpu-hours", tenant: "even", days: 28, horizon: 7, for: Self.admin)
        #expect(even.history.enumerated().allSatisfy { $0.offset % 2 == 1 ? $0.element.value == 0 : $0.element.value > 0 })
        let outsider = Identity(actor: "o", role: .viewer, tenant: "odd", scope: ["odd"])
        await #expect(throws: APIError.self) {
            _ = try await plane.costCenter.forecast(metric: "cost", tenant: "even", days: 28, horizon: 7, for: outsider)
        }
    }

    @Test func cloudNodesGetCheaperOfferSpotAndCommitmentRecommendations() async throws {
        let clock = ManualClock()
        let plane = try await makePlane(MemoryStore(), clock)
        // Both machines have eight 40 GB A100s.
        try await join(plane, "a2", cpu: 96, gpus: 8, pricing: "cloud=gcp,region=europe-west4,type=a2-highgpu-8g", gpuGiB: 40)
        var request = submission(gpus: 8)
        request.task.preemptible = true
        let job = try await plane.submit(request)
        await settle(plane)
        try await join(plane, "p4d", cpu: 96, gpus: 8, pricing: "cloud=aws,region=us-east-1,type=p4d.24xlarge", gpuGiB: 40)
        clock.advance(8 * 86_400)
        let recommendations = await plane.optimizer.recommendations(for: Self.admin)
        #expect(try await plane.job(job.id).job.placements?.first?.node.rawValue == "a2")
        // a2 runs only preemptible work: spot at GCP's spot price plus 10 % for restarts.
        let spot = try #require(recommendations.first { $0.kind == .spot })
        let onDemand = try #require(await plane.node("a2")?.inventory.pricing?.hourlyPrice)
        let spotPrice = try #require(spot.evidence.first { $0.name == "spot_hourly_price" }?.value)
        #expect(spot.target == "a2" && spotPrice < onDemand)
        #expect(abs((spot.monthlySavings ?? 0) - (onDemand - spotPrice * 1.1) * 730) < 1e-6)
        #expect(!recommendations.contains { $0.kind == .spot && $0.target == "p4d" })
        // AWS p4d.24xlarge in us-east-1: $21.96 on demand, $13.92 reserved for a year (no upfront).
        let commitment = try #require(recommendations.first { $0.kind == .commitment && $0.target == "p4d" })
        #expect(abs((commitment.monthlySavings ?? 0) - (21.957642 - 13.921094) * 730) < 1)
        // Both have a cheaper 8 x A100 (40 GB) machine elsewhere (Lambda's at $15.92 or less).
        #expect(recommendations.filter { $0.kind == .cheaperOffer }.map(\.target).sorted() == ["a2", "p4d"])
        #expect(recommendations.map { $0.rank ?? 0 } == recommendations.map { $0.rank ?? 0 }.sorted(by: >))
        // Tenants see none of these.
        let member = Identity(actor: "m", role: .member, tenant: "default", scope: ["default"])
        #expect(await plane.optimizer.recommendations(for: member).allSatisfy { ![.spot, .commitment, .cheaperOffer].contains($0.kind) })
    }

    @Test func feedbackChangesWhatIsRecommendedNext() async throws {
        let store = MemoryStore()
        let clock = ManualClock()
        var plane = try await makePlane(store, clock)
        try await join(plane, "n1", cpu: 8, gpus: 8, pricing: "cloud=aws,region=us-east-1,type=p4de.24xlarge,price=40")
        try await join(plane, "n2", cpu: 8, gpus: 8, pricing: "cloud=aws,region=us-east-1,type=p4de.24xlarge,price=30")
        func cheaper(_ target: String) async -> Recommendation? {
            await plane.optimizer.recommendations(for: Self.admin).first { $0.kind == .cheaperOffer && $0.target == target }
        }
        let first = try #require(await cheaper("n1"))
        let other = try #require(await cheaper("n2"))
        #expect(first.rank == 0.5 * (1 + (first.monthlySavings ?? 0)))
        let decision = try await plane.optimizer.decide(
            recommendation: first.id,
            RecommendationDecisionRequest(decision: .dismiss, reason: "our data must stay in AWS"),
            by: Self.admin
        )
        #expect(decision.monthlySavings == first.monthlySavings && decision.target == "n1" && decision.text == "our data must stay in AWS")
        // Gone for n1; n2's is still listed, ranked lower now that users dismiss this kind.
        #expect(await cheaper("n1") == nil)
        let lowered = try #require(await cheaper("n2"))
        #expect(lowered.rank == 1.0 / 3 * (1 + (other.monthlySavings ?? 0)))
        #expect(
            await plane.optimizer.acceptanceRates().first { $0.kind == "cheaper-offer" }
                == AcceptanceRate(kind: "cheaper-offer", accepted: 0, dismissed: 1)
        )
        await #expect(throws: APIError.self) {
            _ = try await plane.optimizer.decide(
                recommendation: "cheaper-offer-nothing",
                RecommendationDecisionRequest(decision: .accept),
                by: Self.admin
            )
        }

        // The decision outlives a restart.
        await settle(plane)
        plane = try await makePlane(store, clock)
        #expect(await cheaper("n1") == nil)
        // n1 comes back at a price where the savings have more than doubled: the recommendation returns.
        clock.advance(5)
        _ = try await plane.report(AgentReport(node: "n2"))
        await plane.tick()
        #expect(await plane.node("n1")?.state == .down)
        try await join(plane, "n1", cpu: 8, gpus: 8, pricing: "cloud=aws,region=us-east-1,type=p4de.24xlarge,price=90")
        let back = try #require(await cheaper("n1"))
        #expect((back.monthlySavings ?? 0) >= 2 * (first.monthlySavings ?? 0))
        // Accepting raises the kind's rate again.
        _ = try await plane.optimizer.decide(
            recommendation: back.id,
            RecommendationDecisionRequest(decision: .accept, reason: "moving"),
            by: Self.admin
        )
        #expect(await plane.optimizer.acceptanceRates().first { $0.kind == "cheaper-offer" }?.rate == 0.5)
        let product = try await plane.optimizer.productFeedback(ProductFeedbackRequest(text: "the cost page is great"), by: Self.admin)
        #expect(await store.feedback(tenants: nil).map(\.kind) == [.recommendation, .recommendation, .product])
        #expect(product.actor == "t" && product.tenant == "default")
    }
}
