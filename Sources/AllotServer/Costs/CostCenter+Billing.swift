import AllotAPI
import AllotCore
import AllotStore
import Foundation
import HTTPTypes

extension CostCenter {
    /// The node key of billed charges that name none of Allot's nodes.
    static let unallocated = "unallocated"

    /// Keeps the providers' billed rows (admins only; the bills cover the whole account). A row replaces the one
    /// with its key, so importing the same rows again adds and changes nothing.
    public func importBilled(_ request: BillingImportRequest, by identity: Identity) async throws(APIError) -> BillingImportResult {
        guard identity.isAdmin else { throw APIError(.forbidden, .forbidden, "only admins import bills") }
        func bad(_ index: Int, _ message: String) -> APIError { APIError(.unprocessableContent, .invalidField, "rows[\(index)]: \(message)") }
        guard request.rows.count <= BillingImportRequest.maxRows else {
            throw APIError(.unprocessableContent, .invalidField, "rows: at most \(BillingImportRequest.maxRows) a request")
        }
        for (index, row) in request.rows.enumerated() {
            guard let start = CostDates.parse(row.day), CostDates.day(start) == row.day else { throw bad(index, "day: expected YYYY-MM-DD") }
            guard row.cost.isFinite, abs(row.cost) <= 1e12 else { throw bad(index, "cost: a finite amount") }
            guard row.currency == "USD" else { throw bad(index, "currency: only USD bills are read (Allot's prices are USD)") }
            guard !row.source.isEmpty, row.source.count <= 64, row.resource.count <= 2_048, row.service.count <= 256, row.cloud.count <= 64
            else { throw bad(index, "source (1 to 64 characters), resource, service or cloud too long") }
        }
        let rows = BilledCost.merged(request.rows)
        guard let first = rows.map(\.day).min(), let last = rows.map(\.day).max() else { return BillingImportResult() }
        var result = BillingImportResult()
        do {
            let known = Dictionary(
                try await store.billedCosts(fromDay: first, toDay: last).map { ($0.key, $0) },
                uniquingKeysWith: { first, _ in first }
            )
            var changed: [BilledCost] = []
            for row in rows {
                if let old = known[row.key] {
                    if old == row {
                        result.unchanged += 1
                        continue
                    }
                    result.changed += 1
                } else {
                    result.added += 1
                }
                changed.append(row)
            }
            if !changed.isEmpty { try await store.saveBilledCosts(changed) }
            let resolver = NodeResolver(try await store.billingPeriods(overlapping: CostDates.parse(first)!, CostDates.parse(last)! + 86_400))
            for row in rows { if resolver.node(for: row.resource) != nil { result.matched += 1 } else { result.unmatched += 1 } }
        } catch {
            throw APIError.from(error)
        }
        return result
    }

    /// The billed charges of `[from, to)`'s days as cost lines: a node's bill for a day is shared among that
    /// day's estimated charges on the node (jobs and idle) in proportion to them, so tenants and jobs carry
    /// their part of what was really paid; a node with no estimate that day is idle; a charge naming no node is
    /// `unallocated`.
    func billedLines(from: Double, to: Double, estimate: [CostLine]) async throws(APIError) -> [CostLine] {
        guard to > from else { return [] }
        let rows: [BilledCost]
        let periods: [NodeBillingPeriod]
        do {
            rows = try await store.billedCosts(fromDay: CostDates.day(from), toDay: CostDates.day(to - 0.001))
            periods = try await store.billingPeriods(overlapping: from - 86_400, to + 86_400)
        } catch {
            throw APIError.from(error)
        }
        let resolver = NodeResolver(periods)
        var byNodeDay: [String: [CostLine]] = [:]
        for line in estimate { byNodeDay[line.node + "\n" + CostDates.day(line.start), default: []].append(line) }
        var lines: [CostLine] = []
        for row in rows {
            guard let start = CostDates.parse(row.day) else { continue }  // validated on import
            guard let node = resolver.node(for: row.resource) else {
                lines.append(
                    CostLine(
                        job: nil,
                        tenant: nil,
                        node: Self.unallocated,
                        cloud: row.cloud,
                        region: nil,
                        zone: nil,
                        instanceType: nil,
                        capacity: "billed",
                        start: start,
                        end: start + 86_400,
                        cost: row.cost,
                        hours: 0,
                        gpuHours: 0,
                        nodeHourlyPrice: 0
                    )
                )
                continue
            }
            let shares = byNodeDay[node + "\n" + row.day] ?? []
            let total = shares.reduce(0) { $0 + $1.cost }
            if total > 0 {
                for share in shares {
                    var line = share
                    line.cost = row.cost * share.cost / total
                    (line.hours, line.gpuHours) = (0, 0)
                    lines.append(line)
                }
            } else {
                let pricing = resolver.pricing[node]
                lines.append(
                    CostLine(
                        job: nil,
                        tenant: nil,
                        node: node,
                        cloud: pricing?.cloud ?? row.cloud,
                        region: pricing?.region,
                        zone: pricing?.zone,
                        instanceType: pricing?.instanceType,
                        capacity: pricing?.capacity ?? "billed",
                        start: start,
                        end: start + 86_400,
                        cost: row.cost,
                        hours: 0,
                        gpuHours: 0,
                        nodeHourlyPrice: pricing?.hourlyPrice ?? 0
                    )
                )
            }
        }
        return lines
    }
}

/// Finds the node a bill's resource names: the node's own name, its cloud instance id, or the last part of a
/// path or ARN (`projects/p/zones/z/instances/NAME`, `arn:aws:ec2:…:instance/i-…`).
struct NodeResolver {
    private var byName: [String: String] = [:]
    /// Each node's latest pricing.
    var pricing: [String: NodePricing] = [:]

    init(_ periods: [NodeBillingPeriod]) {
        for period in periods.sorted(by: { $0.start < $1.start }) {
            byName[period.node] = period.node
            if let id = period.pricing.instanceId, !id.isEmpty { byName[id] = period.node }
            pricing[period.node] = period.pricing
        }
    }

    func node(for resource: String) -> String? {
        guard !resource.isEmpty else { return nil }
        if let node = byName[resource] { return node }
        let last = resource.split(whereSeparator: { $0 == "/" || $0 == ":" }).last.map(String.init) ?? resource
        return byName[last]
    }
}
