import AllotAPI
import AllotCLI
import AllotCore
import AllotServer
import AllotStore
import AllotStoreSQLite
import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// `allot bench reads`: job listings and lookups on a large SQLite store, alone and under a storm of
/// concurrent readers beside submissions and an agent's reports.
public struct ReadBenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "reads",
        abstract: "List and look up jobs over HTTP with --jobs in the store, then under --readers concurrent readers; print latencies."
    )

    @Option(help: "Jobs in the store (the first ones finished, the last --pending waiting).") public var jobs: Int = 1_000_000
    @Option(help: "Of them, jobs waiting in the queue.") public var pending: Int = 10_000
    @Option(help: "Concurrent readers in the storm, each on its own connection.") public var readers: Int = 1_000
    @Option(help: "How long the storm lasts, in seconds.") public var seconds: Double = 10
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws {
        guard jobs >= 1, (0...jobs).contains(pending) else { throw ValidationError("--jobs: at least 1, and --pending at most --jobs") }
        guard (1...10_000).contains(readers) else { throw ValidationError("--readers: must be 1 to 10000") }
        guard seconds > 0 else { throw ValidationError("--seconds: must be positive") }
    }

    struct Latency: Encodable {
        var count: Int
        var p50Milliseconds: Double
        var p99Milliseconds: Double
        var maxMilliseconds: Double

        init(_ samples: [Double]) {
            let sorted = samples.sorted()
            count = sorted.count
            func at(_ fraction: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))] }
            p50Milliseconds = at(0.5)
            p99Milliseconds = at(0.99)
            maxMilliseconds = sorted.last ?? 0
        }
    }

    struct Result: Encodable {
        var jobs: Int
        var pending: Int
        var fillSeconds: Double
        var startSeconds: Double
        var listPage: Latency
        var listFinishedPage: Latency
        var jobByID: Latency
        var readers: Int
        var stormSeconds: Double
        var stormReads: Latency
        var stormReadErrors: Int
        var stormSubmissions: Latency
        var stormSubmissionErrors: Int
        var stormReports: Latency
        var reportInterval: Double
    }

    public func run() async throws {
        let result = try await measure()
        if output.output == .json {
            print(try JSONOutput.render(result))
            return
        }
        var table = TextTable(["MEASURE", "COUNT", "P50 MS", "P99 MS", "MAX MS"])
        func add(_ name: String, _ latency: Latency) {
            table.add([
                name, "\(latency.count)", Quantity.format(latency.p50Milliseconds), Quantity.format(latency.p99Milliseconds),
                Quantity.format(latency.maxMilliseconds),
            ])
        }
        add("GET /v1/jobs?limit=100 (any state)", result.listPage)
        add("GET /v1/jobs?state=succeeded&limit=100", result.listFinishedPage)
        add("GET /v1/jobs/{id}", result.jobByID)
        add("storm: reads (\(result.readers) readers)", result.stormReads)
        add("storm: submissions (4 connections)", result.stormSubmissions)
        add("storm: agent reports (every 1 s; interval \(Quantity.format(result.reportInterval)) s)", result.stormReports)
        print(
            "\(result.jobs) jobs in SQLite (\(result.pending) pending), written in \(Quantity.format(result.fillSeconds)) s; server up in \(Quantity.format(result.startSeconds)) s"
        )
        print(table.render())
        print(
            "storm: \(Quantity.format(result.stormSeconds)) s, \(result.stormReadErrors) read errors, \(result.stormSubmissionErrors) submission errors"
        )
    }

    func measure() async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(path: directory + "/allot.sqlite")
        let clock = ContinuousClock()
        let fillStart = clock.now
        try await fill(store)
        let fillSeconds = (clock.now - fillStart).inSeconds
        let startAt = clock.now
        var configuration = ServerConfiguration(scheduler: SchedulerConfiguration(headroom: 0))
        // One token drives the whole load here: its request quota would measure the quota.
        configuration.tokenRequestsPerSecond = 0
        return try await LoopbackServer.run(store: store, configuration: configuration) { server in
            let startSeconds = (clock.now - startAt).inSeconds
            let authorization = [("Authorization", "Bearer \(server.admin)")]
            let jobs = self.jobs
            let pending = self.pending
            let finished = jobs - pending
            // A node with room for one waiting job: the rest stay queued, and the agent reports as in real use.
            let inventory = NodeInventory(name: "bench", cpu: NodeInventory.CPU(model: "bench", logicalCores: 2), memoryBytes: 1 << 30)
            try await server.report(AgentReport(node: "bench", inventory: inventory))
            let (list, listFinished, byID) = try await LoopbackConnection(port: server.port).use { send in
                var list: [Double] = []
                var listFinished: [Double] = []
                var byID: [Double] = []
                for _ in 0..<300 {
                    let after = Int64.random(in: 0...Int64(jobs))
                    list.append(try await Self.timed { try await send(.GET, "/v1/jobs?limit=100&after=\(after)", authorization, nil) })
                }
                for _ in 0..<300 where finished > 0 {
                    let after = Int64.random(in: 0...Int64(finished))
                    listFinished.append(
                        try await Self.timed { try await send(.GET, "/v1/jobs?state=succeeded&limit=100&after=\(after)", authorization, nil) }
                    )
                }
                for index in 0..<2_000 {
                    // Alternately a finished job (from the store) and a waiting one (from the read model).
                    let sequence =
                        index % 2 == 0 && finished > 0 ? Int64.random(in: 1...Int64(finished)) : Int64.random(in: Int64(finished + 1)...Int64(jobs))
                    byID.append(try await Self.timed { try await send(.GET, "/v1/jobs/job-\(sequence)", authorization, nil) })
                }
                return (list, listFinished, byID)
            }
            let storm = try await self.storm(server: server, authorization: authorization)
            return Result(
                jobs: jobs,
                pending: pending,
                fillSeconds: fillSeconds,
                startSeconds: startSeconds,
                listPage: Latency(list),
                listFinishedPage: Latency(listFinished),
                jobByID: Latency(byID),
                readers: readers,
                stormSeconds: seconds,
                stormReads: Latency(storm.reads),
                stormReadErrors: storm.readErrors,
                stormSubmissions: Latency(storm.submissions),
                stormSubmissionErrors: storm.submissionErrors,
                stormReports: Latency(storm.reports),
                reportInterval: configuration.scanIntervalSeconds
            )
        }
    }

    /// Writes the jobs straight into the store, 10,000 a transaction.
    private func fill(_ store: SQLiteStore) async throws {
        let finished = jobs - pending
        let task = TaskSpec(id: "x", requests: ResourceRequest(resources: ResourceVector(cpuMillis: 2_000, memoryBytes: 1 << 20)))
        var sequence: Int64 = 1
        while sequence <= Int64(jobs) {
            var batch: [Job] = []
            for _ in 0..<10_000 where sequence <= Int64(jobs) {
                let id = JobID(sequence: sequence)
                var spec = task
                spec.id = TaskID(id.rawValue)
                var job = Job(id: id, task: spec, command: ["true"], sequence: sequence, submittedAt: 1_700_000_000 + Double(sequence))
                if sequence <= Int64(finished) {
                    job.state = .succeeded
                    job.attempt = 1
                    job.exitCode = 0
                    job.finishedAt = job.submittedAt + 1
                }
                batch.append(job)
                sequence += 1
            }
            try await store.commit(WriteBatch(insertJobs: batch))
        }
    }

    struct Storm {
        var reads: [Double] = []
        var readErrors = 0
        var submissions: [Double] = []
        var submissionErrors = 0
        var reports: [Double] = []
    }

    /// `readers` connections listing pages as fast as they are answered, beside four connections submitting
    /// and the agent reporting every scan interval.
    private func storm(server: LoopbackServer, authorization: [(String, String)]) async throws -> Storm {
        let deadline = ContinuousClock.now + .seconds(seconds)
        let jobs = self.jobs
        let body = ByteBuffer(string: #"{"command":["true"],"requests":{"cpu":"2","memory":"1MiB"}}"#)
        let report = ByteBuffer(string: #"{"node":"bench","jobs":[],"output":[]}"#)
        let port = server.port
        let agent = [("Authorization", "Bearer \(server.agent)"), ("Content-Type", "application/json")]
        let writer = authorization + [("Content-Type", "application/json")]
        return try await withThrowingTaskGroup(of: Storm.self) { group in
            for _ in 0..<readers {
                group.addTask {
                    try await LoopbackConnection(port: port).use { send in
                        var storm = Storm()
                        while ContinuousClock.now < deadline {
                            let after = Int64.random(in: 0...Int64(jobs))
                            let begin = ContinuousClock.now
                            let status = try await send(.GET, "/v1/jobs?limit=100&after=\(after)", authorization, nil)
                            storm.reads.append((ContinuousClock.now - begin).inSeconds * 1000)
                            if status != .ok { storm.readErrors += 1 }
                        }
                        return storm
                    }
                }
            }
            for _ in 0..<4 {
                group.addTask {
                    try await LoopbackConnection(port: port).use { send in
                        var storm = Storm()
                        while ContinuousClock.now < deadline {
                            let begin = ContinuousClock.now
                            let status = try await send(.POST, "/v1/jobs", writer, body)
                            storm.submissions.append((ContinuousClock.now - begin).inSeconds * 1000)
                            if status != .created { storm.submissionErrors += 1 }
                        }
                        return storm
                    }
                }
            }
            group.addTask {
                try await LoopbackConnection(port: port).use { send in
                    var storm = Storm()
                    while ContinuousClock.now < deadline {
                        let begin = ContinuousClock.now
                        _ = try await send(.POST, "/v1/agent/report", agent, report)
                        storm.reports.append((ContinuousClock.now - begin).inSeconds * 1000)
                        try await Task.sleep(until: begin + .seconds(1))
                    }
                    return storm
                }
            }
            var all = Storm()
            for try await part in group {
                all.reads += part.reads
                all.readErrors += part.readErrors
                all.submissions += part.submissions
                all.submissionErrors += part.submissionErrors
                all.reports += part.reports
            }
            return all
        }
    }

    private static func timed(_ body: () async throws -> HTTPResponseStatus) async throws -> Double {
        let begin = ContinuousClock.now
        let status = try await body()
        guard status == .ok else { throw CommandFailure("a read answered \(status.code)") }
        return (ContinuousClock.now - begin).inSeconds * 1000
    }
}
