import AllotAPI
import AllotCore
import AllotStore
import Foundation
import HTTPTypes

extension CostCenter {
    // MARK: - Accounting

    /// Every charge in `[from, to)`: each job's share of each node per UTC day, and each node's idle part.
    func costLines(from: Double, to requestedTo: Double) async throws(APIError) -> [CostLine] {
        let to = min(requestedTo, now())
        guard to > from else { return [] }
        let periods: [NodeBillingPeriod]
        let attempts: [JobAttempt]
        if ledger.covers(from: from) {
            periods = ledger.periods(overlapping: from, to)
            attempts = ledger.attempts(overlapping: from, to)
        } else {
            do {
                periods = try await store.billingPeriods(overlapping: from, to)
                attempts = try await store.attempts(overlapping: from, to)
            } catch {
                throw APIError.from(error)
            }
        }
        var nodes: [BilledNode] = []
        var pricingByNode: [String: [NodeBillingPeriod]] = [:]
        for period in periods {
            guard let price = period.pricing.hourlyPrice else { continue }
            nodes.append(
                BilledNode(
                    node: period.node,
                    start: period.start,
                    end: period.end ?? to,
                    hourlyPrice: price,
                    cpuMillis: period.cpuMillis,
                    memoryBytes: period.memoryBytes,
                    gpus: period.gpus
                )
            )
            pricingByNode[period.node, default: []].append(period)
        }
        var tenantOf: [String: String] = [:]
        var allocations: [BilledAllocation] = []
        for attempt in attempts {
            tenantOf[attempt.job.rawValue] = attempt.tenant
            for placement in attempt.placements ?? [] {
                let node = placement.node.rawValue
                let gpuMemory = pricingByNode[node]?.last?.gpuMemoryBytes
                let gpus: Double =
                    if let shared = placement.gpuMemoryBytes, let gpuMemory, gpuMemory > 0 {
                        Double(placement.gpuIndices.count) * min(1, Double(shared) / Double(gpuMemory))
                    } else {
                        Double(placement.gpuIndices.count)
                    }
                allocations.append(
                    BilledAllocation(
                        job: attempt.job.rawValue,
                        node: node,
                        start: attempt.chargedFrom,
                        end: attempt.endedAt ?? to,
                        cpuMillis: placement.cpuMillis,
                        memoryBytes: placement.memoryBytes,
                        gpus: gpus
                    )
                )
            }
        }
        return CostAccounting.entries(nodes: nodes, allocations: allocations, from: from, to: to).map { entry -> CostLine in
            let spans: [NodeBillingPeriod] = pricingByNode[entry.node] ?? []
            let pricing: NodePricing? = spans.last(where: { $0.start <= entry.start })?.pricing ?? spans.first?.pricing
            let tenant: String? = entry.job.flatMap { tenantOf[$0] }
            return CostLine(
                job: entry.job,
                tenant: tenant,
                node: entry.node,
                cloud: pricing?.cloud ?? "unknown",
                region: pricing?.region,
                zone: pricing?.zone,
                instanceType: pricing?.instanceType,
                capacity: pricing?.capacity ?? "on-demand",
                start: entry.start,
                end: entry.end,
                cost: entry.cost,
                hours: entry.seconds / 3_600,
                gpuHours: entry.gpuSeconds / 3_600,
                nodeHourlyPrice: pricing?.hourlyPrice ?? 0
            )
        }
    }

    /// The charges `identity` may see: its tenants' jobs; idle (nobody's) and everything else for admins.
    func visibleCostLines(from: Double, to: Double, for identity: Identity) async throws(APIError) -> [CostLine] {
        let lines = try await costLines(from: from, to: to)
        guard identity.scope != nil else { return lines }
        return lines.filter { line in line.tenant.map(identity.sees) ?? false }
    }

    /// Spend in `[from, to)` grouped, rows rounded to the cent so that they add up to the total.
    public func costs(groupBy: CostGrouping, from: Double, to: Double, for identity: Identity) async throws(APIError) -> CostReport {
        try await costReports([groupBy], from: from, to: to, for: identity)[0]
    }

    /// The same charges grouped several ways (computed once).
    public func costReports(_ groupings: [CostGrouping], from: Double, to: Double, for identity: Identity) async throws(APIError) -> [CostReport] {
        let lines = try await visibleCostLines(from: from, to: to, for: identity)
        var dayNames: [Int: String] = [:]
        return groupings.map { groupBy in
            var groups: [String: (cost: Double, hours: Double, gpuHours: Double)] = [:]
            for line in lines {
                // Idle time belongs to no tenant or job, but to its node, cloud, region and day.
                let key: String
                if line.job == nil && (groupBy == .tenant || groupBy == .job) {
                    key = "idle"
                } else if groupBy == .day {
                    let day = Int((line.start / 86_400).rounded(.down))
                    if dayNames[day] == nil { dayNames[day] = CostDates.day(Double(day) * 86_400) }
                    key = dayNames[day]!
                } else {
                    key = Self.groupKey(line, groupBy)
                }
                var group = groups[key] ?? (0, 0, 0)
                group.cost += line.cost
                group.hours += line.hours
                group.gpuHours += line.gpuHours
                groups[key] = group
            }
            let keys = groups.keys.sorted()
            let cents = CostAccounting.cents(keys.map { groups[$0]!.cost })
            let rows = zip(keys, cents).map { key, cents in
                CostRow(key: key, cost: Double(cents) / 100, hours: groups[key]!.hours, gpuHours: groups[key]!.gpuHours)
            }
            .sorted { ($0.cost, $1.key) > ($1.cost, $0.key) }
            return CostReport(from: from, to: min(to, now()), groupBy: groupBy, total: Double(cents.reduce(0, +)) / 100, rows: rows)
        }
    }

    static func groupKey(_ line: CostLine, _ grouping: CostGrouping) -> String {
        switch grouping {
        case .tenant: return line.tenant ?? "unknown"
        case .job: return line.job ?? "idle"
        case .node: return line.node
        case .cloud: return line.cloud
        case .region: return "\(line.cloud)/\(line.region ?? "-")"
        case .day: return CostDates.day(line.start)
        }
    }

    /// The charges as a FinOps FOCUS CSV.
    public func focusExport(from: Double, to: Double, for identity: Identity) async throws(APIError) -> String {
        FocusExport.csv(try await visibleCostLines(from: from, to: to, for: identity), billingAccount: clusterName)
    }
}
