import AllotAPI
import AllotCore
import AllotStore
import HTTPTypes
import Testing

@testable import AllotServer

/// Tenants' quotas and weights reach admission and the scheduler through the directory.
@Suite struct TenantQuotaTests {
    enum PolicyName: String, CaseIterable, Sendable {
        case priority, fair
        var policy: any QueuePolicy { self == .fair ? FairSharePolicy() : PriorityPolicy() }
    }

    static let root = Identity(actor: "test", role: .admin, tenant: "default", scope: nil)

    func setUp(policy: any QueuePolicy = PriorityPolicy(), cpus: Int = 4, gpus: Int = 0) async throws -> (ControlPlane, Directory) {
        let store = MemoryStore()
        let configuration = ServerConfiguration(scheduler: SchedulerConfiguration(policy: policy, headroom: 0, scanIntervalSeconds: 1))
        let plane = try await ControlPlane.start(store: store, configuration: configuration)
        _ = try await plane.report(AgentReport(node: "n1", inventory: inventory("n1", cpu: cpus, gpus: gpus)))
        let directory = Directory(store: store, bootstrap: Authenticator(adminToken: Authenticator.newToken(), agentToken: Authenticator.newToken()))
        try await directory.load()
        try await directory.observeTenants { tenants throws(APIError) in try await plane.setTenants(tenants) }
        await directory.sendAudit { entry in await plane.recordAudit(entry) }
        return (plane, directory)
    }

    func submit(_ plane: ControlPlane, tenant: String, cpu: Double = 0, gpus: Int = 0, preemptible: Bool = false) async throws -> Job {
        var request = submission(cpu: cpu, gpus: gpus)
        request.task.tenant = TenantID(tenant)
        request.task.preemptible = preemptible
        return try await plane.submit(request)
    }

    @Test func aSubmissionBeyondTheLimitIsRefusedNamingTheQuota() async throws {
        let (plane, directory) = try await setUp(gpus: 4)
        _ = try await directory.createTenant(TenantRequest(name: "acme", limit: ResourceQuota(gpus: 2)), by: Self.root)
        _ = try await directory.createTenant(TenantRequest(name: "acme-vision", parent: "acme"), by: Self.root)
        _ = try await submit(plane, tenant: "acme", gpus: 1)
        // A sub-tenant's work counts against its parent's limit.
        _ = try await submit(plane, tenant: "acme-vision", gpus: 1)
        await #expect(
            throws: APIError(.forbidden, .quotaExceeded, "tenant acme limit exceeded: gpus 3 > 2 with this job (running and queued work counts)")
        ) {
            try await submit(plane, tenant: "acme-vision", gpus: 1)
        }
        // Another tenant is not limited by it, and within the limit work queues even when the cluster is full.
        for _ in 0..<3 { _ = try await submit(plane, tenant: "default", gpus: 1) }
        let queued = try await plane.jobs(JobQuery(tenant: "default"))
        #expect(queued.count == 3)
        // A sub-tenant may not be given more than its parent.
        await #expect(throws: APIError.self) {
            try await directory.updateTenant("acme-vision", TenantRequest(limit: ResourceQuota(gpus: 3)), by: Self.root)
        }
    }

    /// Guarantee 2 GPUs and limit 4 each: alone, `a` borrows the whole node; when `b` arrives, what `a`
    /// borrowed is taken back by preemption and `b` gets its guarantee; `a` keeps its own 2.
    @Test(arguments: [PolicyName.priority, .fair])
    func borrowingUpToTheLimitAndReclaimByPreemption(_ policy: PolicyName) async throws {
        let (plane, directory) = try await setUp(policy: policy.policy, gpus: 4)
        for name in ["a", "b"] {
            _ = try await directory.createTenant(
                TenantRequest(name: name, guaranteed: ResourceQuota(gpus: 2), limit: ResourceQuota(gpus: 4)),
                by: Self.root
            )
        }
        var borrowed: [JobID] = []
        for _ in 0..<4 { borrowed.append(try await submit(plane, tenant: "a", gpus: 1, preemptible: true).id) }
        await settle(plane)
        #expect(try await plane.jobs(JobQuery(tenant: "a")).allSatisfy { $0.job.state == .scheduled })
        // Beyond the limit: refused, not queued.
        await #expect(throws: APIError.self) { try await submit(plane, tenant: "a", gpus: 1, preemptible: true) }
        let owner = [try await submit(plane, tenant: "b", gpus: 1).id, try await submit(plane, tenant: "b", gpus: 1).id]
        await settle(plane)
        let a = try await plane.jobs(JobQuery(tenant: "a"))
        #expect(a.filter { $0.job.state == .scheduled }.count == 2)
        #expect(a.filter { $0.job.state == .pending }.count == 2)
        for id in owner { #expect(try await plane.job(id).job.state == .scheduled) }
        #expect(Set(a.map(\.job.id)) == Set(borrowed))
    }

    /// Weighted DRF on a contended node: running shares follow the tenants' weights within 5 %.
    @Test(arguments: [[1.0, 1.0], [2.0, 1.0], [1.0, 1.0, 1.0], [2.0, 1.0, 1.0]])
    func fairShareFollowsTheWeights(_ weights: [Double]) async throws {
        let cpus = 60
        let (plane, directory) = try await setUp(policy: FairSharePolicy(), cpus: cpus)
        let names = weights.indices.map { "t\($0)" }
        for (name, weight) in zip(names, weights) {
            _ = try await directory.createTenant(TenantRequest(name: name, weight: weight), by: Self.root)
        }
        // Queue everything while the node takes no work, then let one cycle share it out.
        _ = try await plane.setNode("n1", action: "cordon")
        for name in names { for _ in 0..<cpus { _ = try await submit(plane, tenant: name, cpu: 1) } }
        _ = try await plane.setNode("n1", action: "uncordon")
        await settle(plane)
        let total = weights.reduce(0, +)
        for (name, weight) in zip(names, weights) {
            let running = try await plane.jobs(JobQuery(tenant: name)).filter { $0.job.state == .scheduled }.count
            let expected = Double(cpus) * weight / total
            #expect(abs(Double(running) - expected) <= 0.05 * Double(cpus), "\(name): \(running) running, expected \(expected)")
        }
    }
}
