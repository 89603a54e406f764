import AllotAPI
import AllotCore
import AllotStore
import HTTPTypes
import Synchronization
import Testing

@testable import AllotServer

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let time = Mutex(1_000_000.0)
    var now: Double { time.withLock { $0 } }
    func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
}

func inventory(_ name: String, cpu: Int = 4, gpus: Int = 0) -> NodeInventory {
    NodeInventory(
        name: name,
        cpu: NodeInventory.CPU(model: "test", logicalCores: cpu),
        memoryBytes: 8 << 30,
        gpus: (0..<gpus).map { NodeInventory.GPU(index: $0, uuid: "GPU-\(name)-\($0)", name: "NVIDIA A100-SXM4-80GB", memoryTotalBytes: 80 << 30) }
    )
}

func submission(cpu: Double = 1, gpus: Int = 0, maxAttempts: Int = 3, command: [String] = ["true"]) -> JobSubmission {
    JobSubmission(
        command: command,
        maxAttempts: maxAttempts,
        task: TaskSpec(id: "x", requests: ResourceRequest(resources: ResourceVector(cpuMillis: Int64(cpu * 1000)), gpus: gpus))
    )
}

func makePlane(_ store: any AllotStore, _ clock: ManualClock, defragmentation: Bool = false) async throws -> ControlPlane {
    let configuration = ServerConfiguration(
        scheduler: SchedulerConfiguration(headroom: 0, scanIntervalSeconds: 1, defragmentation: defragmentation)
    )
    return try await ControlPlane.start(store: store, configuration: configuration, now: { clock.now })
}

/// Waits until the control plane's background cycle and writer are done.
func settle(_ plane: ControlPlane) async { await plane.quiesce() }

struct ControlPlaneTests {
    @Test func aJobRunsOnAReportingNodeAndItsExitIsKept() async throws {
        let store: any AllotStore = MemoryStore()
        let clock = ManualClock()
        let plane = try await makePlane(store, clock)
        let first = try await plane.report(AgentReport(node: "n1"))
        #expect(first.inventoryRequested)
        _ = try await plane.report(AgentReport(node: "n1", inventory: inventory("n1", gpus: 2)))
        let job = try await plane.submit(submission(gpus: 1))
        #expect(try await store.job(job.id)?.state == .pending)
        await settle(plane)
        let directive = await plane.directive(for: "n1")
        let assignment = try #require(directive.assignments.first)
        #expect(assignment.environment["CUDA_VISIBLE_DEVICES"] == "GPU-n1-0")
        #expect(assignment.environment["ALLOT_JOB_ID"] == job.id.rawValue)
        #expect(try await store.job(job.id)?.state == .scheduled)
        _ = try await plane.report(
            AgentReport(
                node: "n1",
                jobs: [.init(id: job.id, attempt: 1, state: .running)],
                output: [.init(id: job.id, attempt: 1, stream: .stdout, text: "hello\n")]
            )
        )
        #expect(try await store.job(job.id)?.state == .running)
        _ = try await plane.report(AgentReport(node: "n1", jobs: [.init(id: job.id, attempt: 1, state: .exited, exitCode: 4)]))
        let done = try #require(try await store.job(job.id))
        #expect(done.state == .failed && done.exitCode == 4)
        #expect(try await plane.logs(job.id, after: 0).map(\.text) == ["hello\n"])
        #expect(await plane.directive(for: "n1").assignments.isEmpty)
        #expect(try await store.attempts(job: job.id).first?.outcome == .failed)
    }

    @Test func aSilentNodeIsDownAndItsJobMovesOrIsLost() async throws {
        let store: any AllotStore = MemoryStore()
        let clock = ManualClock()
        let plane = try await makePlane(store, clock)
        _ = try await plane.report(AgentReport(node: "a", inventory: inventory("a")))
        let retried = try await plane.submit(submission(cpu: 1))
        let once = try await plane.submit(submission(cpu: 1, maxAttempts: 1))
        await settle(plane)
        #expect(await plane.directive(for: "a").assignments.count == 2)
        _ = try await plane.report(AgentReport(node: "b", inventory: inventory("b")))
        clock.advance(2)
        _ = try await plane.report(AgentReport(node: "b"))
        await plane.tick()
        #expect(await plane.node("a")?.state == .ready)
        clock.advance(1.5)
        _ = try await plane.report(AgentReport(node: "b"))
        await plane.tick()
        await settle(plane)
        #expect(await plane.node("a")?.state == .down)
        let moved = try #require(try await store.job(retried.id))
        #expect(moved.state == .scheduled && moved.placements?.first?.node == "b" && moved.attempt == 2 && moved.retries == 1)
        let lost = try #require(try await store.job(once.id))
        #expect(lost.state == .lost)
        #expect(try await store.attempts(job: retried.id).map(\.outcome) == [.lost, nil])
        // A returning node asks for its inventory and is back.
        let back = try await plane.report(AgentReport(node: "a"))
        #expect(back.inventoryRequested)
        _ = try await plane.report(AgentReport(node: "a", inventory: inventory("a")))
        #expect(await plane.node("a")?.state == .ready)
    }

