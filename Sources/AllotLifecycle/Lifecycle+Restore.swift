import AllotAPI
import AllotCore
import AllotStore

/// What the store holds of the lifecycle: read by the shell, turned into a ``Lifecycle`` by
/// ``Lifecycle/restore(_:now:reviveNodes:)``.
public struct StoredLifecycle: Sendable {
    public var nodes: [NodeStatus]
    /// Pending, scheduled and running jobs.
    public var jobs: [Job]
    public var openBilling: [NodeBillingPeriod]

    public init(nodes: [NodeStatus], jobs: [Job], openBilling: [NodeBillingPeriod]) {
        self.nodes = nodes
        self.jobs = jobs
        self.openBilling = openBilling
    }
}

extension Lifecycle {
    /// A lifecycle over what the store holds, with the writes that bring the store in line with it: work
    /// that was scheduled or running keeps its resources (no double booking); what cannot be restored (its
    /// node is gone) is requeued, its attempt ended; pending work is queued again in its order. `reviveNodes`
    /// (a start) takes every node as ready from `now`; otherwise nodes keep their stored state, and
    /// `previous` lends its heartbeats and usage (newer than the store, never written there) and the facts
    /// agents reported (gang replicas' exits, evicted jobs vacating).
    public static func restore(
        _ stored: StoredLifecycle,
        settings: Settings,
        scheduler: Scheduler,
        now time: Double,
        reviveNodes: Bool,
        previous: Lifecycle? = nil
    ) -> (lifecycle: Lifecycle, repairs: WriteBatch) {
        var lifecycle = Lifecycle(settings: settings, scheduler: scheduler)
        var repairs = WriteBatch()
        for var node in stored.nodes {
            if reviveNodes {
                node.lastHeartbeatAt = time
                node.state = .ready
            } else if let live = previous?.nodes[node.name] {
                node.lastHeartbeatAt = live.lastHeartbeatAt
                node.usage = live.usage
            }
            lifecycle.nodes[node.name] = node
            if node.state == .ready {
                lifecycle.addToScheduler(node)
            } else if let since = previous?.disconnected[node.name] {
                // Still waiting out a partition: held, cordoned, as before the reload.
                lifecycle.addToScheduler(node)
                lifecycle.scheduled.remove(node.name)
                try? lifecycle.scheduler.cordon(NodeID(node.name))  // just added
                lifecycle.disconnected[node.name] = since
            }
        }
        for period in stored.openBilling where period.end == nil { lifecycle.openBilling[period.node] = period }
        for var job in stored.jobs {
            // Written back only when restoring changed it.
            var changed = false
            if job.state != .pending, let placements = job.placements {
                do {
                    let remaining = job.task.estimateSeconds.map { max(0, $0 - (time - (job.startedAt ?? job.scheduledAt ?? time))) }
                    try lifecycle.scheduler.restore(
                        job.task,
                        replicas: placements.map { ($0.node, $0.gpuIndices) },
                        now: time,
                        remainingSeconds: remaining
                    )
                    lifecycle.active[job.id] = job
                    continue
                } catch {
                    repairs.attempts.append(endedAttempt(job, outcome: .lost, at: time))
                    job.state = .pending
                    job.placements = nil
                    job.reason = "requeued on restart: \(error.message)"
                    changed = true
                }
            }
            do {
                try lifecycle.scheduler.submit(job.task, now: job.submittedAt)
                lifecycle.active[job.id] = job
            } catch {
                job.state = .failed
                job.finishedAt = time
                job.reason = "cannot be queued on restart: \(error.message)"
                changed = true
            }
            if changed { repairs.updateJobs.append(job) }
        }
        if let previous {
            lifecycle.replicaExits = previous.replicaExits.filter { lifecycle.active[$0.key]?.state == .running }
            lifecycle.lostAttempts = previous.lostAttempts.filter { id, lost in
                lifecycle.active[id].map { $0.state == .pending && $0.attempt == lost.number } ?? false
            }
            for (node, entries) in previous.vacating {
                let left = entries.filter { [.scheduled, .staging].contains(lifecycle.active[$0.forJob]?.state) }
                if !left.isEmpty { lifecycle.vacating[node] = left }
            }
            lifecycle.takes = previous.takes
            lifecycle.revision = previous.revision &+ 1
            lifecycle.acceptsChanges = previous.acceptsChanges
        }
        return (lifecycle, repairs)
    }

    /// Tenants' weights, guarantees and limits for the scheduler.
    public mutating func setTenantPolicies(_ policies: [TenantID: TenantPolicy]) throws(QuantityError) {
        try scheduler.setTenantPolicies(policies)
    }
}
