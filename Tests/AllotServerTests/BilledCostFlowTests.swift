import AllotAPI
import AllotCore
import AllotStore
import AllotStoreSQLite
import Foundation
import Testing

@testable import AllotServer

/// Billed rows beside the estimate: matched to nodes by instance id or resource path, shared among the jobs by
/// their estimated part, the rest `unallocated`; importing the same rows again changes nothing.
@Suite struct BilledCostFlowTests {
    static let admin = Identity(actor: "t", role: .admin, tenant: "default", scope: nil)
    static let day = CostDates.day(1_000_000)

    func rows(gpu8: Double = 20) -> [BilledCost] {
        [
            BilledCost(
                source: "focus",
                day: Self.day,
                resource: "arn:aws:ec2:us-east-1:1234:instance/i-0abc",
                service: "EC2",
                cloud: "aws",
                cost: gpu8
            ),
            BilledCost(source: "focus", day: Self.day, resource: "projects/p/zones/z/instances/cpu4", service: "Compute", cloud: "gcp", cost: 1.5),
            BilledCost(source: "focus", day: Self.day, resource: "vol-123", service: "EBS", cloud: "aws", cost: 3),
            BilledCost(source: "focus", day: Self.day, resource: "", service: "Support", cloud: "aws", cost: 0.5),
        ]
    }

    @Test func billedCostsAreSharedLikeTheEstimateAndAReimportChangesNothing() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("allot-billed-\(UUID().uuidString).sqlite").path
        let store = try SQLiteStore(path: path)
        let clock = ManualClock()
        let plane = try await makePlane(store, clock)
        let flow = CostFlowTests()
        let start = clock.now
        try await flow.join(plane, "gpu8", cpu: 32, gpus: 8, pricing: "cloud=aws,region=us-east-1,instance=i-0abc,price=16")
        try await flow.join(plane, "cpu4", cpu: 4, gpus: 0, pricing: "cloud=gcp,region=us-central1,price=2")
        let a = try await flow.submit(plane, tenant: "acme", gpus: 4)
        let b = try await flow.submit(plane, tenant: "globex", gpus: 2)
        await settle(plane)
        for job in [a, b] { try await flow.report(plane, job.id, .running) }
        clock.advance(3_600)
        for job in [a, b] { try await flow.report(plane, job.id, .exited) }
        await settle(plane)

        let first = try await plane.costCenter.importBilled(BillingImportRequest(rows: rows()), by: Self.admin)
        #expect(first == BillingImportResult(added: 4, changed: 0, unchanged: 0, matched: 2, unmatched: 2))
        let again = try await plane.costCenter.importBilled(BillingImportRequest(rows: rows()), by: Self.admin)
        #expect(again == BillingImportResult(added: 0, changed: 0, unchanged: 4, matched: 2, unmatched: 2))

        // Estimate: gpu8 16 (acme 8, globex 4, idle 4), cpu4 2 idle. Billed: gpu8 20 shared the same way, cpu4's
        // 1.50 idle, 3.50 nobody's.
        let byTenant = try await plane.costCenter.costs(groupBy: .tenant, from: start - 100, to: start + 7_200, for: Self.admin, source: .both)
        func row(_ report: CostReport, _ key: String) -> CostRow? { report.rows.first { $0.key == key } }
        #expect(row(byTenant, "acme").map { ($0.cost, $0.billed, $0.difference) } ?? (0, nil, nil) == (8, 10, 2))
        #expect(row(byTenant, "globex").map { ($0.cost, $0.billed) } ?? (0, nil) == (4, 5))
        #expect(row(byTenant, "idle").map { ($0.cost, $0.billed) } ?? (0, nil) == (6, 6.5))
        #expect(row(byTenant, "unallocated").map { ($0.cost, $0.billed) } ?? (0, nil) == (0, 3.5))
        #expect(byTenant.total == 18 && byTenant.billedTotal == 25 && byTenant.source == .both)
        let byNode = try await plane.costCenter.costs(groupBy: .node, from: start - 100, to: start + 7_200, for: Self.admin, source: .billed)
        #expect(row(byNode, "gpu8")?.cost == 20 && row(byNode, "cpu4")?.cost == 1.5 && byNode.total == 25)
        // The estimate alone is as before.
        let estimated = try await plane.costCenter.costs(groupBy: .node, from: start - 100, to: start + 7_200, for: Self.admin)
        #expect(row(estimated, "gpu8")?.cost == 16 && row(estimated, "gpu8")?.billed == nil && estimated.source == .estimated)

        // A tenant sees its own share of the bill, nothing else.
        let acme = Identity(actor: "a", role: .viewer, tenant: "acme", scope: ["acme"])
        let seen = try await plane.costCenter.costs(groupBy: .tenant, from: start - 100, to: start + 7_200, for: acme, source: .both)
        #expect(seen.rows.map(\.key) == ["acme"] && seen.billedTotal == 10)
        await #expect(throws: APIError.self) { try await plane.costCenter.importBilled(BillingImportRequest(rows: rows()), by: acme) }

        // A corrected bill changes just its row; the store keeps it across a restart.
        let corrected = try await plane.costCenter.importBilled(BillingImportRequest(rows: rows(gpu8: 24)), by: Self.admin)
        #expect(corrected.changed == 1 && corrected.unchanged == 3 && corrected.added == 0)
        let reopened = try SQLiteStore(path: path)
        #expect(try await reopened.billedCosts(fromDay: Self.day, toDay: Self.day).map(\.cost).sorted() == [0.5, 1.5, 3, 24])
    }

    @Test func badRowsAreRefusedWithTheirIndex() async throws {
        let plane = try await makePlane(MemoryStore(), ManualClock())
        var bad = rows()
        bad[1].day = "1970-02-30"
        do {
            _ = try await plane.costCenter.importBilled(BillingImportRequest(rows: bad), by: Self.admin)
            Issue.record("an impossible day was accepted")
        } catch {
            #expect(error.message.contains("rows[1]: day"))
        }
        bad = rows()
        bad[2].currency = "EUR"
        await #expect(throws: APIError.self) { try await plane.costCenter.importBilled(BillingImportRequest(rows: bad), by: Self.admin) }
        #expect(try await plane.costCenter.costs(groupBy: .node, from: 0, to: 2_000_000, for: Self.admin, source: .billed).total == 0)
    }
}