    @Test func aRestartKeepsEveryJobAndDoubleBooksNothing() async throws {
        let store: any AllotStore = MemoryStore()
        let clock = ManualClock()
        var plane = try await makePlane(store, clock)
        _ = try await plane.report(AgentReport(node: "g", inventory: inventory("g", gpus: 2)))
        let holder = try await plane.submit(submission(gpus: 1))
        await settle(plane)
        _ = try await plane.report(AgentReport(node: "g", jobs: [.init(id: holder.id, attempt: 1, state: .running)]))
        let waiting = try await plane.submit(submission(gpus: 2))
        await settle(plane)
        #expect(try await store.job(waiting.id)?.state == .pending)

        plane = try await makePlane(store, clock)
        await settle(plane)
        #expect(try await store.job(holder.id)?.state == .running)
        #expect(try await store.job(waiting.id)?.state == .pending)
        #expect(try await plane.job(waiting.id).job.reason?.contains("GPUs") == true)
        let next = try await plane.submit(submission(gpus: 1))
        await settle(plane)
        // Strict priority order: the new job waits behind the two-GPU one, which waits for the held GPU.
        #expect(try await plane.job(next.id).job.reason?.contains("waits behind \(waiting.id)") == true)
        _ = try await plane.cancel(waiting.id)
        await settle(plane)
        let placed = try #require(try await store.job(next.id))
        #expect(placed.state == .scheduled && placed.placements?.first?.gpuIndices == [1])
        #expect(next.sequence == waiting.sequence + 1)
    }

