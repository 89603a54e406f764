import AllotAPI
import AllotCLI
import AllotCore
import AllotServer
import AllotStore
import AllotStoreSQLite
import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import UnixSignals

/// `allot bench console`: how long each web console page takes to render over HTTP with a large cluster in the
/// store.
public struct ConsoleBenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Time every web console page over HTTP with many nodes and jobs in the store (SQLite)."
    )

    @Option(help: "Nodes with 8 GPUs each.") public var nodes: Int = 1_000
    @Option(help: "Jobs in the store: a tenth queued or running, the rest finished.") public var jobs: Int = 10_000
    @Option(help: "Requests per page.") public var repeats: Int = 5

    public init() {}

    public func validate() throws {
        guard nodes > 0, jobs >= 10, repeats > 0 else { throw ValidationError("--nodes and --repeats must be positive, --jobs at least 10") }
    }

    public func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-console-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(path: directory + "/allot.sqlite")
        let now = Date().timeIntervalSince1970
        // Finished jobs straight into the store, each with an attempt on a node over the last 30 days.
        let finished = jobs - jobs / 10
        var batch = WriteBatch()
        var random = SplitMix64(seed: 5)
        for index in 0..<finished {
            let node = "node-\(Int(random.next() % UInt64(nodes)))"
            let start = now - 30 * 86_400 + Double(random.next() % (29 * 86_400))
            var task = TaskSpec(
                id: TaskID("job-\(index + 1)"),
                requests: ResourceRequest(resources: ResourceVector(cpuMillis: 4_000, memoryBytes: 16 << 30), gpus: 1)
            )
            task.tenant = TenantID("team-\(index % 8)")
            var job = Job(
                id: JobID(sequence: Int64(index + 1)),
                name: "train-\(index % 50)",
                task: task,
                command: ["python", "train.py"],
                sequence: Int64(index + 1),
                submittedAt: start - 60,
                attempt: 1
            )
            job.state = index % 17 == 0 ? .failed : .succeeded
            job.scheduledAt = start
            job.startedAt = start + 1
            job.finishedAt = start + 600 + Double(random.next() % 20_000)
            job.exitCode = job.state == .failed ? 1 : 0
            batch.insertJobs.append(job)
            let placement = ReplicaPlacement(node: NodeID(node), gpuIndices: [Int(random.next() % 8)], cpuMillis: 4_000, memoryBytes: 16 << 30)
            batch.attempts.append(
                JobAttempt(
                    job: job.id,
                    number: 1,
                    nodes: [node],
                    startedAt: start + 1,
                    endedAt: job.finishedAt,
                    outcome: AttemptOutcome(ending: job.state),
                    tenant: job.tenant,
                    allocatedAt: start,
                    placements: [placement]
                )
            )
        }
        try await store.commit(batch)
        let plane = try await ControlPlane.start(store: store, configuration: ServerConfiguration(scheduler: SchedulerConfiguration(headroom: 0)))
        for index in 0..<nodes {
            var inventory = NodeInventory(
                name: "node-\(index)",
                cpu: NodeInventory.CPU(model: "bench", logicalCores: 96),
                memoryBytes: 1 << 40,
                gpus: (0..<8).map {
                    NodeInventory.GPU(
                        index: $0,
                        uuid: "GPU-\(index)-\($0)",
                        name: "NVIDIA A100-SXM4-80GB",
                        memoryTotalBytes: 80 << 30,
                        memoryUsedBytes: 20 << 30,
                        utilizationPercent: 60
                    )
                }
            )
            inventory.pricing = NodePricing(cloud: index % 2 == 0 ? "on-prem" : "aws", region: "r\(index % 4)", hourlyPrice: 12 + Double(index % 9))
            _ = try await plane.report(AgentReport(node: inventory.name, inventory: inventory))
        }
        for index in 0..<(jobs - finished) {
            var task = TaskSpec(
                id: "x",
                requests: ResourceRequest(resources: ResourceVector(cpuMillis: 4_000, memoryBytes: 16 << 30), gpus: 1 + index % 8)
            )
            task.tenant = TenantID("team-\(index % 8)")
            _ = try await plane.submit(JobSubmission(name: "serve-\(index % 20)", command: ["python", "serve.py"], task: task))
        }
        await plane.quiesce()

        let admin = Authenticator.newToken()
        var logger = Logger(label: "allot.bench")
        logger.logLevel = .critical
        let access = Directory(store: store, bootstrap: Authenticator(adminToken: admin, agentToken: Authenticator.newToken()))
        try await access.load()
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = try buildApplication(plane: plane, directory: access, port: 0, logger: logger) { port in
            continuation.yield(port)
            continuation.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigint], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            guard let port = await ports.first(where: { _ in true }) else { throw CommandFailure("the server did not start") }
            let base = "http://127.0.0.1:\(port)"
            let pages = [
                "/ui/overview", "/ui/nodes", "/ui/jobs", "/ui/jobs?state=succeeded", "/ui/jobs/job-\(finished / 2)", "/ui/tenants", "/ui/costs",
                "/ui/recommendations", "/ui/offers?gpus=A100:8",
            ]
            print("\(nodes) nodes (\(nodes * 8) GPUs), \(jobs) jobs (\(jobs - finished) queued or running), SQLite; \(repeats) requests per page")
            var table = TextTable(["PAGE", "STATUS", "SIZE", "RENDER P50", "RENDER MAX", "HTTP P50", "HTTP MAX"])
            for page in pages {
                var times: [Double] = []
                var renders: [Double] = []
                var status = 0
                var size = 0
                for _ in 0..<repeats {
                    var request = HTTPClientRequest(url: base + page)
                    request.headers.add(name: "Cookie", value: "allot_session=\(admin)")
                    let start = ContinuousClock.now
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
                    let body = try await response.body.collect(upTo: 256 << 20)
                    let elapsed = ContinuousClock.now - start
                    times.append(Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15)
                    status = Int(response.status.code)
                    size = body.readableBytes
                    // The server's own time for the page (gathering and rendering), from its Server-Timing header.
                    let timing = response.headers.first(name: "Server-Timing") ?? ""
                    renders.append(timing.split(separator: "=").last.flatMap { Double($0) } ?? .nan)
                }
                times.sort()
                renders.sort()
                table.add([
                    page, "\(status)", Quantity.formatBytes(Int64(size)), String(format: "%.1f ms", renders[renders.count / 2]),
                    String(format: "%.1f ms", renders.last!), String(format: "%.1f ms", times[times.count / 2]),
                    String(format: "%.1f ms", times.last!),
                ])
            }
            print(table.render())
            await group.triggerGracefulShutdown()
            try await tasks.next()
        }
    }
}
