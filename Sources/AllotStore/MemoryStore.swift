import AllotAPI

/// The reference store: everything in memory, for tests and for what-if runs.
public actor MemoryStore: AllotStore {
    private var jobsByID: [JobID: Job] = [:]
    private var nodesByName: [String: NodeStatus] = [:]
    private var attemptsByJob: [JobID: [Int: JobAttempt]] = [:]
    private var logsByJob: [JobID: [LogChunk]] = [:]
    private var settings: [String: String] = [:]
    private var tenantsByName: [String: Tenant] = [:]
    private var tokensByID: [String: APIToken] = [:]
    private var auditLog: [AuditEntry] = []
    private var billingByNode: [String: [Double: NodeBillingPeriod]] = [:]
    private var budgetsByName: [String: Budget] = [:]
    private var billedByKey: [String: BilledCost] = [:]
    private var feedbackLog: [FeedbackEntry] = []

    public init() {}

    public func commit(_ batch: WriteBatch) throws(StoreError) {
        var seen: Set<JobID> = []
        for job in batch.insertJobs where jobsByID[job.id] != nil || !seen.insert(job.id).inserted {
            throw StoreError(.duplicateJob, "job \(job.id) already exists")
        }
        for job in batch.updateJobs where jobsByID[job.id] == nil && !seen.contains(job.id) {
            throw StoreError(.unknownJob, "unknown job \(job.id)")
        }
        for job in batch.insertJobs + batch.updateJobs { jobsByID[job.id] = job }
        for attempt in batch.attempts { recordAttempt(attempt) }
        for node in batch.nodes { saveNode(node) }
        for period in batch.billing { billingByNode[period.node, default: [:]][period.start] = period }
        _ = appendAudit(batch.audit)
    }

    public func insertJobs(_ jobs: [Job]) throws(StoreError) {
        var seen: Set<JobID> = []
        for job in jobs where jobsByID[job.id] != nil || !seen.insert(job.id).inserted {
            throw StoreError(.duplicateJob, "job \(job.id) already exists")
        }
        for job in jobs { jobsByID[job.id] = job }
    }

    public func updateJobs(_ jobs: [Job]) throws(StoreError) {
        for job in jobs where jobsByID[job.id] == nil { throw StoreError(.unknownJob, "unknown job \(job.id)") }
        for job in jobs { jobsByID[job.id] = job }
    }

    public func job(_ id: JobID) -> Job? { jobsByID[id] }

    public func jobs(_ query: JobQuery) -> [Job] {
        let matching = jobsByID.values.filter { query.matches($0) }.sorted {
            query.newestFirst ? $0.sequence > $1.sequence : $0.sequence < $1.sequence
        }
        return query.limit.map { Array(matching.prefix($0)) } ?? matching
    }

    public func jobCounts(tenants: Set<String>?) -> [JobState: Int] {
        var counts: [JobState: Int] = [:]
        for job in jobsByID.values where tenants?.contains(job.tenant) ?? true { counts[job.state, default: 0] += 1 }
        return counts
    }

    public func lastJobSequence() -> Int64 { jobsByID.values.map(\.sequence).max() ?? 0 }

    public func saveNode(_ node: NodeStatus) { nodesByName[node.name] = node }
    public func removeNode(_ name: String) { nodesByName[name] = nil }
    public func node(_ name: String) -> NodeStatus? { nodesByName[name] }
    public func nodes() -> [NodeStatus] { nodesByName.values.sorted { $0.name < $1.name } }

    public func recordAttempt(_ attempt: JobAttempt) { attemptsByJob[attempt.job, default: [:]][attempt.number] = attempt }
    public func attempts(job: JobID) -> [JobAttempt] { (attemptsByJob[job] ?? [:]).values.sorted { $0.number < $1.number } }

    public func attempts(overlapping from: Double, _ to: Double) -> [JobAttempt] {
        attemptsByJob.values.flatMap(\.values).filter { $0.chargedFrom < to && ($0.endedAt ?? .infinity) > from }
            .sorted { ($0.job, $0.number) < ($1.job, $1.number) }
    }

    public func billingPeriods(overlapping from: Double, _ to: Double) -> [NodeBillingPeriod] {
        billingByNode.values.flatMap(\.values).filter { $0.start < to && ($0.end ?? .infinity) > from }
            .sorted { ($0.node, $0.start) < ($1.node, $1.start) }
    }

    public func saveBilledCosts(_ rows: [BilledCost]) { for row in rows { billedByKey[row.key] = row } }
    public func billedCosts(fromDay: String, toDay: String) -> [BilledCost] {
        billedByKey.values.filter { $0.day >= fromDay && $0.day <= toDay }.sorted { ($0.day, $0.key) < ($1.day, $1.key) }
    }
    public func saveBudget(_ budget: Budget) { budgetsByName[budget.name] = budget }
    public func deleteBudget(_ name: String) { budgetsByName[name] = nil }
    public func budgets() -> [Budget] { budgetsByName.values.sorted { $0.name < $1.name } }

    public func appendFeedback(_ entry: FeedbackEntry) -> FeedbackEntry {
        var stored = entry
        stored.sequence = Int64(feedbackLog.count + 1)
        feedbackLog.append(stored)
        return stored
    }

    public func feedback(tenants: Set<String>?) -> [FeedbackEntry] { feedbackLog.filter { tenants?.contains($0.tenant) ?? true } }

    public func appendLog(job: JobID, stream: LogChunk.Stream, text: String) -> LogChunk {
        let chunk = LogChunk(job: job, offset: Int64((logsByJob[job]?.count ?? 0) + 1), stream: stream, text: text)
        logsByJob[job, default: []].append(chunk)
        return chunk
    }

    public func logs(job: JobID, after offset: Int64, limit: Int) -> [LogChunk] {
        Array((logsByJob[job] ?? []).filter { $0.offset > offset }.prefix(limit))
    }

    public func setting(_ key: String) -> String? { settings[key] }
    public func setSetting(_ key: String, _ value: String) { settings[key] = value }

    public func saveTenant(_ tenant: Tenant) { tenantsByName[tenant.name] = tenant }

    public func tenants() -> [Tenant] { tenantsByName.values.sorted { $0.name < $1.name } }

    public func saveToken(_ token: APIToken) { tokensByID[token.id] = token }

    public func tokens() -> [APIToken] { tokensByID.values.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) } }

    public func appendAudit(_ entries: [AuditEntry]) -> [AuditEntry] {
        entries.map { entry in
            var stored = entry
            stored.sequence = Int64(auditLog.count + 1)
            auditLog.append(stored)
            return stored
        }
    }

    public func audit(_ query: AuditQuery) -> [AuditEntry] {
        let matching = auditLog.filter(query.matches)
        return query.limit.map { Array(matching.prefix($0)) } ?? matching
    }
}
