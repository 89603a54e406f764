import AllotAPI

/// Which jobs to list.
public struct JobQuery: Sendable, Equatable {
    public var states: Set<JobState>?
    public var tenant: String?
    /// Only jobs of these tenants (a caller's scope).
    public var tenants: Set<String>?
    /// Only jobs submitted after this sequence number (for paging).
    public var afterSequence: Int64?
    /// Only jobs submitted before this sequence number (for paging newest first).
    public var beforeSequence: Int64?
    /// Newest first instead of oldest first.
    public var newestFirst = false
    public var limit: Int?

    public init(
        states: Set<JobState>? = nil,
        tenant: String? = nil,
        tenants: Set<String>? = nil,
        afterSequence: Int64? = nil,
        beforeSequence: Int64? = nil,
        newestFirst: Bool = false,
        limit: Int? = nil
    ) {
        self.states = states
        self.tenant = tenant
        self.tenants = tenants
        self.afterSequence = afterSequence
        self.beforeSequence = beforeSequence
        self.newestFirst = newestFirst
        self.limit = limit
    }

    /// Whether a job is of the states and tenants asked for (the sequence bounds aside).
    public func selects(_ job: Job) -> Bool {
        (states?.contains(job.state) ?? true) && (tenant.map { $0 == job.tenant } ?? true) && (tenants?.contains(job.tenant) ?? true)
    }

    func matches(_ job: Job) -> Bool {
        selects(job) && (afterSequence.map { job.sequence > $0 } ?? true) && (beforeSequence.map { job.sequence < $0 } ?? true)
    }
}

/// Several writes applied in one transaction, in this order: inserts, updates, attempts, nodes, billing
/// periods, audit entries.
public struct WriteBatch: Sendable, Equatable {
    public var insertJobs: [Job] = []
    public var updateJobs: [Job] = []
    public var attempts: [JobAttempt] = []
    public var nodes: [NodeStatus] = []
    /// Nodes' billing periods, replacing the one with the same node and start.
    public var billing: [NodeBillingPeriod] = []
    /// Appended to the audit log (their sequence numbers are assigned by the store).
    public var audit: [AuditEntry] = []

    public init(
        insertJobs: [Job] = [],
        updateJobs: [Job] = [],
        attempts: [JobAttempt] = [],
        nodes: [NodeStatus] = [],
        billing: [NodeBillingPeriod] = [],
        audit: [AuditEntry] = []
    ) {
        self.insertJobs = insertJobs
        self.updateJobs = updateJobs
        self.attempts = attempts
        self.nodes = nodes
        self.billing = billing
        self.audit = audit
    }

    public var isEmpty: Bool { insertJobs.isEmpty && updateJobs.isEmpty && attempts.isEmpty && nodes.isEmpty && billing.isEmpty && audit.isEmpty }

    /// Adds another batch's writes after this one's; a later record of the same job, attempt or node replaces
    /// the earlier, except that a job inserted here stays an insert with the latest record.
    public mutating func merge(_ later: WriteBatch) {
        for job in later.insertJobs { insertJobs.append(job) }
        for job in later.updateJobs {
            if let index = insertJobs.lastIndex(where: { $0.id == job.id }) {
                insertJobs[index] = job
            } else if let index = updateJobs.firstIndex(where: { $0.id == job.id }) {
                updateJobs[index] = job
            } else {
                updateJobs.append(job)
            }
        }
        for attempt in later.attempts {
            if let index = attempts.firstIndex(where: { $0.job == attempt.job && $0.number == attempt.number }) {
                attempts[index] = attempt
            } else {
                attempts.append(attempt)
            }
        }
        for node in later.nodes {
            if let index = nodes.firstIndex(where: { $0.name == node.name }) { nodes[index] = node } else { nodes.append(node) }
        }
        for period in later.billing {
            if let index = billing.firstIndex(where: { $0.node == period.node && $0.start == period.start }) {
                billing[index] = period
            } else {
                billing.append(period)
            }
        }
        audit += later.audit
    }
}

/// Allot's persistent state. Every write is durable when its call returns; each call is one transaction.
///
/// One protocol, one in-memory reference actor (``MemoryStore``) and one type per database; a single
/// conformance suite runs against all of them.
public protocol AllotStore: Sendable {
    /// Applies a batch in one transaction, all or none.
    func commit(_ batch: WriteBatch) async throws(StoreError)
    /// Inserts new jobs, all or none; a known id fails with ``StoreError/Code/duplicateJob``.
    func insertJobs(_ jobs: [Job]) async throws(StoreError)
    /// Replaces whole job records, all or none; an unknown id fails with ``StoreError/Code/unknownJob``.
    func updateJobs(_ jobs: [Job]) async throws(StoreError)
    func job(_ id: JobID) async throws(StoreError) -> Job?
    /// Jobs in submission order (newest first when the query says so).
    func jobs(_ query: JobQuery) async throws(StoreError) -> [Job]
    /// How many jobs are in each state, in these tenants (all when `nil`).
    func jobCounts(tenants: Set<String>?) async throws(StoreError) -> [JobState: Int]
    /// The highest submission sequence number stored, or 0.
    func lastJobSequence() async throws(StoreError) -> Int64

