import AllotAPI
import AllotStore

/// The recent past's job attempts and node billing periods, in memory, so that cost reports, budgets and the
/// forecast do not read and decode them from the store each time. Every write the control plane makes passes
/// through it; reports reaching back before ``since`` read the store instead.
struct CostLedger: Sendable {
    /// Two months: this month and last, and the forecast's eight weeks.
    static let keepSeconds = 62 * 86_400.0

    /// Reports from here on can be answered from memory.
    private(set) var since: Double
    private var attempts: [String: JobAttempt] = [:]
    private var periods: [String: NodeBillingPeriod] = [:]

    init(since: Double = .greatestFiniteMagnitude) { self.since = since }

    /// Starts from the store's records that end after `since` (or have not ended).
    init(since: Double, attempts: [JobAttempt], periods: [NodeBillingPeriod]) {
        self.since = since
        for attempt in attempts { record(attempt) }
        for period in periods { record(period) }
    }

    func covers(from: Double) -> Bool { from >= since }

    mutating func record(_ batch: WriteBatch) {
        for attempt in batch.attempts { record(attempt) }
        for period in batch.billing { record(period) }
    }

    private mutating func record(_ attempt: JobAttempt) {
        let key = "\(attempt.job)#\(attempt.number)"
        if (attempt.endedAt ?? .infinity) > since { attempts[key] = attempt } else { attempts[key] = nil }
    }

    private mutating func record(_ period: NodeBillingPeriod) {
        let key = "\(period.node)#\(period.start)"
        if (period.end ?? .infinity) > since { periods[key] = period } else { periods[key] = nil }
    }

    func attempts(overlapping from: Double, _ to: Double) -> [JobAttempt] {
        attempts.values.filter { $0.chargedFrom < to && ($0.endedAt ?? .infinity) > from }
    }

    func periods(overlapping from: Double, _ to: Double) -> [NodeBillingPeriod] {
        periods.values.filter { $0.start < to && ($0.end ?? .infinity) > from }
    }

    /// Forgets what ended before `time`.
    mutating func forget(before time: Double) {
        guard time > since else { return }
        since = time
        attempts = attempts.filter { ($0.value.endedAt ?? .infinity) > time }
        periods = periods.filter { ($0.value.end ?? .infinity) > time }
    }
}
