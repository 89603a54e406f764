import AllotAPI
import AllotStore
import Synchronization

/// A store that fails writes on demand, over a real one: the Nth commit, every write while a window is
/// open, or only writes of one kind. Reads always reach the store below.
public final class FaultInjectingStore: AllotStore {
    /// Which writes a fault hits.
    public enum WriteKind: Sendable, Hashable, CaseIterable {
        /// A batch (jobs, attempts, nodes, billing periods, audit entries in one transaction).
        case commit
        /// Job output.
        case log
        /// Tenants, tokens and settings.
        case tenancy
        /// Budgets, billed costs and feedback.
        case costs
        /// Audit entries written on their own.
        case audit
    }

    struct Faults {
        /// Fail every write of these kinds (an open window).
        var failing: Set<WriteKind> = []
        /// Fail the commit whose number (from 1) is in here.
        var failCommitNumbers: Set<Int> = []
        /// Fail every commit from this number on, until healed.
        var failFromCommit: Int?
        var commits = 0
        var failed = 0
        /// Commits wait here while held; each is resumed with whether it fails.
        var holding = false
        var holdFromCommit: Int?
        var held: [CheckedContinuation<Bool, Never>] = []
    }

    public let base: any AllotStore
    private let faults = Mutex(Faults())

    public init(_ base: any AllotStore) { self.base = base }

    /// Opens a window in which every write of these kinds fails (all kinds when none is named).
    public func failWrites(_ kinds: Set<WriteKind> = Set(WriteKind.allCases)) { faults.withLock { $0.failing = kinds } }
    /// Closes the window: writes reach the store again.
    public func healWrites() {
        faults.withLock {
            $0.failing = []
            $0.failFromCommit = nil
        }
    }
    /// Lets `n - 1` more commits through, then fails every commit until ``healWrites()``.
    public func failCommits(startingWith n: Int) { faults.withLock { $0.failFromCommit = $0.commits + n } }
    /// Fails the commit that comes `n`th from now (1 = the next one).
    public func failCommit(in n: Int) { faults.withLock { _ = $0.failCommitNumbers.insert($0.commits + n) } }
    /// Makes commits wait (in flight) until ``releaseCommits(failing:)``.
    public func holdCommits() { faults.withLock { $0.holding = true } }
    /// Lets `n - 1` more commits through, then holds the rest until ``releaseCommits(failing:)``.
    public func holdCommits(startingWith n: Int) { faults.withLock { $0.holdFromCommit = $0.commits + n } }
    /// Lets held commits go on, failing them or not.
    public func releaseCommits(failing: Bool = false) {
        let held = faults.withLock { faults in
            faults.holding = false
            faults.holdFromCommit = nil
            defer { faults.held = [] }
            return faults.held
        }
        for commit in held { commit.resume(returning: failing) }
    }
    /// How many commits wait now.
    public var heldCommits: Int { faults.withLock { $0.held.count } }
    /// How many writes were refused so far.
    public var failedWrites: Int { faults.withLock { $0.failed } }
    /// How many commits were tried so far.
    public var commitsTried: Int { faults.withLock { $0.commits } }

    private func check(_ kind: WriteKind) throws(StoreError) {
        let fail = faults.withLock { faults -> Bool in
            var fail = faults.failing.contains(kind)
            if kind == .commit {
                faults.commits += 1
                if faults.failCommitNumbers.remove(faults.commits) != nil { fail = true }
                if let from = faults.failFromCommit, faults.commits >= from { fail = true }
            }
            if fail { faults.failed += 1 }
            return fail
        }
        if fail { throw StoreError(.database, "disk I/O error (injected)") }
    }

    // MARK: - Writes

