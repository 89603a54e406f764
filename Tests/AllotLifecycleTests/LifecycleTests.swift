import AllotAPI
import AllotCore
import AllotLifecycle
import AllotStore
import Testing

/// The lifecycle's exact actions for each transition: what is written, announced, woken and scheduled.
struct LifecycleTests {
    static let settings = Lifecycle.Settings(gracePeriodSeconds: 10, scanIntervalSeconds: 1)

    func makeLifecycle() throws -> Lifecycle {
        let configuration = SchedulerConfiguration(strategy: FirstFit(), policy: PriorityPolicy(), headroom: 0, scanIntervalSeconds: 1)
        return Lifecycle(settings: Self.settings, scheduler: try Scheduler(configuration: configuration))
    }

    func inventory(_ name: String, cpu: Int = 4, gpus: Int = 0) -> NodeInventory {
        NodeInventory(
            name: name,
            cpu: NodeInventory.CPU(model: "test", logicalCores: cpu),
            memoryBytes: 8 << 30,
            gpus: (0..<gpus).map {
                NodeInventory.GPU(index: $0, uuid: "GPU-\(name)-\($0)", name: "NVIDIA A100-SXM4-80GB", memoryTotalBytes: 80 << 30)
            }
        )
    }

    func job(
        _ number: Int64,
        cpu: Double = 1,
        gpus: Int = 0,
        gang: Int = 1,
        priority: Int = 0,
        preemptible: Bool = false,
        maxAttempts: Int = 3
    )
        -> Job
    {
        var task = TaskSpec(
            id: TaskID("job-\(number)"),
            priority: priority,
            requests: ResourceRequest(resources: ResourceVector(cpuMillis: Int64(cpu * 1000)), gpus: gpus)
        )
        task.gang = gang
        task.preemptible = preemptible
        return Job(id: JobID(sequence: number), task: task, command: ["true"], maxAttempts: maxAttempts, sequence: number, submittedAt: 0)
    }

    /// The writer takes what is queued and commits it.
    func commit(_ lifecycle: inout Lifecycle) -> [LifecycleAction] {
        let take = lifecycle.batchTaken()
        return lifecycle.committed(take: take)
    }

    func join(_ lifecycle: inout Lifecycle, _ name: String, cpu: Int = 4, gpus: Int = 0, at time: Double = 0) throws -> NodeStatus {
        let (node, _) = try lifecycle.nodeJoined(name, inventory: inventory(name, cpu: cpu, gpus: gpus), usage: nil, now: time)
        _ = commit(&lifecycle)
        return node
    }

    func cpu(_ node: String, _ cores: Int64 = 1) -> ReplicaPlacement {
        ReplicaPlacement(node: NodeID(node), gpuIndices: [], cpuMillis: cores * 1000, memoryBytes: 0)
    }

    func bound(_ job: Job, _ placements: [ReplicaPlacement], at time: Double) -> (Job, JobAttempt) {
        var bound = job
        bound.state = .scheduled
        bound.placements = placements
        bound.attempt += 1
        bound.scheduledAt = time
        bound.reason = nil
        let attempt = JobAttempt(
            job: job.id,
            number: bound.attempt,
            nodes: placements.map(\.node.rawValue),
            startedAt: time,
            tenant: job.tenant,
            allocatedAt: time,
            placements: placements
        )
        return (bound, attempt)
    }

    func ended(_ job: Job, _ outcome: AttemptOutcome, at time: Double, exitCode: Int32? = nil) -> JobAttempt {
        JobAttempt(
            job: job.id,
            number: job.attempt,
            nodes: (job.placements ?? []).map(\.node.rawValue),
            startedAt: job.startedAt ?? job.scheduledAt ?? time,
            endedAt: time,
            outcome: outcome,
            exitCode: exitCode,
            tenant: job.tenant,
            allocatedAt: job.scheduledAt,
            placements: job.placements
        )
    }

    /// Accepts, binds and commits a job, and has its agent report it running.
    func running(_ lifecycle: inout Lifecycle, _ job: Job, at time: Double) throws -> Job {
        _ = lifecycle.accepted(job, now: time)
        guard case .persist(let batch) = lifecycle.cycle(now: time).first, let scheduled = batch.updateJobs.first(where: { $0.id == job.id }) else {
            Issue.record("\(job.id) was not bound")
            return job
        }
        _ = commit(&lifecycle)
        _ = try lifecycle.reported(
            [.init(id: job.id, attempt: scheduled.attempt, state: .running)],
            node: scheduled.placements![0].node.rawValue,
            now: time
        )
        _ = commit(&lifecycle)
        return lifecycle.active[job.id]!
    }

    // MARK: - The happy path

