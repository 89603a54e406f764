import AllotAPI
import AllotCore
import AllotStore
import HTTPTypes
import Testing

@testable import AllotServer

/// Consolidation and preemption in the live control plane: plans from the recommendations, applied through
/// the agents' directives, with evicted jobs given their grace period before anything takes their place.
@Suite struct ConsolidationFlowTests {
    static let admin = Identity(actor: "test", role: .admin, tenant: "default", scope: nil)

    func job(cpu: Double = 1, gpus: Int, priority: Int = 0, critical: Bool = false, preemptible: Bool) -> JobSubmission {
        var request = submission(cpu: cpu, gpus: gpus)
        request.task.preemptible = preemptible
        request.task.priority = priority
        if critical { request.task.slaClass = .critical }
        return request
    }

    /// Eight 8-GPU nodes running 2 or 3 single-GPU preemptible jobs each (the others finished).
    func fragmented(_ clock: ManualClock, defragmentation: Bool = false) async throws -> (ControlPlane, [String: [JobID]]) {
        let plane = try await makePlane(MemoryStore(), clock, defragmentation: defragmentation)
        for node in 1...8 { _ = try await plane.report(AgentReport(node: "n\(node)", inventory: inventory("n\(node)", cpu: 64, gpus: 8))) }
        var ids: [JobID] = []
        for _ in 0..<64 { ids.append(try await plane.submit(job(gpus: 1, preemptible: true)).id) }
        await settle(plane)
        var byNode: [String: [JobID]] = [:]
        for id in ids {
            let view = try await plane.job(id)
            byNode[try #require(view.job.placements?.first?.node.rawValue), default: []].append(id)
        }
        #expect(byNode.count == 8 && byNode.values.allSatisfy { $0.count == 8 })
        let keep = [3, 2, 3, 3, 2, 3, 3, 3]
        var kept: [String: [JobID]] = [:]
        for node in 1...8 {
            let name = "n\(node)"
            let jobs = byNode[name]!
            // Keep jobs spread over the node's GPUs: every third one.
            let staying = Array(stride(from: 0, to: 8, by: 3).map { jobs[$0] }.prefix(keep[node - 1]))
            kept[name] = staying
            let statuses = jobs.map { id in
                AgentReport.JobStatus(id: id, attempt: 1, state: staying.contains(id) ? .running : .exited, exitCode: staying.contains(id) ? nil : 0)
            }
            _ = try await plane.report(AgentReport(node: name, jobs: statuses))
        }
        await settle(plane)
        return (plane, kept)
    }

    @Test func aConsolidationPlanFreesANodeWithTheFewestMovesAndTheGangStartsAfterTheGracePeriod() async throws {
        let clock = ManualClock()
        let (plane, kept) = try await fragmented(clock)
        let gang = try await plane.submit(job(gpus: 8, preemptible: false))
        await settle(plane)
        #expect(try await plane.job(gang.id).job.state == .pending)

        let recommendations = await plane.optimizer.recommendations(for: Self.admin)
        let plan = try #require(recommendations.first { $0.kind == .consolidation })
        #expect(plan.target == gang.id.rawValue)
        #expect(plan.moves?.count == 2)
        #expect(Set(plan.moves?.map(\.job) ?? []) == Set(kept["n2"]!.map(\.rawValue)))
        #expect(plan.startsOn == ["n2"])
        // A tenant's member is not shown cluster-wide plans.
        let member = Identity(actor: "m", role: .member, tenant: "default", scope: ["default"])
        #expect(await plane.optimizer.recommendations(for: member).allSatisfy { $0.kind != .consolidation })

        let result = try await plane.apply(recommendation: plan.id)
        #expect(result.started == gang.id.rawValue)
        #expect(Set(result.moved.map(\.job)) == Set(kept["n2"]!.map(\.rawValue)))
        #expect(result.moved.allSatisfy { $0.from == ["n2"] && $0.to != ["n2"] })
        await settle(plane)
        let started = try await plane.job(gang.id).job
        #expect(started.state == .scheduled)
        #expect(started.placements?.map(\.node.rawValue) == ["n2"])
        #expect(started.placements?.first?.gpuIndices.count == 8)
        // The moved jobs are out of n2's directive (their agent sends SIGTERM and waits the grace period), and
        // the gang is held back until they have exited.
        var directive = await plane.directive(for: "n2")
        #expect(directive.assignments.isEmpty)
        for move in result.moved {
            let moved = try await plane.job(JobID(move.job)).job
            #expect(moved.state == .scheduled && moved.attempt == 2)
            #expect(moved.placements?.map(\.node.rawValue) == move.to)
            #expect(await plane.directive(for: move.to[0]).assignments.contains { $0.id.rawValue == move.job && $0.attempt == 2 })
        }
        let exits = kept["n2"]!.map { AgentReport.JobStatus(id: $0, attempt: 1, state: .exited, exitCode: 143) }
        directive = try await plane.report(AgentReport(node: "n2", jobs: exits))
        #expect(directive.assignments.map(\.id) == [gang.id])

        // Nothing was lost: the 22 jobs and the gang are all placed, none ended.
        let jobs = try await plane.jobs(JobQuery(states: [.scheduled, .running]))
        #expect(jobs.count == 23)
        #expect(try await plane.jobs(JobQuery(states: [.failed, .lost, .cancelled])).isEmpty)
        // The plan cannot be applied twice.
        await #expect(throws: APIError.self) { try await plane.apply(recommendation: plan.id) }
    }

    /// With defragmentation the cycle makes the same moves a plan would, at once: the two jobs of n2 get a
    /// second attempt elsewhere and SIGTERM on n2, and the gang starts there once they have exited.
    @Test func withDefragmentationTheCycleMovesTheFewestJobsAndTheGangStartsOnceTheyHaveLeft() async throws {
        let clock = ManualClock()
        let (plane, kept) = try await fragmented(clock, defragmentation: true)
        let gang = try await plane.submit(job(gpus: 8, preemptible: false))
        await settle(plane)
        let started = try await plane.job(gang.id).job
        #expect(started.state == .scheduled)
        #expect(started.placements?.map(\.node.rawValue) == ["n2"])
        for id in kept["n2"]! {
            let moved = try await plane.job(id).job
            #expect(moved.state == .scheduled && moved.attempt == 2)
            let node = try #require(moved.placements?.first?.node.rawValue)
            #expect(node != "n2")
            #expect(await plane.directive(for: node).assignments.contains { $0.id == id && $0.attempt == 2 })
        }
        #expect(await plane.directive(for: "n2").assignments.isEmpty)
        let exits = kept["n2"]!.map { AgentReport.JobStatus(id: $0, attempt: 1, state: .exited, exitCode: 143) }
        let directive = try await plane.report(AgentReport(node: "n2", jobs: exits))
        #expect(directive.assignments.map(\.id) == [gang.id])
        // Nothing was lost or ended: the 22 jobs and the gang are all placed.
        #expect(try await plane.jobs(JobQuery(states: [.scheduled, .running])).count == 23)
        #expect(try await plane.jobs(JobQuery(states: [.failed, .lost, .cancelled])).isEmpty)
    }

    @Test func aCriticalJobEvictsTheFewestAndWaitsForThemToStop() async throws {
        let clock = ManualClock()
        let plane = try await makePlane(MemoryStore(), clock)
        _ = try await plane.report(AgentReport(node: "n1", inventory: inventory("n1", cpu: 8, gpus: 4)))
        let pair = try await plane.submit(job(gpus: 2, preemptible: true))
        let single = try await plane.submit(job(gpus: 1, preemptible: true))
        let pinned = try await plane.submit(job(gpus: 1, preemptible: false))
        await settle(plane)
        _ = try await plane.report(
            AgentReport(node: "n1", jobs: [pair, single, pinned].map { .init(id: $0.id, attempt: 1, state: .running) })
        )
        let urgent = try await plane.submit(job(gpus: 2, critical: true, preemptible: false))
        await settle(plane)
        // The pair goes (one eviction), not the single plus the pinned job.
        #expect(try await plane.job(pair.id).job.state == .pending)
        let reason = try await plane.job(pair.id).job.reason
        #expect(reason?.hasPrefix("preempted") == true)
        #expect(try await plane.job(single.id).job.state == .running)
        #expect(try await plane.job(urgent.id).job.state == .scheduled)
        var directive = await plane.directive(for: "n1")
        #expect(!directive.assignments.contains { $0.id == urgent.id || $0.id == pair.id })
        // Still stopping at the next tick: held. Past the grace period (10 s) plus two scans, it goes ahead
        // even if the agent never said the job ended.
        await plane.tick()
        #expect(!(await plane.directive(for: "n1")).assignments.contains { $0.id == urgent.id })
        clock.advance(13)
        _ = try await plane.report(AgentReport(node: "n1", jobs: [single, pinned].map { .init(id: $0.id, attempt: 1, state: .running) }))
        await plane.tick()
        directive = await plane.directive(for: "n1")
        #expect(directive.assignments.contains { $0.id == urgent.id })
        // An equal-priority job does not evict the pair back: no ping-pong.
        let peer = try await plane.submit(job(gpus: 2, preemptible: true))
        await settle(plane)
        #expect(try await plane.job(peer.id).job.state == .pending)
        #expect(try await plane.job(urgent.id).job.state == .scheduled)
    }
}