    func saveNode(_ node: NodeStatus) async throws(StoreError)
    func removeNode(_ name: String) async throws(StoreError)
    func node(_ name: String) async throws(StoreError) -> NodeStatus?
    /// Nodes by name.
    func nodes() async throws(StoreError) -> [NodeStatus]

    /// Records an attempt, replacing the one with the same job and number.
    func recordAttempt(_ attempt: JobAttempt) async throws(StoreError)
    func attempts(job: JobID) async throws(StoreError) -> [JobAttempt]
    /// Attempts whose allocation overlaps `[from, to)` (open ones included), for cost accounting.
    func attempts(overlapping from: Double, _ to: Double) async throws(StoreError) -> [JobAttempt]
    /// Nodes' billing periods overlapping `[from, to)` (open ones included).
    func billingPeriods(overlapping from: Double, _ to: Double) async throws(StoreError) -> [NodeBillingPeriod]

    /// Creates or replaces billed rows by their key (source, day, resource, service), in one transaction.
    func saveBilledCosts(_ rows: [BilledCost]) async throws(StoreError)
    /// Billed rows for the days `fromDay...toDay` (`YYYY-MM-DD`), ordered by day and key.
    func billedCosts(fromDay: String, toDay: String) async throws(StoreError) -> [BilledCost]

    /// Creates or replaces a budget.
    func saveBudget(_ budget: Budget) async throws(StoreError)
    func deleteBudget(_ name: String) async throws(StoreError)
    /// Budgets by name.
    func budgets() async throws(StoreError) -> [Budget]
    /// Appends feedback; returns it with its sequence number.
    func appendFeedback(_ entry: FeedbackEntry) async throws(StoreError) -> FeedbackEntry
    /// Feedback oldest first, in these tenants (all when `nil`).
    func feedback(tenants: Set<String>?) async throws(StoreError) -> [FeedbackEntry]

    /// Appends output to a job's log; returns the chunk with its offset.
    func appendLog(job: JobID, stream: LogChunk.Stream, text: String) async throws(StoreError) -> LogChunk
    /// Log chunks after an offset, oldest first.
    func logs(job: JobID, after offset: Int64, limit: Int) async throws(StoreError) -> [LogChunk]

    func setting(_ key: String) async throws(StoreError) -> String?
    func setSetting(_ key: String, _ value: String) async throws(StoreError)

    /// Creates or replaces a tenant.
    func saveTenant(_ tenant: Tenant) async throws(StoreError)
    /// Tenants by name.
    func tenants() async throws(StoreError) -> [Tenant]
    /// Creates or replaces a token record (the digest of its secret, never the secret).
    func saveToken(_ token: APIToken) async throws(StoreError)
    /// Tokens by creation time.
    func tokens() async throws(StoreError) -> [APIToken]
    /// Appends to the audit log in one transaction (nothing updates or deletes it); returns the entries with
    /// their sequence numbers.
    func appendAudit(_ entries: [AuditEntry]) async throws(StoreError) -> [AuditEntry]
    /// Audit entries oldest first.
    func audit(_ query: AuditQuery) async throws(StoreError) -> [AuditEntry]
}

/// Which audit entries to list.
public struct AuditQuery: Sendable, Equatable {
    /// Only entries in these tenants (all when `nil`).
    public var tenants: Set<String>?
    public var afterSequence: Int64?
    public var limit: Int?

    public init(tenants: Set<String>? = nil, afterSequence: Int64? = nil, limit: Int? = nil) {
        self.tenants = tenants
        self.afterSequence = afterSequence
        self.limit = limit
    }

    func matches(_ entry: AuditEntry) -> Bool {
        (tenants.map { $0.contains(entry.tenant) } ?? true) && (afterSequence.map { entry.sequence > $0 } ?? true)
    }
}

/// A store failure: a stable code and a message.
public struct StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case duplicateJob = "duplicate_job"
        case unknownJob = "unknown_job"
        case corrupt
        case database
        /// A write of a server that is no longer the leader (another took over): it must stop writing.
        case fenced
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
