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
    public func costs(
        groupBy: CostGrouping,
        from: Double,
        to: Double,
        for identity: Identity,
        source: CostSource = .estimated
    ) async throws(APIError) -> CostReport {
        try await costReports([groupBy], from: from, to: to, for: identity, source: source)[0]
    }

    /// The same charges grouped several ways (computed once).
    public func costReports(
        _ groupings: [CostGrouping],
        from: Double,
        to: Double,
        for identity: Identity,
        source: CostSource = .estimated
    ) async throws(APIError) -> [CostReport] {
        let all = try await costLines(from: from, to: to)
        let visible = { (lines: [CostLine]) in identity.scope == nil ? lines : lines.filter { $0.tenant.map(identity.sees) ?? false } }
        let estimated = visible(all)
        let billed = source == .estimated ? [] : visible(try await billedLines(from: from, to: min(to, now()), estimate: all))
        return groupings.map { groupBy in
            let estimate = Self.group(estimated, by: groupBy)
            let bill = Self.group(billed, by: groupBy)
            let keys = Set(estimate.keys).union(source == .estimated ? [] : Array(bill.keys)).sorted()
            let estimateCents = CostAccounting.cents(keys.map { estimate[$0]?.cost ?? 0 })
            let billedCents = CostAccounting.cents(keys.map { bill[$0]?.cost ?? 0 })
            let rows = keys.indices.map { index in
                let key = keys[index]
                let usage = estimate[key] ?? (0, 0, 0)
                switch source {
                case .estimated: return CostRow(key: key, cost: Double(estimateCents[index]) / 100, hours: usage.hours, gpuHours: usage.gpuHours)
                case .billed: return CostRow(key: key, cost: Double(billedCents[index]) / 100, hours: usage.hours, gpuHours: usage.gpuHours)
                case .both:
                    return CostRow(
                        key: key,
                        cost: Double(estimateCents[index]) / 100,
                        hours: usage.hours,
                        gpuHours: usage.gpuHours,
                        billed: Double(billedCents[index]) / 100,
                        difference: Double(billedCents[index] - estimateCents[index]) / 100
                    )
                }
            }
            .sorted { ($0.billed ?? $0.cost, $0.cost, $1.key) > ($1.billed ?? $1.cost, $1.cost, $0.key) }
            let total = Double((source == .billed ? billedCents : estimateCents).reduce(0, +)) / 100
            return CostReport(
                from: from,
                to: min(to, now()),
                groupBy: groupBy,
                total: total,
                rows: rows,
                source: source,
                billedTotal: source == .both ? Double(billedCents.reduce(0, +)) / 100 : nil
            )
        }
    }

    /// Charges summed by their group's key.
    static func group(_ lines: [CostLine], by groupBy: CostGrouping) -> [String: (cost: Double, hours: Double, gpuHours: Double)] {
        var groups: [String: (cost: Double, hours: Double, gpuHours: Double)] = [:]
        var dayNames: [Int: String] = [:]
        for line in lines {
            // Idle time belongs to no tenant or job, but to its node, cloud, region and day; billed charges no
            // node of Allot's explains are `unallocated`.
            let key: String
            if line.job == nil && (groupBy == .tenant || groupBy == .job) {
                key = line.node == Self.unallocated ? Self.unallocated : "idle"
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
        return groups
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
