import AllotAPI
import AllotCore
import AllotStore
import AllotStorePostgres
import AllotStoreSQLite
import AllotTestSupport
import Foundation
import Testing

/// The stores under test; every conformance test runs against each.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case sqlite
    /// A fresh database on the test process's throwaway PostgreSQL server.
    case postgres

    var testDescription: String { rawValue }

    func make() async throws -> any AllotStore {
        switch self {
        case .memory: return MemoryStore()
        case .sqlite: return try SQLiteStore(path: temporaryDatabase())
        case .postgres: return try await PostgresTestDatabase.open()
        }
    }
}

func temporaryDatabase() -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-store-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory.appendingPathComponent("allot.sqlite").path
}

func job(_ id: String, sequence: Int64, tenant: String = "default", state: JobState = .pending) -> Job {
    var job = Job(
        id: JobID(id),
        task: TaskSpec(id: TaskID(id), tenant: TenantID(tenant), requests: ResourceRequest(resources: ResourceVector(cpuMillis: 500)), gang: 1),
        command: ["sh", "-c", "echo \(id)"],
        sequence: sequence,
        submittedAt: 1_700_000_000 + Double(sequence)
    )
    job.state = state
    return job
}

struct StoreConformanceTests {
    @Test(arguments: Backend.allCases)
    func jobsRoundTripInSubmissionOrder(backend: Backend) async throws {
        let store = try await backend.make()
        var running = job("b", sequence: 2, tenant: "t2", state: .running)
        running.placements = [ReplicaPlacement(node: "n1", gpuIndices: [0, 1], cpuMillis: 500, memoryBytes: 0)]
        try await store.insertJobs([job("a", sequence: 1), running, job("c", sequence: 3, tenant: "t2")])
        #expect(try await store.job("b") == running)
        #expect(try await store.job("zzz") == nil)
        #expect(try await store.jobs(JobQuery()).map(\.id) == ["a", "b", "c"])
        #expect(try await store.jobs(JobQuery(states: [.pending])).map(\.id) == ["a", "c"])
        #expect(try await store.jobs(JobQuery(tenant: "t2")).map(\.id) == ["b", "c"])
        #expect(try await store.jobs(JobQuery(afterSequence: 1, limit: 1)).map(\.id) == ["b"])
        #expect(try await store.jobs(JobQuery(states: [])).isEmpty)
        #expect(try await store.lastJobSequence() == 3)
    }

    /// A page over several states, tenants and a cursor, both ways: the same as filtering everything.
    @Test(arguments: Backend.allCases)
    func pagesOverSeveralStatesMatchAFullFilter(backend: Backend) async throws {
        let store = try await backend.make()
        let states: [JobState] = [.succeeded, .failed, .pending, .cancelled, .running]
        let all = (1...60).map { index in
            job("j\(index)", sequence: Int64(index), tenant: index % 4 == 0 ? "t2" : "t1", state: states[index * 7 % states.count])
        }
        try await store.insertJobs(all)
        for query in [
            JobQuery(states: [.succeeded, .failed, .cancelled], limit: 10),
            JobQuery(states: [.succeeded, .cancelled], afterSequence: 20, limit: 7),
            JobQuery(states: [.failed, .running], tenants: ["t2"], limit: 5),
            JobQuery(states: [.succeeded, .failed], beforeSequence: 50, newestFirst: true, limit: 6),
            JobQuery(states: [.succeeded, .failed, .pending], tenant: "t1", afterSequence: 3, beforeSequence: 40, limit: 100),
        ] {
            var expected = all.filter { job in
                query.states!.contains(job.state) && (query.tenant.map { $0 == job.tenant } ?? true)
                    && (query.tenants?.contains(job.tenant) ?? true) && job.sequence > (query.afterSequence ?? 0)
                    && job.sequence < (query.beforeSequence ?? .max)
            }
            if query.newestFirst { expected.reverse() }
            #expect(try await store.jobs(query).map(\.id) == Array(expected.prefix(query.limit!)).map(\.id), "\(query)")
        }
    }

