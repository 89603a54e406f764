import AllotAPI
import AllotCore
import AllotStore
import HTTPTypes
import Logging

extension ControlPlane {
    /// Jobs per state in the caller's tenants (the store's counts, with live states for unfinished jobs).
    public func jobCounts(for identity: Identity) async throws(APIError) -> [JobState: Int] {
        var counts: [JobState: Int]
        do { counts = try await store.jobCounts(tenants: identity.scope) } catch { throw APIError.from(error) }
        // Unfinished jobs move faster than their records: count them from memory.
        for state in [JobState.pending, .scheduled, .staging, .running] { counts[state] = 0 }
        for job in active.values where identity.sees(job.tenant) { counts[job.state, default: 0] += 1 }
        return counts
    }

    /// The caller's queue: how many wait, and since when the oldest.
    public func queueSummary(for identity: Identity) -> (depth: Int, oldestSubmittedAt: Double?) {
        let waiting = active.values.filter { $0.state == .pending && identity.sees($0.tenant) }
        return (waiting.count, waiting.map(\.submittedAt).min())
    }

    /// GPUs and CPU cores each tenant's unfinished, placed jobs hold.
    public func tenantUse() -> [String: (gpus: Int, cpu: Double)] {
        var use: [String: (gpus: Int, cpu: Double)] = [:]
        for job in active.values where job.state != .pending {
            for placement in job.placements ?? [] {
                var current = use[job.tenant] ?? (0, 0)
                current.gpus += placement.gpuIndices.count
                current.cpu += Double(placement.cpuMillis) / 1000
                use[job.tenant] = current
            }
        }
        return use
    }

    /// A job's attempts, for its timeline (none when the store cannot be read: the page still shows the job).
    public func attempts(of id: JobID) async -> [JobAttempt] {
        do { return try await store.attempts(job: id) } catch {
            logger.warning("job attempts not read", metadata: ["job.id": "\(id)", "error": "\(error.message)"])
            return []
        }
    }
}
