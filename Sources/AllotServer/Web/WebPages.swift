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
        let month = try await plane.costs(groupBy: .day, from: CostDates.month(time).start, to: time + 1, for: identity)
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
                    "severity": item.severity, "node": item.node, "resource": item.resource, "percent": Self.percent(item.utilization),
                    "basis": item.basis, "recommendation": item.recommendation,
                ]
            },
        ]
        return page
    }

    // MARK: - Nodes

    func nodesPage(_ session: WebRequest) async -> WebPage {
        let nodes = await plane.nodeList(for: session.identity)
        let admin = session.identity.isAdmin
        var page = WebPage(title: "Nodes", name: "nodes")
        page.context = [
            "count": nodes.count, "ready": nodes.filter { $0.state == .ready }.count, "gpuCount": nodes.map(\.inventory.gpus.count).reduce(0, +),
            "admin": admin,
            // The rows are built here rather than as template sections: a thousand nodes with eight GPUs each are
            // too many template contexts to stay within the page's time budget.
            "rows": {
                var names = NodeRowNames()
                return nodes.map { node in nodeRow(node, admin: admin, csrf: session.csrf, names: &names) }.joined(separator: "\n")
            }(),
        ]
        return page
    }

    /// One node's table row, every text escaped.
    func nodeRow(_ node: NodeStatus, admin: Bool, csrf: String, names: inout NodeRowNames) -> String {
        let escape = SVGCharts.escape
        let usage = Dictionary(uniqueKeysWithValues: (node.usage?.gpus ?? []).map { ($0.index, $0) })
        let state = node.state == .down ? "down" : node.draining ? "draining" : node.cordoned ? "cordoned" : "ready"
        let name = escape(node.name)
        let cpu =
            "\(Quantity.format(node.inventory.cpu.schedulableCores)) cores" + (node.usage?.cpuUtilization.map { ", \(Self.percent($0)) busy" } ?? "")
        var gpus = ""
        for gpu in node.inventory.gpus {
            let used = usage[gpu.index]?.memoryUsedBytes ?? gpu.memoryUsedBytes ?? 0
            let util = (usage[gpu.index]?.utilizationPercent ?? gpu.utilizationPercent ?? 0) / 100
            let memory = gpu.memoryTotalBytes > 0 ? Double(used) / Double(gpu.memoryTotalBytes) : 0
            let title =
                "GPU \(gpu.index) \(names.model(gpu.name)): \(names.bytes(used)) of \(names.bytes(gpu.memoryTotalBytes)) used, \(Self.percent(util)) busy"
            gpus += "<span class=\"gpu\" role=\"img\" title=\"\(escape(title))\"><span class=\"mem\" style=\"height:\(Self.width(memory))%\"></span>"
            gpus += "<span class=\"util\" style=\"height:\(Self.width(util))%\"></span></span>"
        }
        var row = "<tr id=\"node-\(name)\"><th scope=\"row\">\(name)</th><td><span class=\"badge \(state)\">\(state)</span></td>"
        row +=
            "<td>\(escape(cpu))</td><td>\(Quantity.formatBytes(node.inventory.memoryBytes))</td><td class=\"gpus\">\(gpus.isEmpty ? "–" : gpus)</td>"
        row += "<td>\(node.inventory.pricing?.hourlyPrice.map { "$\(Self.cents($0))/h" } ?? "–")</td><td>\(node.jobs?.count ?? 0)</td>"
        if admin {
            row += "<td>"
            for action in node.cordoned ? ["uncordon"] : ["cordon", "drain"] {
                row +=
                    "<form method=\"post\" action=\"/ui/nodes/\(name)/\(action)\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"\(csrf)\">"
                row += "<button type=\"submit\" aria-label=\"\(action) \(name)\">\(action)</button></form>"
            }
            row += "</td>"
        }
        return row + "</tr>"
    }

    // MARK: - Jobs

    func jobsPage(_ session: WebRequest, _ parameters: [String: String]) async throws -> WebPage {
        let identity = session.identity
        let state = parameters["state"].flatMap { $0.isEmpty ? nil : JobState(rawValue: $0) }
        let tenant = parameters["tenant"].flatMap { $0.isEmpty ? nil : $0 }
        if let tenant { try AccessControl.requireVisible(identity, tenant: identity.sees(tenant) ? tenant : nil, resource: "tenant \(tenant)") }
        let pageSize = 100
        let before = parameters["before"].flatMap { Int64($0) }
        // Newest first, a page at a time (one more than shown, to know whether there is a next page).
        var shown: [JobView] = []
        var cursor = before
        var more = false
        while shown.count <= pageSize {
            let batch = try await plane.jobs(
                JobQuery(states: state.map { [$0] }, tenant: tenant, beforeSequence: cursor, newestFirst: true, limit: 4 * pageSize)
            )
            shown += batch.filter { identity.sees($0.job.tenant) }
            guard batch.count == 4 * pageSize, let last = batch.last else { break }
            cursor = last.job.sequence
        }
        if shown.count > pageSize {
            more = true
            shown = Array(shown.prefix(pageSize))
        }
        let counts = try await plane.jobCounts(
            for: tenant.map { Identity(actor: identity.actor, role: identity.role, tenant: $0, scope: [$0]) } ?? identity
        )
        let total = state.map { counts[$0] ?? 0 } ?? counts.values.reduce(0, +)
        let tenants = await directory.tenants(visibleTo: identity).map(\.name).filter { identity.scope?.contains($0) ?? true }
        var page = WebPage(title: "Jobs", name: "jobs")
        func link(_ sequence: Int64) -> String {
            var query = ["before=\(sequence)"]
            if let state { query.append("state=\(state.rawValue)") }
            if let tenant { query.append("tenant=\(tenant)") }
            return "/ui/jobs?" + query.joined(separator: "&")
        }
        page.context = [
            "summary":
                "\(total) job\(total == 1 ? "" : "s")\(state.map { " \($0.rawValue)" } ?? "")\(tenant.map { " in \($0)" } ?? ""); newest first.",
            "states": JobState.allCases.map { ["name": $0.rawValue, "selected": $0 == state] },
            "filterTenants": tenants.map { ["name": $0, "selected": $0 == tenant] },
            "tenants": tenants.map { ["name": $0, "selected": $0 == identity.tenant] },
            "openForm": total == 0,
            "jobs": shown.map { view -> [String: Any] in
                let job = view.job
                return [
                    "id": job.id, "name": job.name ?? "", "tenant": job.tenant, "state": job.state.rawValue, "requests": Self.requests(job.task),
                    "nodes": Set((job.placements ?? []).map(\.node.rawValue)).sorted().joined(separator: ", "),
                    "submitted": Self.time(job.submittedAt),
                    "reason": job.reason ?? (job.exitCode.map { "exit \($0)" } ?? ""),
                ]
            },
            "next": more ? link(shown.last!.job.sequence) : false,
            "previous": before != nil ? "/ui/jobs" + (state.map { "?state=\($0.rawValue)" } ?? "") : false,
        ]
        return page
    }

    /// A job from the submit form, checked exactly as `POST /v1/jobs` checks one.
    func submit(_ session: WebRequest) async throws -> Job {
        let fields = session.fields
        let command = (fields["command"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !command.isEmpty else { throw APIError(.unprocessableContent, "invalid_field", "command: required") }
        var requests: [String: JSONValue] = [:]
        if let cpu = fields["cpu"], !cpu.isEmpty { requests["cpu"] = .string(cpu) }
        if let memory = fields["memory"], !memory.isEmpty { requests["memory"] = .string(memory) }
        if let gpus = fields["gpus"], !gpus.isEmpty {
            guard let count = Int(gpus) else { throw APIError(.unprocessableContent, "invalid_field", "gpus: a whole number") }
            requests["gpus"] = .number(Double(count))
        }
        var document: [String: JSONValue] = [
            "command": .array([.string("sh"), .string("-c"), .string(command)]), "requests": .object(requests),
            "tenant": .string(fields["tenant"].flatMap { $0.isEmpty ? nil : $0 } ?? session.identity.tenant),
            "preemptible": .bool(fields["preemptible"] == "true"),
        ]
        if let name = fields["name"], !name.isEmpty { document["name"] = .string(name) }
        if let priority = fields["priority"], !priority.isEmpty {
            guard let value = Int(priority) else { throw APIError(.unprocessableContent, "invalid_field", "priority: a whole number") }
            document["priority"] = .number(Double(value))
        }
        let submission: JobSubmission
        do { submission = try JobSubmission.decode(.object(document)) } catch {
            throw (error as? InputError).map(APIError.invalid) ?? APIError(.unprocessableContent, "invalid_field", "\(error)")
        }
        let tenant = submission.task.tenant.rawValue
        try AccessControl.requireVisible(session.identity, tenant: await directory.tenant(tenant)?.name, resource: "tenant \(tenant)")
        return try await plane.submit(submission)
    }

    func jobPage(_ session: WebRequest, _ id: String) async throws -> WebPage {
        try AccessControl.requireVisible(session.identity, tenant: try await plane.tenant(ofJob: id), resource: "job \(id)")
        let view = try await plane.job(id)
        let job = view.job
        let logs = try await plane.logs(id, after: 0)
        var events: [(time: Double, event: String)] = [(job.submittedAt, "submitted")]
        for attempt in await plane.attempts(of: id) {
            events.append((attempt.chargedFrom, "attempt \(attempt.number) allocated on \(attempt.nodes.joined(separator: ", "))"))
            if attempt.startedAt > attempt.chargedFrom { events.append((attempt.startedAt, "attempt \(attempt.number) running")) }
            if let ended = attempt.endedAt { events.append((ended, "attempt \(attempt.number) \(attempt.outcome ?? "ended")")) }
        }
        if job.state == .running, let started = job.startedAt { events.append((started, "running")) }
        // In time order; what happened in the same instant keeps the order it was added in.
        let timeline = events.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }
            .map { ["time": Self.time($0.element.time), "event": $0.element.event] }
        var page = WebPage(title: "Job \(id)", name: "job")
        page.context = [
            "id": job.id, "name": job.name ?? "–", "tenant": job.tenant, "state": job.state.rawValue, "command": job.command.joined(separator: " "),
            "requests": Self.requests(job.task), "priority": job.task.priority, "preemptible": job.task.preemptible, "attempt": job.attempt,
            "maxAttempts": job.maxAttempts, "exitCode": job.exitCode.map { "\($0)" } ?? false, "reason": job.reason ?? false,
            "queuePosition": view.queuePosition ?? false, "estimatedStart": view.estimatedStartAt.map { Self.time($0) } ?? false,
            "canCancel": !job.state.isTerminal && (session.identity.role ?? .viewer) >= .member,
            "placements": (job.placements ?? []).map { placement -> [String: Any] in
                [
                    "node": placement.node.rawValue, "gpus": placement.gpuIndices.map(String.init).joined(separator: ",").ifEmpty("–"),
                    "cpu": Quantity.formatCPU(placement.cpuMillis), "memory": Quantity.formatBytes(placement.memoryBytes),
                ]
            },
            "timeline": timeline, "logs": logs.map(\.text).joined(), "logOffset": logs.last?.offset ?? 0, "live": !job.state.isTerminal,
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
        guard from < to else { throw APIError(.badRequest, "invalid_field", "from: must be before to") }
        let reports = try await plane.costReports([.tenant, .cloud, .day], from: from, to: to, for: identity)
        let (byTenant, byCloud, byDay) = (reports[0], reports[1], reports[2])
        let forecast = try await plane.forecast(metric: "cost", tenant: nil, days: 28, horizon: 14, for: identity)
        let budgets = try await plane.budgetStatuses(for: identity)
        var page = WebPage(title: "Costs", name: "costs")
        page.context = [
            "window": "\(CostDates.day(from)) to \(Self.time(to))", "from": CostDates.timestamp(from), "to": CostDates.timestamp(to),
            "total": Self.cents(byTenant.total),
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
        let items = await plane.recommendations(for: identity)
        let rates = await plane.acceptanceRates().filter { $0.accepted + $0.dismissed > 0 }
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
            throw APIError(.internalServerError, "catalog", "the catalog is not available")
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

/// Names the nodes page repeats thousands of times (GPU models, memory sizes), each worked out once.
struct NodeRowNames {
    private var models: [String: String] = [:]
    private var sizes: [Int64: String] = [:]

    mutating func model(_ name: String) -> String {
        if let known = models[name] { return known }
        let model = SVGCharts.escape(GPUModelName.normalize(name))
        models[name] = model
        return model
    }

    mutating func bytes(_ value: Int64) -> String {
        if let known = sizes[value] { return known }
        let text = Quantity.formatBytes(value)
        sizes[value] = text
        return text
    }
}

extension String {
    fileprivate func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}
