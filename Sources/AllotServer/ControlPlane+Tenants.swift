import AllotAPI
import AllotCore
import AllotLifecycle
import AllotStore
import HTTPTypes

extension ControlPlane {
    /// Takes the tenants' weights, guarantees and limits: the scheduler shares and reclaims by them, and
    /// admission refuses work beyond a limit, counting every tenant below the one that has it.
    public func setTenants(_ tenants: [Tenant]) throws(APIError) {
        do { try lifecycle.setTenantPolicies(Self.policies(tenants)) } catch {
            throw APIError(.unprocessableContent, .invalidField, error.description)
        }
        tenantSettings = tenants
        tenantLimits = Dictionary(uniqueKeysWithValues: tenants.compactMap { tenant in tenant.limit.map { (tenant.name, $0) } })
        tenantTree.set(tenants)
        requestCycle()
    }

    /// Queues an audit entry for the writer's next transaction (shared with whatever else is being written)
    /// without waiting for it: the call it records has already been answered for by its own durable write, and
    /// a graceful shutdown drains the writer. A crash can lose the entries of the last few milliseconds.
    public func recordAudit(_ entry: AuditEntry) {
        // While the store fails, entries wait with the other carried writes.
        if storeFailure != nil {
            carried.audit.append(entry)
        } else {
            queue(WriteBatch(audit: [entry]))
        }
    }

    static func policies(_ tenants: [Tenant]) -> [TenantID: TenantPolicy] {
        var policies: [TenantID: TenantPolicy] = [:]
        for tenant in tenants { policies[TenantID(tenant.name)] = tenant.policy }
        return policies
    }

    /// A tenant and its ancestors, nearest first.
    func lineage(_ tenant: String) -> [String] { tenantTree.lineage(tenant) }

    /// Why a submission to `tenant` is refused by a spent hard budget (its own or an ancestor's, or the
    /// cluster's); `nil` when none blocks it.
    func budgetProblem(_ tenant: String) -> String? { costCenter.gate.problem(lineage(tenant)) }

    /// Why admitting `task` would take its tenant (or an ancestor) past a limit: every unfinished job of the
    /// limited tenant's subtree counts, running or queued. `nil` when it fits.
    func quotaProblem(_ task: TaskSpec) -> String? {
        let owners = lineage(task.tenant.rawValue).filter { tenantLimits[$0] != nil }
        guard !owners.isEmpty else { return nil }
        var usage: [String: QuotaUsage] = [:]
        for owner in owners { usage[owner] = QuotaUsage(task) }
        for job in Array(active.values) + Array(admitting.values) {
            for owner in lineage(job.tenant) where usage[owner] != nil { usage[owner] = usage[owner]! + QuotaUsage(job.task) }
        }
        for owner in owners {
            if let excess = tenantLimits[owner]!.excess(usage[owner]!) {
                return "tenant \(owner) limit exceeded: \(excess) with this job (running and queued work counts)"
            }
        }
        return nil
    }
}
