import AllotAPI
import AllotStore
import Logging
import ServiceLifecycle
import Synchronization

/// Costs, budgets and the spend forecast: owns the cost ledger (the recent attempts and billing periods) and
/// the budgets' last check. The control plane hands it every committed batch (``record(_:)``) and reads the
/// hard budgets that block submissions through ``gate``; it reads the tenants' tree through ``TenantTree``.
public actor CostCenter {
    let store: any AllotStore
    let clusterName: String
    let budgetCheckSeconds: Double
    let now: @Sendable () -> Double
    let events: EventHub
    let tenants: TenantTree
    let logger: Logger
    /// Which tenants a spent hard budget blocks, read by admission without waiting on this actor.
    public nonisolated let gate = BudgetGate()
    /// The recent attempts and billing periods, for cost reports.
    var ledger = CostLedger()
    /// Budgets' last check: spend per budget, and the hard budgets that now refuse submissions, by tenant.
    var budgetState = BudgetState() {
        didSet { gate.set(budgetState.blocked) }
    }
    /// Where budget announcements go in the audit log.
    var audit: (@Sendable (AuditEntry) async -> Void)?

    init(
        store: any AllotStore,
        configuration: ServerConfiguration,
        events: EventHub,
        tenants: TenantTree,
        logger: Logger,
        now: @escaping @Sendable () -> Double
    ) {
        self.store = store
        clusterName = configuration.clusterName
        budgetCheckSeconds = configuration.budgetCheckSeconds
        self.events = events
        self.tenants = tenants
        self.logger = logger
        self.now = now
    }

    func sendAudit(to sink: @escaping @Sendable (AuditEntry) async -> Void) { audit = sink }

    /// Reads the last two months' attempts and billing periods from the store.
    func load(at time: Double) async throws(StoreError) {
        let since = time - CostLedger.keepSeconds
        let periods = try await store.billingPeriods(overlapping: since, .greatestFiniteMagnitude)
        ledger = CostLedger(since: since, attempts: try await store.attempts(overlapping: since, .greatestFiniteMagnitude), periods: periods)
    }

    /// Takes a committed batch's attempts and billing periods.
    func record(_ batch: WriteBatch) { ledger.record(batch) }

    /// Checks budgets when a check is due, and forgets what the ledger no longer needs.
    public func maintain() async {
        let time = now()
        if time - budgetState.checkedAt >= budgetCheckSeconds {
            do { try await checkBudgets() } catch { logger.warning("budget check failed", metadata: ["error": "\(error.message)"]) }
        }
        if time - CostLedger.keepSeconds - ledger.since > 86_400 { ledger.forget(before: time - CostLedger.keepSeconds) }
    }
}

/// Runs the cost center's periodic work (budget checks, ledger upkeep) until graceful shutdown.
public struct CostService: Service {
    let costs: CostCenter
    let interval: Double

    public init(costs: CostCenter, interval: Double) {
        self.costs = costs
        self.interval = interval
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await costs.maintain()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(interval)) }  // ends early at shutdown
        }
    }
}

/// The tenants' tree (each tenant's parent), written by the control plane, read by whoever needs lineage.
public final class TenantTree: Sendable {
    private let parents = Mutex<[String: String]>([:])

    public init() {}

    func set(_ tenants: [Tenant]) {
        let map = Dictionary(uniqueKeysWithValues: tenants.compactMap { tenant in tenant.parent.map { (tenant.name, $0) } })
        parents.withLock { $0 = map }
    }

    /// A tenant and its ancestors, nearest first.
    func lineage(_ tenant: String) -> [String] {
        parents.withLock { parents in
            var chain = [tenant]
            while let parent = parents[chain[chain.count - 1]], !chain.contains(parent) { chain.append(parent) }
            return chain
        }
    }
}

/// The tenants a spent hard budget blocks (`*`: the cluster), with the message a refused submission gets.
public final class BudgetGate: Sendable {
    private let blocked = Mutex<[String: String]>([:])

    init() {}

    func set(_ value: [String: String]) { blocked.withLock { $0 = value } }

    /// Why a submission to a tenant with this lineage is refused; `nil` when no budget blocks it.
    func problem(_ lineage: [String]) -> String? {
        blocked.withLock { blocked in
            for owner in lineage + ["*"] { if let message = blocked[owner] { return message } }
            return nil
        }
    }
}