    @Test func aJobIsDispatchedOnlyOnceItsBindingCommitsThenRunsAndSucceeds() throws {
        var lifecycle = try makeLifecycle()
        let (node, joined) = try lifecycle.nodeJoined("n1", inventory: inventory("n1"), usage: nil, now: 0)
        #expect(node == NodeStatus(name: "n1", inventory: inventory("n1"), joinedAt: 0, lastHeartbeatAt: 0))
        #expect(joined == [.persist(WriteBatch(nodes: [node])), .publishNode(node), .schedule])
        #expect(commit(&lifecycle) == [])

        let submitted = job(1)
        let accepted = lifecycle.accepted(submitted, now: 1)
        #expect(accepted.job == submitted && accepted.actions == [.publishJob(submitted), .schedule])

        let (scheduled, attempt) = bound(submitted, [cpu("n1")], at: 2)
        #expect(lifecycle.cycle(now: 2) == [.persist(WriteBatch(updateJobs: [scheduled], attempts: [attempt])), .publishJob(scheduled)])
        #expect(lifecycle.assignedJobs(on: "n1").isEmpty)
        #expect(commit(&lifecycle) == [.wake(["n1"])])
        #expect(lifecycle.assignedJobs(on: "n1") == [scheduled])

        var started = scheduled
        started.state = .running
        started.startedAt = 3
        let runningActions = try lifecycle.reported([.init(id: "job-1", attempt: 1, state: .running)], node: "n1", now: 3)
        #expect(runningActions == [.persist(WriteBatch(updateJobs: [started])), .publishJob(started)])
        #expect(commit(&lifecycle) == [.wake(["n1"])])
        // A running status for a running job changes nothing.
        #expect(try lifecycle.reported([.init(id: "job-1", attempt: 1, state: .running)], node: "n1", now: 3.5) == [])

        var done = started
        done.state = .succeeded
        done.exitCode = 0
        done.finishedAt = 4
        let exit = try lifecycle.reported([.init(id: "job-1", attempt: 1, state: .exited, exitCode: 0)], node: "n1", now: 4)
        #expect(
            exit == [
                .persist(WriteBatch(updateJobs: [done], attempts: [ended(started, .succeeded, at: 4, exitCode: 0)])), .publishJob(done), .schedule,
            ]
        )
        #expect(lifecycle.active["job-1"] == nil)
        // Until the exit commits, the agent is still shown the job (it will not start it again).
        #expect(lifecycle.assignedJobs(on: "n1") == [started])
        #expect(commit(&lifecycle) == [.wake(["n1"])])
        #expect(lifecycle.assignedJobs(on: "n1").isEmpty)
    }

    @Test func aJobStagesItsInputsThenRunsAndACancelWhileStagingEndsItAtOnce() throws {
        var lifecycle = try makeLifecycle()
        _ = try lifecycle.nodeJoined("n1", inventory: inventory("n1"), usage: nil, now: 0)
        _ = commit(&lifecycle)
        var submitted = job(1)
        submitted.inputs = [JobInput(url: "s3://lake/clips/", bytes: 100)]
        _ = lifecycle.accepted(submitted, now: 1)
        _ = lifecycle.cycle(now: 2)
        _ = commit(&lifecycle)
        func staging(_ done: Int64) -> AgentReport.JobStatus {
            var status = AgentReport.JobStatus(id: "job-1", attempt: 1, state: .staging)
            (status.stagedBytes, status.stagingBytes) = (done, 100)
            return status
        }
        // The first progress makes it `staging`; the same progress again writes nothing; more does.
        let first = try lifecycle.reported([staging(10)], node: "n1", now: 3)
        var expected = lifecycle.active["job-1"]!
        #expect(expected.state == .staging && expected.staging == StagingProgress(bytesDone: 10, bytes: 100))
        #expect(first == [.persist(WriteBatch(updateJobs: [expected])), .publishJob(expected)])
        _ = commit(&lifecycle)
        #expect(try lifecycle.reported([staging(10)], node: "n1", now: 3.5) == [])
        _ = try lifecycle.reported([staging(100)], node: "n1", now: 4)
        _ = commit(&lifecycle)
        // Still the node's to run while it stages.
        #expect(lifecycle.assignedJobs(on: "n1").map(\.state) == [.staging])
        _ = try lifecycle.reported([.init(id: "job-1", attempt: 1, state: .running)], node: "n1", now: 5)
        expected = lifecycle.active["job-1"]!
        #expect(expected.state == .running && expected.startedAt == 5 && expected.staging?.bytesDone == 100)
        _ = commit(&lifecycle)

        // A second job cancelled while it stages ends at once: nothing of it runs yet.
        var second = job(2)
        second.inputs = [JobInput(url: "gs://lake/weights")]
        _ = lifecycle.accepted(second, now: 6)
        _ = lifecycle.cycle(now: 6)
        _ = commit(&lifecycle)
        var status = AgentReport.JobStatus(id: "job-2", attempt: 1, state: .staging)
        status.stagedBytes = 0
        _ = try lifecycle.reported([status], node: "n1", now: 7)
        _ = commit(&lifecycle)
        let cancelled = try #require(try lifecycle.cancel("job-2", now: 8))
        #expect(cancelled.job.state == .cancelled && lifecycle.active["job-2"] == nil)
    }

    // MARK: - Retries

    @Test func aJobIsRetriedOnAnotherNodeUntilMaxAttemptsThenLost() throws {
        var lifecycle = try makeLifecycle()
        _ = try join(&lifecycle, "n1", cpu: 1)
        let first = try running(&lifecycle, job(1, maxAttempts: 2), at: 0)
        let n2 = try join(&lifecycle, "n2", cpu: 1, at: 2)

        // n1 silent for more than three scan intervals (n2 reported at 2): down, the job requeued.
        var down = lifecycle.nodes["n1"]!
        down.state = .down
        var requeued = first
        requeued.state = .pending
        requeued.placements = nil
        requeued.startedAt = nil
        requeued.retries = 1
        requeued.reason = "node down: n1; requeued (retry 1 of 1)"
        #expect(
            lifecycle.tick(now: 3.5) == [
                .persist(WriteBatch(updateJobs: [requeued], attempts: [ended(first, .lost, at: 3.5)], nodes: [down])), .publishJob(requeued),
                .publishNode(down), .schedule,
            ]
        )
        _ = commit(&lifecycle)
        #expect(lifecycle.scheduled == ["n2"])

        let (again, attempt) = bound(requeued, [cpu("n2")], at: 4)
        #expect(lifecycle.cycle(now: 4) == [.persist(WriteBatch(updateJobs: [again], attempts: [attempt])), .publishJob(again)])
        #expect(again.attempt == 2)
        _ = commit(&lifecycle)

        // n2 silent too: no attempts left.
        var lost = again
        lost.state = .lost
        lost.placements = nil
        lost.finishedAt = 6
        lost.reason = "node down: n2; no attempts left (2)"
        var n2Down = n2
        n2Down.state = .down
        #expect(
            lifecycle.tick(now: 6) == [
                .persist(WriteBatch(updateJobs: [lost], attempts: [ended(again, .lost, at: 6)], nodes: [n2Down])), .publishJob(lost),
                .publishNode(n2Down), .schedule,
            ]
        )
        #expect(lifecycle.active.isEmpty)
    }

    // MARK: - Partitions

    @Test func aJobThatWaitsOutAPartitionKeepsItsNodeAndFinishesThereWhenTheNodeReturns() throws {
        var lifecycle = try makeLifecycle()
        _ = try join(&lifecycle, "n1", cpu: 2)
        _ = try join(&lifecycle, "n2", cpu: 2)
        var waiting = job(1)
        waiting.onDisconnect = .wait(seconds: 10)
        let held = try running(&lifecycle, waiting, at: 0)
        let other = try running(&lifecycle, job(2), at: 0)
        #expect(held.placements == [cpu("n1")] && other.placements == [cpu("n1")])

        // n1 silent past three scan intervals (n2 still reports): down; job 2 requeued now, job 1 left alone.
        lifecycle.heartbeat("n2", usage: nil, now: 3)
        var down = lifecycle.nodes["n1"]!
        down.state = .down
        var requeued = other
        requeued.state = .pending
        requeued.placements = nil
        requeued.startedAt = nil
        requeued.retries = 1
        requeued.reason = "node down: n1; requeued (retry 1 of 2)"
        #expect(
            lifecycle.tick(now: 3.5) == [
                .persist(WriteBatch(updateJobs: [requeued], attempts: [ended(other, .lost, at: 3.5)], nodes: [down])), .publishJob(requeued),
                .publishNode(down), .schedule,
            ]
        )
        _ = commit(&lifecycle)
        #expect(lifecycle.disconnected == ["n1": 3.5] && lifecycle.scheduled == ["n2"])
        #expect(lifecycle.active[held.id] == held && lifecycle.assignedJobs(on: "n1") == [held])
        // The node is held but takes no new work: job 2 goes to n2.
        let (again, attempt) = bound(requeued, [cpu("n2")], at: 4)
        #expect(lifecycle.cycle(now: 4) == [.persist(WriteBatch(updateJobs: [again], attempts: [attempt])), .publishJob(again)])
        _ = commit(&lifecycle)
        lifecycle.heartbeat("n2", usage: nil, now: 6)
        #expect(lifecycle.tick(now: 6.5) == [])

        // Back within the wait: ready again, the job untouched, its exit taken.
        let (back, _) = try lifecycle.nodeJoined("n1", inventory: inventory("n1", cpu: 2), usage: nil, now: 8)
        #expect(back.state == .ready && lifecycle.disconnected.isEmpty && lifecycle.scheduled == ["n1", "n2"])
        _ = commit(&lifecycle)
        #expect(lifecycle.active[held.id] == held)
        _ = try lifecycle.reported([.init(id: held.id, attempt: 1, state: .exited, exitCode: 0)], node: "n1", now: 9)
        #expect(lifecycle.active[held.id] == nil)
        // And it takes new work again.
        _ = lifecycle.accepted(job(3, cpu: 2), now: 10)
        guard case .persist(let batch) = lifecycle.cycle(now: 10).first else {
            Issue.record("job 3 was not bound")
            return
        }
        #expect(batch.updateJobs.first?.placements == [cpu("n1", 2)])
    }

    @Test func aJobWhoseWaitRunsOutIsRequeuedAndItsSilentNodeLetGo() throws {
        var lifecycle = try makeLifecycle()
        _ = try join(&lifecycle, "n1", cpu: 1)
        var waiting = job(1)
        waiting.onDisconnect = .wait(seconds: 5)
        let held = try running(&lifecycle, waiting, at: 0)
        _ = lifecycle.tick(now: 3.5)
        _ = commit(&lifecycle)
        #expect(lifecycle.disconnected == ["n1": 3.5] && lifecycle.active[held.id] == held)
        #expect(lifecycle.tick(now: 8) == [])
        var requeued = held
        requeued.state = .pending
        requeued.placements = nil
        requeued.startedAt = nil
        requeued.retries = 1
        requeued.reason = "node n1 silent past the job's wait=5s; requeued (retry 1 of 2)"
        #expect(
            lifecycle.tick(now: 8.5) == [
                .persist(WriteBatch(updateJobs: [requeued], attempts: [ended(held, .lost, at: 8.5)])), .publishJob(requeued), .schedule,
            ]
        )
        _ = commit(&lifecycle)
        #expect(lifecycle.disconnected.isEmpty)
        // Let go: the node returns as a new one, and the attempt it still runs is no longer its to run.
        let (back, _) = try lifecycle.nodeJoined("n1", inventory: inventory("n1", cpu: 1), usage: nil, now: 9)
        #expect(back.state == .ready && lifecycle.scheduled == ["n1"])
        _ = commit(&lifecycle)
        #expect(lifecycle.assignedJobs(on: "n1").isEmpty)
        // A report of the old attempt's exit changes nothing; the job runs again as attempt 2.
        #expect(try lifecycle.reported([.init(id: held.id, attempt: 1, state: .exited, exitCode: 0)], node: "n1", now: 9.5) == [])
        _ = lifecycle.cycle(now: 10)
        _ = commit(&lifecycle)
        #expect(lifecycle.assignedJobs(on: "n1").map(\.attempt) == [2])
    }

    /// n1 (one core) runs `job` until it goes silent: down at 3.5, the job requeued (nowhere else to go), n1 back at 5.
    func lostAndBack(_ lifecycle: inout Lifecycle, _ job: Job) throws -> Job {
        _ = try join(&lifecycle, "n1", cpu: 1)
        let first = try running(&lifecycle, job, at: 0)
        _ = lifecycle.tick(now: 3.5)
        _ = commit(&lifecycle)
        #expect(lifecycle.active[first.id]?.state == .pending && lifecycle.lostAttempts[first.id]?.number == 1)
        _ = try lifecycle.nodeJoined("n1", inventory: inventory("n1", cpu: 1), usage: nil, now: 5)
        _ = commit(&lifecycle)
        return first
    }

    func exited(_ job: Job, code: Int32, byItself: Bool?) -> AgentReport.JobStatus {
        var status = AgentReport.JobStatus(id: job.id, attempt: job.attempt, state: .exited, exitCode: code)
        status.endedByItself = byItself
        return status
    }

    @Test func aReturningNodesOwnExitOfAnAttemptGivenUpOnEndsTheJobInsteadOfRunningItAgain() throws {
        var lifecycle = try makeLifecycle()
        let first = try lostAndBack(&lifecycle, job(1))
        var done = first
        done.state = .succeeded
        done.exitCode = 0
        done.finishedAt = 6
        #expect(
            try lifecycle.reported([exited(first, code: 0, byItself: true)], node: "n1", now: 6) == [
                .persist(WriteBatch(updateJobs: [done], attempts: [ended(first, .succeeded, at: 3.5, exitCode: 0)])), .publishJob(done), .schedule,
            ]
        )
        #expect(lifecycle.active.isEmpty && lifecycle.lostAttempts.isEmpty)
        #expect(lifecycle.cycle(now: 6) == [])
    }

    @Test(arguments: [false, nil]) func anExitAStopCausedOrAnOlderAgentSentIsNotTakenAndTheJobRunsAgain(byItself: Bool?) throws {
        var lifecycle = try makeLifecycle()
        let first = try lostAndBack(&lifecycle, job(1))
        #expect(try lifecycle.reported([exited(first, code: 143, byItself: byItself)], node: "n1", now: 6) == [])
        _ = lifecycle.cycle(now: 6)
        _ = commit(&lifecycle)
        #expect(lifecycle.assignedJobs(on: "n1").map(\.attempt) == [2] && lifecycle.lostAttempts.isEmpty)
    }

    @Test func aReturningNodesStillRunningAttemptIsTakenBackWhereItRuns() throws {
        var lifecycle = try makeLifecycle()
        let first = try lostAndBack(&lifecycle, job(1))
        var reopened = ended(first, .lost, at: 3.5)
        reopened.endedAt = nil
        reopened.outcome = nil
        #expect(
            try lifecycle.reported([.init(id: first.id, attempt: 1, state: .running)], node: "n1", now: 6) == [
                .persist(WriteBatch(updateJobs: [first], attempts: [reopened])), .publishJob(first),
            ]
        )
        _ = commit(&lifecycle)
        // Nothing to place: it holds its core again, and its exit ends it as if the node had never gone.
        #expect(lifecycle.cycle(now: 6) == [] && lifecycle.assignedJobs(on: "n1") == [first])
        _ = try lifecycle.reported([exited(first, code: 0, byItself: true)], node: "n1", now: 7)
        #expect(lifecycle.active.isEmpty)
    }

    @Test func anAttemptPlacedAgainElsewhereIsNotTakenBack() throws {
        var lifecycle = try makeLifecycle()
        _ = try join(&lifecycle, "n1", cpu: 1)
        let first = try running(&lifecycle, job(1), at: 0)
        _ = try join(&lifecycle, "n2", cpu: 1, at: 2)
        _ = lifecycle.tick(now: 3.5)
        _ = commit(&lifecycle)
        _ = lifecycle.cycle(now: 4)
        _ = commit(&lifecycle)
        #expect(lifecycle.assignedJobs(on: "n2").map(\.attempt) == [2] && lifecycle.lostAttempts.isEmpty)
        _ = try lifecycle.nodeJoined("n1", inventory: inventory("n1", cpu: 1), usage: nil, now: 5)
        _ = commit(&lifecycle)
        #expect(try lifecycle.reported([.init(id: first.id, attempt: 1, state: .running)], node: "n1", now: 6) == [])
        #expect(try lifecycle.reported([exited(first, code: 0, byItself: true)], node: "n1", now: 6) == [])
        #expect(lifecycle.assignedJobs(on: "n1").isEmpty && lifecycle.active[first.id]?.state == .scheduled)
    }

    @Test func theDisconnectPolicyReadsRequeueOrAWaitOfAtMostAWeek() throws {
        #expect(try DisconnectPolicy(parsing: "requeue") == .requeue)
        #expect(try DisconnectPolicy(parsing: "wait=10m") == .wait(seconds: 600))
        #expect(try DisconnectPolicy(parsing: "wait=90") == .wait(seconds: 90))
        #expect(DisconnectPolicy.wait(seconds: 600).description == "wait=10m")
        for bad in ["wait", "wait=0", "wait=8d", "wait=soon", "stay"] {
            #expect(throws: InputError.self, "\(bad)") { try DisconnectPolicy(parsing: bad) }
        }
        let submission = try JobSubmission.decode(.object(["command": .array([.string("true")]), "onDisconnect": .string("wait=2h")]))
        #expect(submission.onDisconnect == .wait(seconds: 7200))
    }

    @Test func aLostNodeThatReturnsIsReadyAgain() throws {
        var lifecycle = try makeLifecycle()
        _ = try join(&lifecycle, "n1")
        _ = lifecycle.tick(now: 5)
        _ = commit(&lifecycle)
        #expect(lifecycle.nodes["n1"]?.state == .down && lifecycle.scheduled.isEmpty)
        let (back, actions) = try lifecycle.nodeJoined("n1", inventory: inventory("n1"), usage: nil, now: 6)
        #expect(back.state == .ready && back.joinedAt == 0 && back.lastHeartbeatAt == 6)
        #expect(actions == [.persist(WriteBatch(nodes: [back])), .publishNode(back), .schedule])
        #expect(lifecycle.scheduled == ["n1"])
    }

    // MARK: - Gangs

    @Test func aGangSucceedsWhenEveryReplicaHasExitedAndFailsAtTheFirstFailure() throws {
        var lifecycle = try makeLifecycle()
        _ = try join(&lifecycle, "n1", cpu: 1)
        _ = try join(&lifecycle, "n2", cpu: 1)
        let gang = try running(&lifecycle, job(1, gang: 2), at: 0)
        #expect(gang.placements?.map(\.node.rawValue) == ["n1", "n2"])
        #expect(try lifecycle.reported([.init(id: "job-1", attempt: 1, replica: 0, state: .exited, exitCode: 0)], node: "n1", now: 1) == [])
        var done = gang
        done.state = .succeeded
        done.exitCode = 0
        done.finishedAt = 2
        #expect(
            try lifecycle.reported([.init(id: "job-1", attempt: 1, replica: 1, state: .exited, exitCode: 0)], node: "n2", now: 2) == [
                .persist(WriteBatch(updateJobs: [done], attempts: [ended(gang, .succeeded, at: 2, exitCode: 0)])), .publishJob(done), .schedule,
            ]
        )
        _ = commit(&lifecycle)

        let second = try running(&lifecycle, job(2, gang: 2), at: 3)
        var failed = second
        failed.state = .failed
        failed.exitCode = 3
        failed.finishedAt = 4
        failed.reason = "exit code 3"
        // A status from the wrong node is ignored; the failing replica ends the job at once.
        #expect(try lifecycle.reported([.init(id: "job-2", attempt: 1, replica: 1, state: .exited, exitCode: 3)], node: "n1", now: 4) == [])
        #expect(
            try lifecycle.reported([.init(id: "job-2", attempt: 1, replica: 1, state: .exited, exitCode: 3)], node: "n2", now: 4) == [
                .persist(WriteBatch(updateJobs: [failed], attempts: [ended(second, .failed, at: 4, exitCode: 3)])), .publishJob(failed), .schedule,
            ]
        )
        // Both nodes' agents are woken: replica 0 on n1 must stop.
        #expect(commit(&lifecycle) == [.wake(["n1", "n2"])])
        #expect(lifecycle.assignedJobs(on: "n1").isEmpty)
    }

    // MARK: - Preemption

    @Test func aPreemptorWaitsForItsVictimToVacateOrForTheGracePeriod() throws {
        for path in ["exit", "deadline"] {
            var lifecycle = try makeLifecycle()
            _ = try join(&lifecycle, "n1", gpus: 1)
            let low = try running(&lifecycle, job(1, cpu: 0, gpus: 1, priority: 1, preemptible: true), at: 0)
            let high = job(2, cpu: 0, gpus: 1, priority: 9)
            _ = lifecycle.accepted(high, now: 1)
            var evicted = low
            evicted.state = .pending
            evicted.placements = nil
            evicted.startedAt = nil
            evicted.reason = "preempted by job-2"
            let (bound, attempt) = bound(high, [ReplicaPlacement(node: "n1", gpuIndices: [0], cpuMillis: 0, memoryBytes: 0)], at: 1)
            #expect(
                lifecycle.cycle(now: 1) == [
                    .persist(WriteBatch(updateJobs: [evicted, bound], attempts: [ended(low, .preempted, at: 1), attempt])),
                    .publishJob(evicted), .publishJob(bound),
                ]
            )
            #expect(lifecycle.vacating["n1"] == [Lifecycle.Vacating(job: "job-1", attempt: 1, forJob: "job-2", deadline: 1 + 10 + 2)])
            #expect(commit(&lifecycle) == [.wake(["n1"])])
            // The victim is told to stop; the preemptor is held back.
            #expect(lifecycle.assignedJobs(on: "n1").isEmpty)
            if path == "exit" {
                #expect(
                    try lifecycle.reported([.init(id: "job-1", attempt: 1, state: .exited, exitCode: 143)], node: "n1", now: 3) == [.wake(["n1"])]
                )
            } else {
                lifecycle.heartbeat("n1", usage: nil, now: 12)
                #expect(lifecycle.tick(now: 12.5) == [])
                lifecycle.heartbeat("n1", usage: nil, now: 13)
                #expect(lifecycle.tick(now: 13.5) == [.wake(["n1"])])
            }
            #expect(lifecycle.assignedJobs(on: "n1") == [bound])
        }
    }

    @Test func underLeastAttainedServiceATickRunsTheCycleThatDemotesAndPreemptsWithGrace() throws {
        let levels = try AttainedServiceLevels(thresholds: [60])
        let configuration = SchedulerConfiguration(
            strategy: FirstFit(),
            policy: LeastAttainedServicePolicy(levels: levels),
            headroom: 0,
            scanIntervalSeconds: 1
        )
        var lifecycle = Lifecycle(settings: Self.settings, scheduler: try Scheduler(configuration: configuration))
        _ = try join(&lifecycle, "n1", gpus: 1)
        let old = try running(&lifecycle, job(1, cpu: 0, gpus: 1, preemptible: true), at: 0)
        _ = lifecycle.accepted(job(2, cpu: 0, gpus: 1, preemptible: true), now: 10)
        // Both at the top level: nothing moves, and nothing is due before job-1 has had 60 GPU-seconds.
        #expect(lifecycle.cycle(now: 10).isEmpty)
        _ = commit(&lifecycle)
        lifecycle.heartbeat("n1", usage: nil, now: 59)
        #expect(lifecycle.tick(now: 59) == [])
        lifecycle.heartbeat("n1", usage: nil, now: 61)
        #expect(lifecycle.tick(now: 61) == [.schedule])
        let actions = lifecycle.cycle(now: 61)
        guard case .persist(let batch) = actions.first else {
            Issue.record("the cycle wrote nothing: \(actions)")
            return
        }
        #expect(batch.attempts.first == ended(old, .preempted, at: 61))
        #expect(batch.updateJobs.map(\.id) == ["job-1", "job-2"])
        #expect(batch.updateJobs.first?.reason == "preempted by job-2")
        #expect(lifecycle.vacating["n1"] == [Lifecycle.Vacating(job: "job-1", attempt: 1, forJob: "job-2", deadline: 61 + 10 + 2)])
        #expect(lifecycle.scheduler.attainedService("job-1", now: 100) == 61, "service stops when the job is preempted")
    }

    // MARK: - Drain and cancel

    @Test func aDrainingNodeIsDrainedWhenItsLastJobEnds() throws {
        var lifecycle = try makeLifecycle()
        _ = try join(&lifecycle, "n1")
        let job = try running(&lifecycle, job(1), at: 0)
        var draining = lifecycle.nodes["n1"]!
        draining.cordoned = true
        draining.draining = true
        let drain = try lifecycle.setNode("n1", .drain)
        #expect(drain.node == draining && drain.actions == [.persist(WriteBatch(nodes: [draining])), .publishNode(draining)])
        _ = commit(&lifecycle)
        lifecycle.heartbeat("n1", usage: nil, now: 1)
        #expect(lifecycle.tick(now: 1) == [])
        _ = try lifecycle.reported([.init(id: job.id, attempt: 1, state: .exited, exitCode: 0)], node: "n1", now: 2)
        _ = commit(&lifecycle)
        var drained = draining
        drained.draining = false
        drained.lastHeartbeatAt = 1
        #expect(lifecycle.tick(now: 2) == [.persist(WriteBatch(nodes: [drained])), .publishNode(drained), .schedule])
        #expect(throws: LifecycleError(.notFound, "node ghost not found")) { try lifecycle.setNode("ghost", .cordon) }
    }

    @Test func cancelInEachState() throws {
        var lifecycle = try makeLifecycle()
        _ = try join(&lifecycle, "n1", cpu: 2)
        // Pending (it fits nowhere while n1 is cordoned): cancelled at once, no attempt.
        _ = try lifecycle.setNode("n1", .cordon)
        _ = commit(&lifecycle)
        let pending = job(1)
        _ = lifecycle.accepted(pending, now: 0)
        var cancelled = pending
        cancelled.state = .cancelled
        cancelled.finishedAt = 1
        cancelled.reason = "cancelled"
        let first = try #require(try lifecycle.cancel("job-1", now: 1))
        #expect(first.job == cancelled && first.actions == [.persist(WriteBatch(updateJobs: [cancelled])), .publishJob(cancelled), .schedule])
        _ = commit(&lifecycle)
        _ = try lifecycle.setNode("n1", .uncordon)
        _ = commit(&lifecycle)

        // Scheduled, not yet started: cancelled at once, its attempt ended.
        _ = lifecycle.accepted(job(2), now: 2)
        _ = lifecycle.cycle(now: 2)
        _ = commit(&lifecycle)
        let scheduled = lifecycle.active["job-2"]!
        var second = scheduled
        second.state = .cancelled
        second.finishedAt = 3
        second.reason = "cancelled"
        let cancel2 = try #require(try lifecycle.cancel("job-2", now: 3))
        #expect(
            cancel2.actions == [
                .persist(WriteBatch(updateJobs: [second], attempts: [ended(scheduled, .cancelled, at: 3)])), .publishJob(second), .schedule,
            ]
        )
        _ = commit(&lifecycle)

        // Running: its agent stops it; the job ends when the exit comes, as cancelled.
        let started = try running(&lifecycle, job(3), at: 4)
        var requested = started
        requested.cancelRequestedAt = 5
        requested.reason = "cancel requested"
        let cancel3 = try #require(try lifecycle.cancel("job-3", now: 5))
        #expect(cancel3.actions == [.persist(WriteBatch(updateJobs: [requested])), .publishJob(requested)])
        #expect(lifecycle.assignedJobs(on: "n1") == [started])
        #expect(commit(&lifecycle) == [.wake(["n1"])])
        #expect(lifecycle.assignedJobs(on: "n1").isEmpty)
        var stopped = requested
        stopped.state = .cancelled
        stopped.exitCode = 143
        stopped.finishedAt = 6
        stopped.reason = "cancelled"
        #expect(
            try lifecycle.reported([.init(id: "job-3", attempt: 1, state: .exited, exitCode: 143)], node: "n1", now: 6) == [
                .persist(WriteBatch(updateJobs: [stopped], attempts: [ended(requested, .cancelled, at: 6, exitCode: 143)])), .publishJob(stopped),
                .schedule,
            ]
        )
        // A finished job is not active: nothing to cancel.
        #expect(try lifecycle.cancel("job-3", now: 7) == nil)
    }

    // MARK: - Commit failures

    /// A commit fails with a change in flight in each state: the lifecycle asks for a reload and refuses every
    /// change until the store takes writes; agents keep seeing what is on disk; restored from the store, it
    /// picks up where the disk is.
    @Test(arguments: ["bind", "start", "exit", "cancel", "join"])
    func aFailedCommitRefusesChangesUntilTheStoreIsBack(inFlight: String) throws {
        var lifecycle = try makeLifecycle()
        _ = try join(&lifecycle, "n1", cpu: 2)
        var durable: [Job] = []
        switch inFlight {
        case "bind":
            _ = lifecycle.accepted(job(1), now: 0)
            durable = [lifecycle.active["job-1"]!]
            _ = lifecycle.cycle(now: 0)
        case "start":
            _ = lifecycle.accepted(job(1), now: 0)
            _ = lifecycle.cycle(now: 0)
            _ = commit(&lifecycle)
            durable = [lifecycle.active["job-1"]!]
            _ = try lifecycle.reported([.init(id: "job-1", attempt: 1, state: .running)], node: "n1", now: 1)
        case "exit", "cancel":
            durable = [try running(&lifecycle, job(1), at: 0)]
            if inFlight == "exit" {
                _ = try lifecycle.reported([.init(id: "job-1", attempt: 1, state: .exited, exitCode: 0)], node: "n1", now: 1)
            } else {
                _ = try lifecycle.cancel("job-1", now: 1)
            }
        default:
            _ = try lifecycle.nodeJoined("n2", inventory: inventory("n2"), usage: nil, now: 1)
        }
        let shown = lifecycle.assignedJobs(on: "n1")
        #expect(shown == durable.filter { $0.state != .pending })
        _ = lifecycle.batchTaken()
        #expect(lifecycle.commitFailed() == [.reload])
        #expect(!lifecycle.acceptsChanges)
        #expect(lifecycle.assignedJobs(on: "n1") == shown)

        // Every change is refused; heartbeats and running statuses of running jobs are not changes.
        #expect(throws: LifecycleError.self) { try lifecycle.cancel("job-1", now: 2) }
        #expect(throws: LifecycleError.self) { try lifecycle.setNode("n1", .cordon) }
        #expect(throws: LifecycleError.self) { try lifecycle.nodeJoined("n3", inventory: inventory("n3"), usage: nil, now: 2) }
        #expect(throws: LifecycleError.self) {
            try lifecycle.reported([.init(id: "job-1", attempt: 1, state: .exited, exitCode: 0)], node: "n1", now: 2)
        }
        lifecycle.heartbeat("n1", usage: nil, now: 2)
        #expect(lifecycle.cycle(now: 2) == [])
        #expect(lifecycle.tick(now: 10) == [])
        #expect(lifecycle.nodes["n1"]?.state == .ready)

        // Reloaded from what is on disk, still refusing, then back.
        let configuration = SchedulerConfiguration(strategy: FirstFit(), policy: PriorityPolicy(), headroom: 0, scanIntervalSeconds: 1)
        let stored = StoredLifecycle(nodes: [lifecycle.nodes["n1"]!], jobs: durable, openBilling: [])
        let (restored, repairs) = Lifecycle.restore(
            stored,
            settings: Self.settings,
            scheduler: try Scheduler(configuration: configuration),
            now: 10,
            reviveNodes: false,
            previous: lifecycle
        )
        var reloaded = restored
        #expect(repairs.isEmpty)
        #expect(!reloaded.acceptsChanges)
        #expect(reloaded.active == Dictionary(uniqueKeysWithValues: durable.map { ($0.id, $0) }))
        #expect(reloaded.assignedJobs(on: "n1") == shown)
        #expect(reloaded.nodes["n1"]?.lastHeartbeatAt == 2)
        #expect(reloaded.storeRecovered() == [.schedule, .wake(["n1"])])
        // The change is made again, now that it can be written.
        #expect(reloaded.acceptsChanges)
        if inFlight == "bind" { #expect(reloaded.cycle(now: 11).count == 2) }
    }
}