    /// A gang is bounded: 100,000 replicas of nothing are refused naming the field, whatever the cluster.
    @Test func aGangPastTheReplicaLimitIsRefused() async throws {
        let plane = try await makePlane(MemoryStore(), ManualClock())
        _ = try await plane.report(AgentReport(node: "n", inventory: inventory("n", cpu: 64)))
        var huge = submission(cpu: 0)
        huge.task.gang = 100_000
        await #expect(
            throws: APIError(.unprocessableContent, .invalidField, "gang: invalid value \"100000\": at most 1024 replicas a job (--max-replicas)")
        ) {
            _ = try await plane.submit(huge)
        }
        #expect(try await plane.jobs(JobQuery()).isEmpty)
        var most = submission(cpu: 0.01)
        most.task.gang = 1_024
        #expect(try await plane.submit(most).task.gang == 1_024)
    }

    /// A task that asks for nothing is given the configured default CPU and memory per replica, so 50
    /// replicas of it do not start on a 1-CPU node (before, they took nothing and all 50 started there).
    @Test func aTaskWithoutRequestsGetsTheDefaults() async throws {
        var configuration = ServerConfiguration(scheduler: SchedulerConfiguration(headroom: 0, rejectInfeasible: true))
        configuration.defaultRequests = ResourceVector(cpuMillis: 1_000, memoryBytes: 512 << 20)
        let plane = try await ControlPlane.start(store: MemoryStore(), configuration: configuration)
        _ = try await plane.report(AgentReport(node: "n", inventory: inventory("n", cpu: 1)))
        var gang = submission(cpu: 0)
        gang.task.gang = 50
        await #expect(throws: APIError.self) { _ = try await plane.submit(gang) }
        let single = try await plane.submit(submission(cpu: 0))
        #expect(single.task.requests.resources == ResourceVector(cpuMillis: 1_000, memoryBytes: 512 << 20))
        var sized = submission(cpu: 0.5)
        sized.task.requests.resources.memoryBytes = 1 << 20
        #expect(try await plane.submit(sized).task.requests.resources == ResourceVector(cpuMillis: 500, memoryBytes: 1 << 20))
    }

    @Test func cancelStopsARunningJobThroughItsAgent() async throws {
        let store: any AllotStore = MemoryStore()
        let clock = ManualClock()
        let plane = try await makePlane(store, clock)
        _ = try await plane.report(AgentReport(node: "n", inventory: inventory("n")))
        let job = try await plane.submit(submission())
        await settle(plane)
        _ = try await plane.report(AgentReport(node: "n", jobs: [.init(id: job.id, attempt: 1, state: .running)]))
        let cancelling = try await plane.cancel(job.id)
        #expect(cancelling.state == .running && cancelling.cancelRequestedAt != nil)
        #expect(await plane.directive(for: "n").assignments.isEmpty)
        _ = try await plane.report(AgentReport(node: "n", jobs: [.init(id: job.id, attempt: 1, state: .exited, exitCode: 143)]))
        #expect(try await store.job(job.id)?.state == .cancelled)
        await #expect(throws: APIError.self) { try await plane.cancel("job-999") }
    }

    @Test func badInputIsRefused() async throws {
        let plane = try await makePlane(MemoryStore(), ManualClock())
        await #expect(throws: APIError.self) { try await plane.report(AgentReport(node: "")) }
        var broken = inventory("x")
        broken.cpu.logicalCores = 0
        await #expect(throws: APIError.self) { try await plane.report(AgentReport(node: "x", inventory: broken)) }
        _ = try await plane.report(AgentReport(node: "n", inventory: inventory("n")))
        do {
            _ = try await plane.submit(submission(cpu: 100))
            Issue.record("an infeasible job was accepted")
        } catch {
            #expect(error.code == .infeasible && error.description.hasPrefix("422"))
        }
        // A stale or foreign report changes nothing.
        _ = try await plane.report(AgentReport(node: "n", jobs: [.init(id: "job-1", attempt: 7, state: .exited, exitCode: 0)]))
    }

    @Test func eventsCordonAndDrain() async throws {
        let store: any AllotStore = MemoryStore()
        let clock = ManualClock()
        let plane = try await makePlane(store, clock)
        var events = plane.subscribe().makeAsyncIterator()
        _ = try await plane.report(AgentReport(node: "n", inventory: inventory("n")))
        #expect(await events.next()?.type == "node")
        let job = try await plane.submit(submission())
        let event = await events.next()
        #expect(event?.type == "job" && event?.data.contains(job.id.rawValue) == true)
        await settle(plane)
        _ = try await plane.report(AgentReport(node: "n", jobs: [.init(id: job.id, attempt: 1, state: .running)]))
        let drained = try await plane.setNode("n", action: "drain")
        #expect(drained.cordoned && drained.draining && drained.jobs == [job.id.rawValue])
        let blocked = try await plane.submit(submission())
        await settle(plane)
        #expect(try await plane.job(blocked.id).job.reason == "no node is schedulable (all cordoned or down)")
        _ = try await plane.report(AgentReport(node: "n", jobs: [.init(id: job.id, attempt: 1, state: .exited, exitCode: 0)]))
        await plane.tick()
        #expect(await plane.node("n")?.draining == false)
        _ = try await plane.setNode("n", action: "uncordon")
        await settle(plane)
        #expect(try await store.job(blocked.id)?.state == .scheduled)
        await #expect(throws: APIError.self) { try await plane.setNode("n", action: "explode") }
        await #expect(throws: APIError.self) { try await plane.setNode("ghost", action: "cordon") }
    }

    @Test func aWaitingJobHasAQueuePositionAndAnEstimatedStart() async throws {
        let store: any AllotStore = MemoryStore()
        let clock = ManualClock()
        let plane = try await makePlane(store, clock)
        _ = try await plane.report(AgentReport(node: "n", inventory: inventory("n", cpu: 2)))
        var long = submission(cpu: 2)
        long.task.estimateSeconds = 600
        let running = try await plane.submit(long)
        await settle(plane)
        _ = try await plane.report(AgentReport(node: "n", jobs: [.init(id: running.id, attempt: 1, state: .running)]))
        let first = try await plane.submit(submission(cpu: 2))
        let second = try await plane.submit(submission(cpu: 1))
        await settle(plane)
        let view = try await plane.job(first.id)
        #expect(view.queuePosition == 1)
        #expect(view.estimatedStartAt == clock.now + 600)
        #expect(try await plane.job(second.id).queuePosition == 2)
    }
}
