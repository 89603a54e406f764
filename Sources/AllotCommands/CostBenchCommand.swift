import AllotAPI
import AllotCLI
import AllotCore
import AllotServer
import AllotStore
import AllotStoreSQLite
import ArgumentParser
import Foundation

/// `allot bench costs`: cost reports, the FOCUS export, the forecast and a budget check over a month of a large
/// cluster's history in SQLite.
public struct CostBenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "costs",
        abstract: "Time cost reports, the FOCUS export, the forecast and budget checks over a month of a large cluster in SQLite."
    )

    @Option(help: "Priced 8-GPU nodes.") public var nodes: Int = 1_000
    @Option(help: "Job attempts spread over the window.") public var jobs: Int = 10_000
    @Option(help: "Days of history.") public var days: Int = 30
    @Option(help: "Runs of each query.") public var repeats: Int = 5

    public init() {}

    public func validate() throws {
        guard nodes > 0, jobs >= 0, (2...365).contains(days), repeats > 0 else {
            throw ValidationError("--nodes and --repeats must be positive, --days 2 to 365")
        }
    }

    public func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-cost-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(path: directory + "/allot.sqlite")
        let end = (Date().timeIntervalSince1970 / 86_400).rounded(.down) * 86_400
        let start = end - Double(days) * 86_400
        var random = SplitMix64(seed: 11)
        var batch = WriteBatch()
        for index in 0..<nodes {
            let pricing = NodePricing(
                cloud: ["aws", "gcp", "azure", "on-prem"][index % 4],
                region: "r\(index % 7)",
                hourlyPrice: 8 + Double(index % 23)
            )
            batch.billing.append(
                NodeBillingPeriod(node: "n\(index)", start: start, pricing: pricing, cpuMillis: 96_000, memoryBytes: 1 << 40, gpus: 8)
            )
        }
        for index in 0..<jobs {
            let node = Int(random.next() % UInt64(nodes))
            let begin = start + Double(random.next() % UInt64(days * 86_400 - 3_600))
            let gpus = Int(random.next() % 8) + 1
            let placement = ReplicaPlacement(node: NodeID("n\(node)"), gpuIndices: Array(0..<gpus), cpuMillis: 8_000, memoryBytes: 64 << 30)
            let ended = begin + 600 + Double(random.next() % 86_400)
            batch.attempts.append(
                JobAttempt(
                    job: JobID(sequence: Int64(index)),
                    number: 1,
                    nodes: ["n\(node)"],
                    startedAt: begin,
                    endedAt: ended < end ? ended : nil,
                    outcome: ended < end ? .succeeded : nil,
                    tenant: "tenant-\(index % 20)",
                    allocatedAt: begin,
                    placements: [placement]
                )
            )
        }
        try await store.commit(batch)
        let plane = try await ControlPlane.start(store: store, now: { end })
        let admin = Identity(actor: "bench", role: .admin, tenant: "default", scope: nil)
        for tenant in 0..<20 {
            _ = try await plane.costCenter.saveBudget(
                BudgetRequest(name: "b\(tenant)", tenant: "tenant-\(tenant)", amount: 50_000),
                knownTenants: Set((0..<20).map { "tenant-\($0)" }),
                by: admin
            )
        }
        print("\(nodes) priced nodes, \(jobs) job attempts over \(days) days (SQLite)")
        var table = TextTable(["QUERY", "RESULT", "P50", "MAX"])
        func time(_ name: String, _ body: () async throws -> String) async throws {
            var runs: [Double] = []
            var result = ""
            for _ in 0..<repeats {
                let begin = ContinuousClock.now
                result = try await body()
                let elapsed = ContinuousClock.now - begin
                runs.append(Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15)
            }
            runs.sort()
            table.add([name, result, String(format: "%.1f ms", runs[runs.count / 2]), String(format: "%.1f ms", runs.last!)])
        }
        try await time("costs by tenant, whole window") {
            let report = try await plane.costCenter.costs(groupBy: .tenant, from: start, to: end, for: admin)
            return "\(report.rows.count) rows, $\(String(format: "%.2f", report.total))"
        }
        try await time("costs by day, whole window") {
            "\(try await plane.costCenter.costs(groupBy: .day, from: start, to: end, for: admin).rows.count) rows"
        }
        try await time("costs by job, last day") {
            "\(try await plane.costCenter.costs(groupBy: .job, from: end - 86_400, to: end, for: admin).rows.count) rows"
        }
        try await time("FOCUS export, whole window") {
            let text = try await plane.costCenter.focusExport(from: start, to: end, for: admin)
            return "\(text.split(separator: "\r\n").count - 1) rows, \(Quantity.formatBytes(Int64(text.utf8.count)))"
        }
        try await time("forecast of spend") {
            let forecast = try await plane.costCenter.forecast(metric: "cost", tenant: nil, days: days, horizon: 14, for: admin)
            return "\(forecast.model), next 14 days $\(String(format: "%.0f", forecast.forecastTotal))"
        }
        try await time("budget check, 20 budgets") {
            try await plane.costCenter.checkBudgets()
            return "ok"
        }
        print(table.render())
    }
}
