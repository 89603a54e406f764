import AllotAPI
import AllotCore
import AllotStore
import AllotTestSupport
import HTTPTypes
import Testing

@testable import AllotServer

/// The store refuses writes: nothing is acknowledged or dispatched that is not on disk, memory goes back to
/// what is, and the server takes writes again once the store does.
struct StoreFailureTests {
    static let admin = Identity(actor: "test", role: .admin, tenant: "default", scope: nil)

    func setUp() async throws -> (ControlPlane, FaultInjectingStore, ManualClock) {
        let store = FaultInjectingStore(MemoryStore())
        let clock = ManualClock()
        let plane = try await makePlane(store, clock)
        return (plane, store, clock)
    }

    /// Waits until the control plane takes writes again (at most 5 s).
    func recovered(_ plane: ControlPlane) async {
        for _ in 0..<500 where await plane.storeProblem() != nil { try? await Task.sleep(for: .milliseconds(10)) }
        await settle(plane)
    }

    func expectUnavailable(_ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected 503 store_unavailable")
        } catch let error as APIError {
            #expect(error.status == .serviceUnavailable && error.code == .storeUnavailable)
        } catch {
            Issue.record("expected 503 store_unavailable, got \(error)")
        }
    }

    /// Node n1 joins, and a job is bound to it and reported running.
    func runningJob(_ plane: ControlPlane, cpu: Int = 4) async throws -> Job {
        _ = try await plane.report(AgentReport(node: "n1", inventory: inventory("n1", cpu: cpu)))
        let job = try await plane.submit(submission())
        await settle(plane)
        _ = try await plane.report(AgentReport(node: "n1", jobs: [.init(id: job.id, attempt: 1, state: .running)]))
        return job
    }

    /// Every assignment an agent is shown is a binding on disk, with the same attempt.
    func expectDispatchIsDurable(_ plane: ControlPlane, _ store: any AllotStore, nodes: [String]) async throws {
        for node in nodes {
            for assignment in await plane.directive(for: node).assignments {
                let stored = try #require(try await store.job(assignment.id))
                #expect(stored.state == .scheduled || stored.state == .running, "\(assignment.id) dispatched but stored \(stored.state)")
                #expect(stored.attempt == assignment.attempt && stored.cancelRequestedAt == nil)
            }
        }
    }

    @Test func aSubmissionWhileTheStoreFailsIsRefusedAndNothingIsKept() async throws {
        let (plane, store, _) = try await setUp()
        _ = try await plane.report(AgentReport(node: "n1", inventory: inventory("n1")))
        store.failWrites()
        await expectUnavailable { _ = try await plane.submit(submission()) }
        #expect(await plane.storeProblem() != nil)
        // Reads go on.
        #expect(try await plane.jobs(JobQuery()).isEmpty)
        store.healWrites()
        await recovered(plane)
        #expect(await plane.storeProblem() == nil)
        let job = try await plane.submit(submission())
        #expect(try await store.job(job.id) != nil)
        #expect(plane.metrics.exposition([]).contains("allot_store_commit_failures_total 1"))
    }

    @Test func aBindingThatFailsToCommitIsUndoneAndNeverDispatched() async throws {
        let (plane, store, _) = try await setUp()
        _ = try await plane.report(AgentReport(node: "n1", inventory: inventory("n1")))
        await settle(plane)
        // The insert commits, the binding does not.
        store.failCommits(startingWith: 2)
        let job = try await plane.submit(submission())
        await settle(plane)
        #expect(await plane.directive(for: "n1").assignments.isEmpty)
        #expect(try await store.job(job.id)?.state == .pending)
        #expect(try await store.attempts(job: job.id).isEmpty)
        for _ in 0..<200 where try await plane.job(job.id).job.state != .pending { try? await Task.sleep(for: .milliseconds(10)) }
        #expect(try await plane.job(job.id).job.state == .pending)
        // Heartbeats go on; a change is refused.
        _ = try await plane.report(AgentReport(node: "n1"))
        await expectUnavailable { _ = try await plane.submit(submission()) }
        store.healWrites()
        await recovered(plane)
        let assignments = await plane.directive(for: "n1").assignments
        #expect(assignments.map(\.id) == [job.id] && assignments.first?.attempt == 1)
        #expect(try await store.job(job.id)?.state == .scheduled)
        #expect(try await store.attempts(job: job.id).count == 1)
    }

    @Test func anExitThatFailsToCommitIsTakenWhenTheAgentSendsItAgain() async throws {
        let (plane, store, _) = try await setUp()
        let job = try await runningJob(plane)
        store.failWrites()
        let exit = AgentReport(
            node: "n1",
            jobs: [.init(id: job.id, attempt: 1, state: .exited, exitCode: 0)],
            output: [.init(id: job.id, attempt: 1, stream: .stdout, text: "done\n")]
        )
        await expectUnavailable { _ = try await plane.report(exit) }
        #expect(try await store.job(job.id)?.state == .running)
        #expect(try await plane.job(job.id).job.state == .running)
        store.healWrites()
        await recovered(plane)
        _ = try await plane.report(exit)
        await settle(plane)
        #expect(try await store.job(job.id)?.state == .succeeded)
        #expect(try await store.attempts(job: job.id).map(\.outcome) == [.succeeded])
        #expect(try await plane.logs(job.id, after: 0).map(\.text) == ["done\n"])
    }

    @Test func aNodeThatCannotBeRecordedDoesNotJoin() async throws {
        let (plane, store, _) = try await setUp()
        store.failWrites()
        await expectUnavailable { _ = try await plane.report(AgentReport(node: "n1", inventory: inventory("n1"))) }
        // Memory is reloaded from the store (by the recovery worker, right after the failure): the node is gone.
        for _ in 0..<100 where await !plane.nodeList().isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        #expect(await plane.nodeList().isEmpty)
        store.healWrites()
        await recovered(plane)
        let directive = try await plane.report(AgentReport(node: "n1", inventory: inventory("n1")))
        #expect(!directive.inventoryRequested)
        #expect(try await store.node("n1")?.state == .ready)
    }

    @Test func aCancelThatFailsToCommitLeavesTheJobRunning() async throws {
        let (plane, store, _) = try await setUp()
        let job = try await runningJob(plane)
        store.failWrites()
        await expectUnavailable { _ = try await plane.cancel(job.id) }
        // Not stopped: the agent still sees it.
        #expect(await plane.directive(for: "n1").assignments.map(\.id) == [job.id])
        #expect(try await store.job(job.id)?.cancelRequestedAt == nil)
        store.healWrites()
        await recovered(plane)
        #expect(try await plane.cancel(job.id).cancelRequestedAt != nil)
        await settle(plane)
        #expect(await plane.directive(for: "n1").assignments.isEmpty)
    }

    /// While a change's commit is in flight, agents see what is on disk; if the commit fails, that stays.
    @Test func aChangeIsNotDispatchedWhileItsCommitIsInFlight() async throws {
        let (plane, store, _) = try await setUp()
        let running = try await runningJob(plane, cpu: 2)
        _ = try await plane.setNode("n1", action: "cordon")
        let waiting = try await plane.submit(submission())
        await settle(plane)
        // Uncordoning binds the waiting job (its commit is held in flight), and a cancel stops the running one
        // (queued behind it): neither is on disk yet.
        store.holdCommits(startingWith: 2)
        _ = try await plane.setNode("n1", action: "uncordon")
        for _ in 0..<500 where store.heldCommits == 0 { try await Task.sleep(for: .milliseconds(2)) }
        #expect(await plane.active[waiting.id]?.state == .scheduled)
        // Readers see what is on disk too.
        #expect(try await plane.job(waiting.id).job.state == .pending)
        let cancel = Task { try await plane.cancel(running.id) }
        for _ in 0..<500 where await plane.active[running.id]?.cancelRequestedAt == nil { try await Task.sleep(for: .milliseconds(2)) }
        #expect(try await plane.job(running.id).job.cancelRequestedAt == nil)
        #expect(await plane.directive(for: "n1").assignments.map(\.id) == [running.id])
        store.releaseCommits(failing: true)
        await expectUnavailable { _ = try await cancel.value }
        // Still running (the waiting job may be bound again already: the store took writes at once).
        #expect(await plane.directive(for: "n1").assignments.map(\.id).contains(running.id))
        await recovered(plane)
        #expect(try await store.job(running.id)?.cancelRequestedAt == nil)
        #expect(try await plane.job(running.id).job.cancelRequestedAt == nil)
        // Once the store takes writes, the binding is made again and the cancel goes through.
        await settle(plane)
        #expect(await plane.directive(for: "n1").assignments.map(\.id) == [running.id, waiting.id])
        #expect(try await store.attempts(job: waiting.id).count == 1)
        _ = try await plane.cancel(running.id)
        await settle(plane)
        #expect(await plane.directive(for: "n1").assignments.map(\.id) == [waiting.id])
    }

    @Test func aTenantThatCannotBeStoredIsNotTaken() async throws {
        let (plane, store, _) = try await setUp()
        let directory = Directory(store: store, bootstrap: Authenticator(adminToken: Authenticator.newToken(), agentToken: Authenticator.newToken()))
        try await directory.load()
        try await directory.observeTenants { tenants throws(APIError) in try await plane.setTenants(tenants) }
        store.failWrites([.tenancy])
        await expectUnavailable { _ = try await directory.createTenant(TenantRequest(name: "acme"), by: Self.admin) }
        #expect(await directory.tenant("acme") == nil)
        #expect(await plane.tenantSettings.contains { $0.name == "acme" } == false)
        store.healWrites()
        _ = try await directory.createTenant(TenantRequest(name: "acme"), by: Self.admin)
        #expect(try await store.tenants().contains { $0.name == "acme" })
    }

    @Test func aBudgetThatCannotBeStoredIsRefused() async throws {
        let (plane, store, _) = try await setUp()
        store.failWrites([.costs])
        await expectUnavailable {
            _ = try await plane.costCenter.saveBudget(BudgetRequest(name: "b", amount: 10), knownTenants: [], by: Self.admin)
        }
        #expect(try await store.budgets().isEmpty)
        store.healWrites()
        _ = try await plane.costCenter.saveBudget(BudgetRequest(name: "b", amount: 10), knownTenants: [], by: Self.admin)
        #expect(try await store.budgets().map(\.name) == ["b"])
    }

    /// A scripted cluster with an agent that runs what it is shown; the `failing`th commit fails (and, from
    /// `window` on, every commit until healed). Every acknowledged job runs exactly once, nothing refused runs,
    /// and no agent is ever shown a binding that is not on disk.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 8, 10, 13, 17])
    func everyAcknowledgedJobRunsOnceWhateverCommitFails(failing: Int) async throws {
        let (plane, store, _) = try await setUp()
        let nodes = ["a", "b"]
        for node in nodes { _ = try await plane.report(AgentReport(node: node, inventory: inventory(node, cpu: 2))) }
        await settle(plane)
        store.failCommits(startingWith: failing)
        var acknowledged: [JobID] = []
        var refused = 0
        var started: [JobID: Int] = [:]
        var running: [String: [AgentReport.JobStatus]] = [:]
        for step in 0..<14 {
            if step < 8 {
                do { acknowledged.append(try await plane.submit(submission(cpu: 1)).id) } catch { refused += 1 }
            }
            if step == 6 { store.healWrites() }
            await settle(plane)
            try await expectDispatchIsDurable(plane, store, nodes: nodes)
            for node in nodes {
                // Jobs that ran last step exit now; what the directive lists and is new starts.
                var statuses = (running[node] ?? []).map { AgentReport.JobStatus(id: $0.id, attempt: $0.attempt, state: .exited, exitCode: 0) }
                for assignment in await plane.directive(for: node).assignments
                where !(running[node] ?? []).contains(where: { $0.id == assignment.id && $0.attempt == assignment.attempt }) {
                    started[assignment.id, default: 0] += 1
                    statuses.append(.init(id: assignment.id, attempt: assignment.attempt, state: .running))
                }
                do {
                    _ = try await plane.report(AgentReport(node: node, jobs: statuses))
                    running[node] = statuses.filter { $0.state == .running }
                } catch {
                    // Sent again next step, as an agent does.
                    running[node] = statuses.filter { $0.state == .running } + (running[node] ?? [])
                }
            }
            if step >= 6 { await recovered(plane) }
        }
        await recovered(plane)
        #expect(acknowledged.count + refused == 8)
        for id in acknowledged {
            #expect(started[id] == 1, "\(id) started \(started[id] ?? 0) times")
            #expect(try await store.job(id)?.state == .succeeded)
        }
        #expect(started.keys.allSatisfy { acknowledged.contains($0) })
    }
}
