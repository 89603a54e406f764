import AllotAPI
import AllotCLI
import AllotClient
import AllotCore
import AllotServer
import AllotStore
import AllotStorePostgres
import AllotStoreSQLite
import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization
import UnixSignals

/// `allot bench api`: durable job submissions per second over HTTP on the embedded SQLite store, or on
/// PostgreSQL with `--store`.
///
/// It starts a server on loopback with a fresh database (SQLite in WAL mode with `synchronous = FULL`, or a new
/// database on the given PostgreSQL server, dropped afterwards, written as a leader whose every transaction
/// checks its term: a `201` means the job is committed), joins one large node so every job is feasible and gets scheduled as in real use, and submits the
/// jobs over `--concurrency` keep-alive connections with a small SwiftNIO client.
public struct APIBenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "Submit jobs over HTTP to a server on loopback (SQLite, synchronous=FULL); print durable submissions/s and latency p50/p99."
    )

    @Option(
        help: ArgumentHelp(
            "Measure on PostgreSQL: a server's URL (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE); a fresh database is made on it and dropped afterwards.",
            valueName: "url"
        )
    )
    public var store: String?

    @Option(help: "Jobs to submit.") public var jobs: Int = 10_000
    @Option(help: "Connections, each with one request in flight.") public var concurrency: Int = 64
    @Option(
        help: "Measure again with this many jobs waiting (GPU jobs for a cordoned GPU node), and print both rates and their ratio; 0: once."
    )
    public var pending: Int = 0
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs: must be at least 1") }
        guard (1...1024).contains(concurrency) else { throw ValidationError("--concurrency: must be 1 to 1024") }
        guard pending >= 0 else { throw ValidationError("--pending: must not be negative") }
    }

    struct DepthResult: Encodable {
        var pending: Int
        var emptyQueue: Result
        var deepQueue: Result
        /// Durable submissions/s with the queue deep over with it empty.
        var ratio: Double
    }

    struct Result: Encodable {
        var jobs: Int
        var concurrency: Int
        var created: Int
        var failed: Int
        var seconds: Double
        var submissionsPerSecond: Double
        var latencyP50Milliseconds: Double
        var latencyP99Milliseconds: Double
        var latencyMaxMilliseconds: Double
        var storedJobs: Int
    }

    public func run() async throws {
        if pending > 0 {
            let (empty, deep) = try await measure()
            let result = DepthResult(
                pending: pending,
                emptyQueue: empty,
                deepQueue: deep!,
                ratio: deep!.submissionsPerSecond / empty.submissionsPerSecond
            )
            if output.output == .json { return print(try JSONOutput.render(result)) }
            var table = TextTable(["QUEUE", "DURABLE SUBMISSIONS/S", "P50 MS", "P99 MS", "FAILED"])
            for (name, part) in [("empty", empty), ("\(pending) pending", deep!)] {
                table.add([
                    name, Quantity.format(part.submissionsPerSecond.rounded()), Quantity.format(part.latencyP50Milliseconds),
                    Quantity.format(part.latencyP99Milliseconds), "\(part.failed)",
                ])
            }
            print(table.render())
            print("ratio: \(Quantity.format(result.ratio))")
            return
        }
        let (result, _) = try await measure()
        if output.output == .json {
            print(try JSONOutput.render(result))
            return
        }
        var table = TextTable(["METRIC", "VALUE"])
        table.add(["jobs submitted", "\(result.jobs) (\(result.created) created, \(result.failed) failed)"])
        table.add(["connections", "\(result.concurrency)"])
        table.add(["wall time", Quantity.format(result.seconds) + " s"])
        table.add(["durable submissions/s", Quantity.format(result.submissionsPerSecond.rounded())])
        table.add(["latency p50", Quantity.format(result.latencyP50Milliseconds) + " ms"])
        table.add(["latency p99", Quantity.format(result.latencyP99Milliseconds) + " ms"])
        table.add(["latency max", Quantity.format(result.latencyMaxMilliseconds) + " ms"])
        table.add(["jobs in the store", "\(result.storedJobs)"])
        print(table.render())
    }

    /// One measurement on an empty queue, and with `--pending` a second one with that many jobs waiting.
    func measure() async throws -> (Result, Result?) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store: any AllotStore
        var dropDatabase: (PostgresURL, String)?
        if let text = self.store {
            let server = try PostgresURL(parsing: text)
            let name = "allot_bench_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
            try await PostgresStore.administer(server, ["CREATE DATABASE \(name)"])
            dropDatabase = (server, name)
            let postgres = try await PostgresStore.open(server.with(database: name))
            // As the leader of replicated servers: every write checks the lease's term in its transaction.
            guard let term = try await postgres.acquireLease(holder: "bench", address: "http://127.0.0.1", for: .seconds(3600)) else {
                throw CommandFailure("the fresh database's lease is taken")
            }
            postgres.lead(term: term)
            store = postgres
        } else {
            store = try SQLiteStore(path: directory + "/allot.sqlite")
        }
        let measured: Swift.Result<(Result, Result?), any Error>
        do { measured = .success(try await measure(store: store)) } catch { measured = .failure(error) }
        if let (server, name) = dropDatabase {
            await (store as? PostgresStore)?.close()
            // Best effort: the measurement is over; a database left behind is named for what it was.
            try? await PostgresStore.administer(server, ["DROP DATABASE IF EXISTS \(name) WITH (FORCE)"])
        }
        return try measured.get()
    }

    func measure(store: any AllotStore) async throws -> (Result, Result?) {
        var configuration = ServerConfiguration(scheduler: SchedulerConfiguration(headroom: 0))
        // One token drives the whole load here: its request quota would measure the quota.
        configuration.tokenRequestsPerSecond = 0
        return try await LoopbackServer.run(store: store, configuration: configuration) { server in
            let inventory = NodeInventory(name: "bench", cpu: NodeInventory.CPU(model: "bench", logicalCores: 4096), memoryBytes: 1 << 44)
            try await server.report(AgentReport(node: "bench", inventory: inventory))
            var result = try await submitAll(port: server.port, token: server.admin, count: jobs)
            guard pending > 0 else {
                result.storedJobs = try await AllotClient(server: server.url, token: server.admin).allJobs().count
                return (result, nil)
            }
            // A GPU node, cordoned: the waiting GPU jobs fit the cluster but are never placed, and stay queued.
            let gpu = NodeInventory.GPU(index: 0, uuid: "GPU-parked-0", name: "NVIDIA H100 80GB HBM3", memoryTotalBytes: 80 << 30)
            let parked = NodeInventory(name: "parked", cpu: NodeInventory.CPU(model: "bench", logicalCores: 8), memoryBytes: 1 << 36, gpus: [gpu])
            try await server.report(AgentReport(node: "parked", inventory: parked))
            _ = try await AllotClient(server: server.url, token: server.admin).node("parked", action: "cordon")
            // Both nodes keep reporting while the queue fills and the second measurement runs.
            let heartbeats = Task {
                while !Task.isCancelled {
                    // A missed beat is made up by the next, two seconds later (a node is down only after three).
                    try? await server.report(AgentReport(node: "parked"))
                    try? await server.report(AgentReport(node: "bench"))
                    try? await Task.sleep(for: .seconds(2))  // cancelled when the measurement ends
                }
            }
            defer { heartbeats.cancel() }
            let waiting = ByteBuffer(string: #"{"command":["true"],"requests":{"gpus":1,"cpu":"100m","memory":"1MiB"}}"#)
            let fill = try await submitAll(port: server.port, token: server.admin, count: pending, body: waiting)
            guard fill.failed == 0 else { throw CommandFailure("\(fill.failed) of the waiting jobs were refused") }
            let deep = try await submitAll(port: server.port, token: server.admin, count: jobs)
            return (result, deep)
        }
    }

    private func submitAll(
        port: Int,
        token: String,
        count: Int,
        body: ByteBuffer = ByteBuffer(string: #"{"command":["true"],"requests":{"cpu":"100m","memory":"1MiB"}}"#)
    ) async throws -> Result {
        let remaining = Countdown(count)
        let clock = ContinuousClock()
        let start = clock.now
        let total = count
        let outcomes = try await withThrowingTaskGroup(of: [(Double, Bool)].self) { group in
            for _ in 0..<min(concurrency, count) {
                group.addTask {
                    try await LoopbackConnection(port: port).use { send in
                        var samples: [(Double, Bool)] = []
                        let headers = [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")]
                        while remaining.take() {
                            let begin = clock.now
                            let created = try await send(.POST, "/v1/jobs", headers, body) == .created
                            samples.append(((clock.now - begin).inSeconds * 1000, created))
                        }
                        return samples
                    }
                }
            }
            var all: [(Double, Bool)] = []
            all.reserveCapacity(total)
            for try await samples in group { all += samples }
            return all
        }
        let elapsed = clock.now - start
        let seconds = elapsed.inSeconds
        let latencies = outcomes.map(\.0).sorted()
        let created = outcomes.count { $0.1 }
        func percentile(_ fraction: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * fraction))]
        }
        return Result(
            jobs: total,
            concurrency: concurrency,
            created: created,
            failed: outcomes.count - created,
            seconds: seconds,
            submissionsPerSecond: Double(created) / seconds,
            latencyP50Milliseconds: percentile(0.5),
            latencyP99Milliseconds: percentile(0.99),
            latencyMaxMilliseconds: latencies.last ?? 0,
            storedJobs: 0
        )
    }
}

/// Hands out a fixed number of turns to concurrent workers.
final class Countdown: Sendable {
    private let left: Mutex<Int>
    init(_ count: Int) { left = Mutex(count) }

    /// Takes one turn; `false` when none are left.
    func take() -> Bool {
        left.withLock { count in
            guard count > 0 else { return false }
            count -= 1
            return true
        }
    }
}
