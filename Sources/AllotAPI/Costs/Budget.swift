/// A spending limit for a tenant (and everything below it) or the whole cluster, per day or calendar month
/// (UTC). Crossing a threshold raises a `budget` event once per period; a *hard* budget, once spent, refuses
/// new submissions with `403`.
public struct Budget: Codable, Equatable, Sendable {
    public enum Period: String, Codable, Sendable, CaseIterable {
        case day, month
    }

    public var name: String
    /// `nil`: the whole cluster (admins only).
    public var tenant: String?
    public var period: Period
    /// USD per period.
    public var amount: Double
    /// Percentages of the amount that raise an event, ascending.
    public var thresholds: [Double]
    public var hard: Bool
    public var createdAt: Double
    /// The highest threshold already announced, and the period it was in (`2026-11` or `2026-11-23`).
    public var announcedPeriod: String?
    public var announcedPercent: Double?

    public init(
        name: String,
        tenant: String? = nil,
        period: Period = .month,
        amount: Double,
        thresholds: [Double] = [50, 80, 100],
        hard: Bool = false,
        createdAt: Double = 0
    ) {
        self.name = name
        self.tenant = tenant
        self.period = period
        self.amount = amount
        self.thresholds = thresholds
        self.hard = hard
        self.createdAt = createdAt
    }

    /// The UTC period holding `time`: its name (`2026-11-23` or `2026-11`) and bounds.
    public func window(at time: Double) -> (name: String, start: Double, end: Double) {
        switch period {
        case .day:
            let start = (time / 86_400).rounded(.down) * 86_400
            return (CostDates.day(start), start, start + 86_400)
        case .month:
            let (start, end) = CostDates.month(time)
            return (String(CostDates.day(start).prefix(7)), start, end)
        }
    }
}

/// What `POST /v1/budgets` takes.
public struct BudgetRequest: Codable, Equatable, Sendable {
    public var name: String
    public var tenant: String?
    public var period: Budget.Period?
    public var amount: Double
    public var thresholds: [Double]?
    public var hard: Bool?

    public init(name: String, tenant: String? = nil, period: Budget.Period? = nil, amount: Double, thresholds: [Double]? = nil, hard: Bool? = nil) {
        self.name = name
        self.tenant = tenant
        self.period = period
        self.amount = amount
        self.thresholds = thresholds
        self.hard = hard
    }
}

/// A budget with what has been spent against it in the current period.
public struct BudgetStatus: Codable, Equatable, Sendable {
    public var budget: Budget
    public var period: String
    public var periodStart: Double
    public var periodEnd: Double
    /// USD spent so far in the period.
    public var spent: Double
    /// Spent as a percentage of the amount.
    public var percent: Double
    /// The thresholds crossed.
    public var crossed: [Double]
    /// A hard budget that is spent: new submissions are refused.
    public var blocking: Bool

    public init(budget: Budget, period: String, periodStart: Double, periodEnd: Double, spent: Double) {
        self.budget = budget
        self.period = period
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.spent = spent
        let percent = budget.amount > 0 ? spent / budget.amount * 100 : 0
        self.percent = percent
        crossed = budget.thresholds.filter { percent >= $0 }
        blocking = budget.hard && spent >= budget.amount
    }
}
