import AllotAPI
import AllotCloud
import AllotCore
import AllotStore
import Foundation
import HTTPTypes
import Hummingbird

/// The pages' contents: what each shows, from the same control-plane calls the API makes.
extension APIRoutes {
    // Number formatting by hand: format strings cost microseconds each, and the nodes page writes tens of
    // thousands of numbers.
    static func percent(_ ratio: Double) -> String { ratio.isFinite ? "\(Int((ratio * 100).rounded())) %" : "–" }

    /// A bar's width in percent, one decimal, clamped to 0–100.
    static func width(_ ratio: Double) -> String {
        let tenths = ratio.isFinite ? Int((min(100, max(0, ratio * 100)) * 10).rounded()) : 0
        return "\(tenths / 10).\(tenths % 10)"
    }

    static func cents(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e15 else { return "\(value)" }
        let cents = Int64((abs(value) * 100).rounded())
        let fraction = cents % 100
        return (value < 0 && cents > 0 ? "-" : "") + "\(cents / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }
    static func time(_ seconds: Double?) -> String { seconds.map { CostDates.timestamp($0).replacingOccurrences(of: "T", with: " ") } ?? "–" }

    static func duration(_ seconds: Double) -> String {
        if seconds < 120 { return "\(Int(seconds)) s" }
        if seconds < 7_200 { return "\(Int(seconds / 60)) min" }
        if seconds < 172_800 { return String(format: "%.1f h", seconds / 3_600) }
        return String(format: "%.1f days", seconds / 86_400)
    }

    static func requests(_ task: TaskSpec) -> String {
        var parts = [
            "cpu \(Quantity.formatCPU(task.requests.resources.cpuMillis))", "memory \(Quantity.formatBytes(task.requests.resources.memoryBytes))",
        ]
        if task.requests.gpus > 0 {
            parts.append("\(task.requests.gpus) GPU\(task.requests.gpus == 1 ? "" : "s")\(task.requests.gpuModel.map { " \($0)" } ?? "")")
        }
        if task.gang > 1 { parts.append("gang of \(task.gang)") }
        return parts.joined(separator: ", ")
    }

    // MARK: - Overview

    func overviewPage(_ session: WebRequest) async throws -> WebPage {
        let identity = session.identity
        let utilization = await plane.utilization()
        let counts = try await plane.jobCounts(for: identity)
        let queue = await plane.queueSummary(for: identity)
        let time = plane.now()
        let day = (time / 86_400).rounded(.down) * 86_400
        let month = try await plane.costCenter.costs(groupBy: .day, from: CostDates.month(time).start, to: time + 1, for: identity)
        let today = month.rows.first { $0.key == CostDates.day(day) }?.cost ?? 0
        let bottlenecks = await plane.bottlenecks(for: identity)
        var page = WebPage(title: "Overview", name: "overview")
        page.context = [
            "resources": utilization.resources.map { resource -> [String: Any] in
                [
                    "name": resource.name, "allocatedPercent": Self.width(resource.allocatedRatio),
                    "allocatedText": Self.percent(resource.allocatedRatio),
                    "usedPercent": Self.width(resource.usedRatio ?? 0), "usedText": resource.usedRatio.map(Self.percent) ?? "–",
                ]
            },
            "jobStates": JobState.allCases.map { ["state": $0.rawValue, "count": counts[$0] ?? 0] },
            "queueDepth": queue.depth,
            "oldestWait": queue.oldestSubmittedAt.map { Self.duration(max(0, time - $0)) } ?? "–",
            "spendToday": Self.cents(today),
            "spendMonth": Self.cents(month.total),
            "moreBottlenecks": bottlenecks.count > 20 ? bottlenecks.count - 20 : false,
            "bottlenecks": bottlenecks.prefix(20).map { item -> [String: Any] in
                [
                    "severity": item.severity.rawValue, "node": item.node, "resource": item.resource, "percent": Self.percent(item.utilization),
                    "basis": item.basis, "recommendation": item.recommendation,
                ]
            },
        ]
        return page
    }

    // MARK: - Tenants

    func tenantsPage(_ session: WebRequest, created: TokenView?) async -> WebPage {
        let identity = session.identity
        let tenants = await directory.tenants(visibleTo: identity)
        let use = await plane.tenantUse()
        func quota(_ quota: ResourceQuota?) -> String {
            guard let quota else { return "–" }
            var parts: [String] = []
            if let gpus = quota.gpus { parts.append("\(gpus) GPUs") }
            for (model, count) in (quota.gpusByModel ?? [:]).sorted(by: { $0.key < $1.key }) { parts.append("\(count) \(model)") }
            if let cpu = quota.cpu { parts.append("\(Quantity.format(cpu)) cores") }
            if let memory = quota.memoryBytes { parts.append(Quantity.formatBytes(memory)) }
            return parts.isEmpty ? "–" : parts.joined(separator: ", ")
        }
        var page = WebPage(title: "Tenants", name: "tenants")
        let manage = (identity.role ?? .viewer) >= .tenantAdmin
        page.context = [
            "tenants": tenants.map { tenant -> [String: Any] in
                let inUse = use[tenant.name] ?? (0, 0)
                return [
                    "name": tenant.name, "parent": tenant.parent ?? "–", "weight": Quantity.format(tenant.weight),
                    "guaranteed": quota(tenant.guaranteed),
                    "limit": quota(tenant.limit), "inUse": "\(inUse.gpus) / \(Quantity.format(inUse.cpu))",
                    "borrowed": "\(max(0, inUse.gpus - (tenant.guaranteed?.gpus ?? 0)))",
                ]
            },
            "canManageTokens": manage,
            "roles": Role.allCases.filter { AccessControl.mayGrant(identity, role: $0, in: identity.tenant) }.map(\.rawValue),
            "tokens": manage
                ? await directory.tokens(visibleTo: identity).map { token -> [String: Any] in
                    let active = token.revokedAt == nil && (token.expiresAt.map { $0 > plane.now() } ?? true)
                    return [
                        "id": token.id, "name": token.name, "role": token.role.rawValue, "tenant": token.tenant,
                        "created": Self.time(token.createdAt),
                        "state": token.revokedAt != nil ? "revoked" : active ? "active" : "expired", "active": active, "csrf": session.csrf,
                    ]
                } : [],
        ]
        if let created, let secret = created.secret {
            page.context["newSecret"] = secret
            page.context["newTokenID"] = created.id
        }
        return page
    }

    // MARK: - Costs

    func costsPage(_ session: WebRequest, _ parameters: [String: String]) async throws -> WebPage {
        let identity = session.identity
        let time = plane.now()
        let from = parameters["from"].flatMap(CostDates.parse) ?? CostDates.month(time).start
        let to = parameters["to"].flatMap(CostDates.parse) ?? time
        guard from < to else { throw APIError(.badRequest, .invalidField, "from: must be before to") }
        let reports = try await plane.costCenter.costReports([.tenant, .cloud, .day, .node], from: from, to: to, for: identity, source: .both)
        let (byTenant, byCloud, byDay, byNode) = (reports[0], reports[1], reports[2], reports[3])
        let forecast = try await plane.costCenter.forecast(metric: "cost", tenant: nil, days: 28, horizon: 14, for: identity)
        let budgets = try await plane.costCenter.budgetStatuses(for: identity)
        var page = WebPage(title: "Costs", name: "costs")
        page.context = [
            "window": "\(CostDates.day(from)) to \(Self.time(to))", "from": CostDates.timestamp(from), "to": CostDates.timestamp(to),
            "total": Self.cents(byTenant.total),
            "billedTotal": Self.cents(byNode.billedTotal ?? 0),
            "billed": (byNode.billedTotal ?? 0) != 0 || byNode.rows.contains { ($0.billed ?? 0) != 0 },
            "reconciled": byNode.rows.map { row -> [String: Any] in
                let difference = row.difference ?? 0
                return [
                    "node": row.key, "estimated": Self.cents(row.cost), "billed": Self.cents(row.billed ?? 0),
                    "difference": (difference >= 0 ? "+" : "−") + Self.cents(abs(difference)),
                ]
            },
            "byTenant": SVGCharts.bars(byTenant.rows.map { ($0.key, $0.cost, $0.key == "idle") }),
            "byCloud": SVGCharts.bars(byCloud.rows.map { ($0.key, $0.cost, $0.key == "idle") }),
            "byDay": SVGCharts.days(byDay.rows.sorted { $0.key < $1.key }.map { ($0.key, $0.cost) }),
            "forecast": SVGCharts.forecast(
                history: forecast.history.map { ($0.day, $0.value) },
                forecast: forecast.forecast.map { ($0.day, $0.value, $0.lower ?? $0.value, $0.upper ?? $0.value) }
            ),
            "historyDays": forecast.history.count, "horizon": forecast.forecast.count, "model": forecast.model,
            "mape": forecast.backtestMAPE.map { String(format: "%.1f", $0) } ?? false,
            "naive": forecast.seasonalNaiveMAPE.map { String(format: "%.1f", $0) } ?? "–",
            "budgets": budgets.map { status -> [String: Any] in
                [
                    "name": status.budget.name, "tenant": status.budget.tenant ?? "(cluster)", "period": status.period,
                    "spent": Self.cents(status.spent),
                    "amount": Self.cents(status.budget.amount), "percent": String(format: "%.0f", status.percent),
                    "barPercent": Self.width(status.percent / 100),
                    "thresholds": status.budget.thresholds.map { Quantity.format($0) }.joined(separator: "/") + " %",
                    "state": status.blocking ? "refusing new jobs" : status.crossed.last.map { "past \(Quantity.format($0)) %" } ?? "ok",
                ]
            },
        ]
        return page
    }

    // MARK: - Recommendations

    func recommendationsPage(_ session: WebRequest) async -> WebPage {
        let identity = session.identity
        let items = await plane.optimizer.recommendations(for: identity)
        let rates = await plane.optimizer.acceptanceRates().filter { $0.accepted + $0.dismissed > 0 }
        var page = WebPage(title: "Recommendations", name: "recommendations")
        page.context = [
            "rates": rates.isEmpty ? "no decisions yet" : rates.map { "\($0.kind) \(Self.percent($0.rate))" }.joined(separator: ", "),
            "items": items.map { item -> [String: Any] in
                [
                    "id": item.id, "kind": item.kind.rawValue, "title": item.title, "effect": item.effect,
                    "savings": item.monthlySavings.map(Self.cents) ?? false,
                    "evidence": item.evidence.map { ["name": $0.name, "value": Quantity.format(($0.value * 100).rounded() / 100) + " \($0.unit)"] },
                    "hasMoves": !(item.moves ?? []).isEmpty,
                    "moves": (item.moves ?? []).map {
                        ["job": $0.job, "from": $0.from.joined(separator: ", "), "to": $0.to.joined(separator: ", ")]
                    },
                    "canApply": identity.isAdmin && (item.kind == .consolidation || item.kind == .drain), "csrf": session.csrf,
                ]
            },
        ]
        return page
    }

    // MARK: - Cloud offers

    func offersPage(_ session: WebRequest, _ parameters: [String: String]) throws -> WebPage {
        var fields: [String: String] = [:]
        for name in ["gpus", "cpu", "memory", "cloud", "region", "maxPrice", "spot"] {
            if let value = parameters[name], !value.isEmpty { fields[name] = value }
        }
        if fields["top"] == nil { fields["top"] = "50" }
        var page = WebPage(title: "Cloud offers", name: "offers")
        page.context["q"] = fields.merging(["spot": fields["spot"] == "true" ? "true" : ""]) { $1 }
        let query: OfferQuery
        do throws(CatalogError) { query = try OfferQuery(parameters: fields) } catch {
            page.error = error.message
            return page
        }
        guard case .success(let catalog) = BundledCatalog.shared else {
            throw APIError(.internalServerError, .catalogUnavailable, "the catalog is not available")
        }
        let offers = catalog.search(query)
        page.context["summary"] = "The \(offers.count) cheapest matching offers, cheapest first (\(catalog.source))."
        page.context["offers"] = offers.map { priced -> [String: Any] in
            let offer = priced.offer
            return [
                "cloud": offer.cloud, "region": offer.region, "zone": offer.zone ?? "–", "type": offer.instanceType,
                "vcpus": Quantity.format(offer.vCPUs),
                "memory": "\(Quantity.format(offer.memoryGiB)) GiB",
                "accelerators": offer.gpu.map {
                    "\(Quantity.format(offer.gpuCount)) × \($0)\(offer.gpuMemoryGiB.map { " \(Quantity.format($0)) GiB" } ?? "")"
                } ?? "–",
                "capacity": priced.capacity.rawValue, "price": String(format: "%.4f", priced.hourlyPrice),
            ]
        }
        return page
    }
}

extension String {
    func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}
