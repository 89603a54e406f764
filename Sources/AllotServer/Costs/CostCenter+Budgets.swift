import AllotAPI
import AllotCore
import AllotStore
import Foundation
import HTTPTypes

/// What the last budget check found.
struct BudgetState: Sendable {
    var statuses: [String: BudgetStatus] = [:]
    /// Tenants under a spent hard budget, with the message a refused submission gets.
    var blocked: [String: String] = [:]
    var checkedAt: Double = -.infinity
}

extension CostCenter {
    /// Creates or replaces a budget. A tenant admin sets budgets within its subtree; cluster-wide ones are for
    /// admins.
    public func saveBudget(_ request: BudgetRequest, knownTenants: Set<String>, by identity: Identity) async throws(APIError) -> BudgetStatus {
        func bad(_ field: String, _ message: String) -> APIError { APIError(.unprocessableContent, .invalidField, "\(field): \(message)") }
        let name = request.name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 100, !name.contains("/") else { throw bad("name", "1 to 100 characters without '/'") }
        guard request.amount.isFinite, request.amount > 0 else { throw bad("amount", "must be a positive number of USD") }
        let thresholds = (request.thresholds ?? [50, 80, 100]).sorted()
        guard thresholds.allSatisfy({ $0.isFinite && $0 > 0 && $0 <= 1_000 }) else { throw bad("thresholds", "percentages between 0 and 1000") }
        if let tenant = request.tenant {
            guard knownTenants.contains(tenant) else { throw APIError.notFound("tenant \(tenant)") }
            try AccessControl.requireVisible(identity, tenant: tenant, resource: "tenant \(tenant)")
        } else if !identity.isAdmin {
            throw APIError(.forbidden, .forbidden, "only admins set cluster-wide budgets; name a tenant")
        }
        let existing: [Budget]
        do { existing = try await store.budgets() } catch { throw APIError.from(error) }
        if let old = existing.first(where: { $0.name == name }) {
            guard old.tenant.map(identity.sees) ?? identity.isAdmin else { throw APIError(.conflict, .conflict, "budget \(name) exists") }
        }
        let budget = Budget(
            name: name,
            tenant: request.tenant,
            period: request.period ?? .month,
            amount: request.amount,
            thresholds: thresholds,
            hard: request.hard ?? false,
            createdAt: now()
        )
        do { try await store.saveBudget(budget) } catch { throw APIError.from(error) }
        try await checkBudgets()
        return budgetState.statuses[name] ?? BudgetStatus(budget: budget, period: "", periodStart: 0, periodEnd: 0, spent: 0)
    }

    public func deleteBudget(_ name: String, by identity: Identity) async throws(APIError) {
        let budgets: [Budget]
        do { budgets = try await store.budgets() } catch { throw APIError.from(error) }
        guard let budget = budgets.first(where: { $0.name == name }), budget.tenant.map(identity.sees) ?? identity.isAdmin else {
            throw APIError.notFound("budget \(name)")
        }
        do { try await store.deleteBudget(name) } catch { throw APIError.from(error) }
        try await checkBudgets()
    }

    /// The budgets `identity` may see, with their spend as of now.
    /// Spend is checked again when the last check is more than ten seconds old.
    public func budgetStatuses(for identity: Identity) async throws(APIError) -> [BudgetStatus] {
        if now() - budgetState.checkedAt > 10 { try await checkBudgets() }
        return budgetState.statuses.values.filter { $0.budget.tenant.map(identity.sees) ?? true }.sorted { $0.budget.name < $1.budget.name }
    }

    /// Computes every budget's spend in its current period; announces each newly crossed threshold once per
    /// period (a `budget` event and an audit entry) and updates which tenants hard budgets now block.
    public func checkBudgets() async throws(APIError) {
        let time = now()
        let budgets: [Budget]
        do { budgets = try await store.budgets() } catch { throw APIError.from(error) }
        var linesByWindow: [Double: [CostLine]] = [:]
        var state = BudgetState(checkedAt: time)
        for var budget in budgets {
            let window = budget.window(at: time)
            if linesByWindow[window.start] == nil { linesByWindow[window.start] = try await costLines(from: window.start, to: window.end) }
            let spent = linesByWindow[window.start]!.filter { line in
                guard let tenant = budget.tenant else { return true }
                return line.tenant.map { tenants.lineage($0).contains(tenant) } ?? false
            }.map(\.cost).reduce(0, +)
            let status = BudgetStatus(budget: budget, period: window.name, periodStart: window.start, periodEnd: window.end, spent: spent)
            state.statuses[budget.name] = status
            if status.blocking {
                let scope = budget.tenant.map { "tenant \($0)" } ?? "the cluster"
                state.blocked[budget.tenant ?? "*"] =
                    "budget \(budget.name) for \(scope) is spent: $\(Self.dollars(spent)) of $\(Self.dollars(budget.amount)) this \(budget.period.rawValue) (a hard budget refuses new jobs until \(CostDates.timestamp(window.end)))"
            }
            let announced = budget.announcedPeriod == window.name ? (budget.announcedPercent ?? 0) : 0
            guard let crossed = status.crossed.last, crossed > announced else { continue }
            budget.announcedPeriod = window.name
            budget.announcedPercent = crossed
            do { try await store.saveBudget(budget) } catch { throw APIError.from(error) }
            var announcement = status
            announcement.budget = budget
            events.publish("budget", announcement, tenant: budget.tenant)
            await audit?(
                AuditEntry(
                    at: time,
                    actor: "allot",
                    role: "system",
                    tenant: budget.tenant ?? "default",
                    action: "BUDGET threshold",
                    target: budget.name,
                    status: 200,
                    message:
                        "\(Int(crossed)) % of budget \(budget.name) reached in \(window.name): $\(Self.dollars(spent)) of $\(Self.dollars(budget.amount))"
                )
            )
        }
        budgetState = state
    }

    /// Cents, or four decimals for amounts under a dollar that cents would round away.
    static func dollars(_ value: Double) -> String {
        if abs(value) < 1, abs(value * 100 - (value * 100).rounded()) > 1e-9 { return String(format: "%.4f", value) }
        let cents = Int64((value * 100).rounded())
        let fraction = String(abs(cents % 100))
        return "\(cents / 100).\(fraction.count == 1 ? "0" + fraction : fraction)"
    }
}