    public func commit(_ batch: WriteBatch) async throws(StoreError) {
        try check(.commit)
        let fail = await withCheckedContinuation { continuation in
            let waiting = faults.withLock { faults in
                let hold = faults.holding || faults.holdFromCommit.map { faults.commits >= $0 } == true
                if hold { faults.held.append(continuation) }
                return hold
            }
            if !waiting { continuation.resume(returning: false) }
        }
        if fail {
            faults.withLock { $0.failed += 1 }
            throw StoreError(.database, "disk I/O error (injected)")
        }
        try await base.commit(batch)
    }
    public func insertJobs(_ jobs: [Job]) async throws(StoreError) {
        try check(.commit)
        try await base.insertJobs(jobs)
    }
    public func updateJobs(_ jobs: [Job]) async throws(StoreError) {
        try check(.commit)
        try await base.updateJobs(jobs)
    }
    public func saveNode(_ node: NodeStatus) async throws(StoreError) {
        try check(.commit)
        try await base.saveNode(node)
    }
    public func removeNode(_ name: String) async throws(StoreError) {
        try check(.commit)
        try await base.removeNode(name)
    }
    public func recordAttempt(_ attempt: JobAttempt) async throws(StoreError) {
        try check(.commit)
        try await base.recordAttempt(attempt)
    }
    public func saveBilledCosts(_ rows: [BilledCost]) async throws(StoreError) {
        try check(.costs)
        try await base.saveBilledCosts(rows)
    }
    public func billedCosts(fromDay: String, toDay: String) async throws(StoreError) -> [BilledCost] {
        try await base.billedCosts(fromDay: fromDay, toDay: toDay)
    }
    public func saveBudget(_ budget: Budget) async throws(StoreError) {
        try check(.costs)
        try await base.saveBudget(budget)
    }
    public func deleteBudget(_ name: String) async throws(StoreError) {
        try check(.costs)
        try await base.deleteBudget(name)
    }
    public func appendFeedback(_ entry: FeedbackEntry) async throws(StoreError) -> FeedbackEntry {
        try check(.costs)
        return try await base.appendFeedback(entry)
    }
    public func appendLog(job: JobID, stream: LogChunk.Stream, text: String) async throws(StoreError) -> LogChunk {
        try check(.log)
        return try await base.appendLog(job: job, stream: stream, text: text)
    }
    public func setSetting(_ key: String, _ value: String) async throws(StoreError) {
        try check(.tenancy)
        try await base.setSetting(key, value)
    }
    public func saveTenant(_ tenant: Tenant) async throws(StoreError) {
        try check(.tenancy)
        try await base.saveTenant(tenant)
    }
    public func saveToken(_ token: APIToken) async throws(StoreError) {
        try check(.tenancy)
        try await base.saveToken(token)
    }
    public func appendAudit(_ entries: [AuditEntry]) async throws(StoreError) -> [AuditEntry] {
        try check(.audit)
        return try await base.appendAudit(entries)
    }

    // MARK: - Reads

    public func job(_ id: JobID) async throws(StoreError) -> Job? { try await base.job(id) }
    public func jobs(_ query: JobQuery) async throws(StoreError) -> [Job] { try await base.jobs(query) }
    public func jobCounts(tenants: Set<String>?) async throws(StoreError) -> [JobState: Int] { try await base.jobCounts(tenants: tenants) }
    public func lastJobSequence() async throws(StoreError) -> Int64 { try await base.lastJobSequence() }
    public func node(_ name: String) async throws(StoreError) -> NodeStatus? { try await base.node(name) }
    public func nodes() async throws(StoreError) -> [NodeStatus] { try await base.nodes() }
    public func attempts(job: JobID) async throws(StoreError) -> [JobAttempt] { try await base.attempts(job: job) }
    public func attempts(overlapping from: Double, _ to: Double) async throws(StoreError) -> [JobAttempt] {
        try await base.attempts(overlapping: from, to)
    }
    public func billingPeriods(overlapping from: Double, _ to: Double) async throws(StoreError) -> [NodeBillingPeriod] {
        try await base.billingPeriods(overlapping: from, to)
    }
    public func budgets() async throws(StoreError) -> [Budget] { try await base.budgets() }
    public func feedback(tenants: Set<String>?) async throws(StoreError) -> [FeedbackEntry] { try await base.feedback(tenants: tenants) }
    public func logs(job: JobID, after offset: Int64, limit: Int) async throws(StoreError) -> [LogChunk] {
        try await base.logs(job: job, after: offset, limit: limit)
    }
    public func setting(_ key: String) async throws(StoreError) -> String? { try await base.setting(key) }
    public func tenants() async throws(StoreError) -> [Tenant] { try await base.tenants() }
    public func tokens() async throws(StoreError) -> [APIToken] { try await base.tokens() }
    public func audit(_ query: AuditQuery) async throws(StoreError) -> [AuditEntry] { try await base.audit(query) }
}