    @Test(arguments: Backend.allCases)
    func aDuplicateInsertsNothing(backend: Backend) async throws {
        let store = try await backend.make()
        try await store.insertJobs([job("a", sequence: 1)])
        await #expect(throws: StoreError(.duplicateJob, "job a already exists")) {
            try await store.insertJobs([job("new", sequence: 2), job("a", sequence: 3)])
        }
        #expect(try await store.job("new") == nil)
    }

    @Test(arguments: Backend.allCases)
    func updatesReplaceWholeRecordsAllOrNone(backend: Backend) async throws {
        let store = try await backend.make()
        try await store.insertJobs([job("a", sequence: 1), job("b", sequence: 2)])
        var done = job("a", sequence: 1, state: .succeeded)
        done.exitCode = 0
        done.finishedAt = 1_700_000_100
        try await store.updateJobs([done])
        #expect(try await store.job("a") == done)
        #expect(try await store.jobs(JobQuery(states: [.succeeded])).map(\.id) == ["a"])
        await #expect(throws: StoreError(.unknownJob, "unknown job ghost")) {
            try await store.updateJobs([job("b", sequence: 2, state: .failed), job("ghost", sequence: 9)])
        }
        #expect(try await store.job("b")?.state == .pending)
    }

    @Test(arguments: Backend.allCases)
    func nodesAttemptsLogsAndSettings(backend: Backend) async throws {
        let store = try await backend.make()
        let inventory = NodeInventory(name: "n2", cpu: NodeInventory.CPU(model: "x", logicalCores: 4), memoryBytes: 1 << 33)
        var node = NodeStatus(name: "n2", inventory: inventory, joinedAt: 1, lastHeartbeatAt: 1)
        try await store.saveNode(node)
        try await store.saveNode(NodeStatus(name: "n1", inventory: inventory, joinedAt: 2, lastHeartbeatAt: 2))
        node.state = .down
        node.cordoned = true
        try await store.saveNode(node)
        #expect(try await store.nodes().map(\.name) == ["n1", "n2"])
        #expect(try await store.node("n2") == node)
        try await store.removeNode("n1")
        #expect(try await store.nodes().map(\.name) == ["n2"])

        try await store.recordAttempt(JobAttempt(job: "a", number: 1, nodes: ["n1"], startedAt: 10))
        try await store.recordAttempt(JobAttempt(job: "a", number: 2, nodes: ["n2"], startedAt: 20))
        try await store.recordAttempt(JobAttempt(job: "a", number: 1, nodes: ["n1"], startedAt: 10, endedAt: 15, outcome: .lost))
        #expect(try await store.attempts(job: "a").map(\.outcome) == [.lost, nil])

        let first = try await store.appendLog(job: "a", stream: .stdout, text: "hello\n")
        _ = try await store.appendLog(job: "b", stream: .stdout, text: "other\n")
        let second = try await store.appendLog(job: "a", stream: .stderr, text: "oops\n")
        #expect(first.offset == 1 && second.offset == 2)
        #expect(try await store.logs(job: "a", after: 0, limit: 10).map(\.text) == ["hello\n", "oops\n"])
        #expect(try await store.logs(job: "a", after: 1, limit: 10) == [second])
        #expect(try await store.logs(job: "a", after: 0, limit: 1) == [first])

        #expect(try await store.setting("admin-token-hash") == nil)
        try await store.setSetting("admin-token-hash", "abc")
        try await store.setSetting("admin-token-hash", "def")
        #expect(try await store.setting("admin-token-hash") == "def")
    }

    @Test(arguments: Backend.allCases)
    func concurrentWritersLoseNothing(backend: Backend) async throws {
        let store = try await backend.make()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for index in 0..<25 {
                        let sequence = Int64(writer * 100 + index + 1)
                        try await store.insertJobs([job("w\(writer)-\(index)", sequence: sequence)])
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store.jobs(JobQuery()).count == 200)
    }
}

struct SQLiteStoreTests {
    @Test func committedWritesSurviveReopening() async throws {
        let path = temporaryDatabase()
        do {
            let store = try SQLiteStore(path: path)
            try await store.insertJobs([job("a", sequence: 1), job("b", sequence: 2)])
            try await store.setSetting("k", "v")
        }
        let reopened = try SQLiteStore(path: path)
        #expect(try await reopened.jobs(JobQuery()).map(\.id) == ["a", "b"])
        #expect(try await reopened.setting("k") == "v")
    }

    @Test func anUnopenableDatabaseIsAClearError() {
        #expect {
            _ = try SQLiteStore(path: "/nonexistent-directory/allot.sqlite")
        } throws: { error in
            (error as? StoreError)?.code == .database && "\(error)".contains("/nonexistent-directory/allot.sqlite")
        }
    }
}

struct WriteBatchTests {
    @Test(arguments: Backend.allCases)
    func aBatchIsOneTransaction(backend: Backend) async throws {
        let store = try await backend.make()
        try await store.insertJobs([job("a", sequence: 1)])
        var batch = WriteBatch(insertJobs: [job("b", sequence: 2)], updateJobs: [job("a", sequence: 1, state: .running)])
        batch.merge(
            WriteBatch(
                updateJobs: [job("b", sequence: 2, state: .scheduled)],
                attempts: [JobAttempt(job: "b", number: 1, nodes: ["n1"], startedAt: 1)]
            )
        )
        #expect(batch.insertJobs.map(\.state) == [.scheduled] && batch.updateJobs.count == 1)
        try await store.commit(batch)
        #expect(try await store.job("b")?.state == .scheduled)
        #expect(try await store.job("a")?.state == .running)
        #expect(try await store.attempts(job: "b").count == 1)
        await #expect(throws: StoreError.self) {
            try await store.commit(WriteBatch(insertJobs: [job("c", sequence: 3)], updateJobs: [job("ghost", sequence: 4)]))
        }
        #expect(try await store.job("c") == nil)
    }
}
