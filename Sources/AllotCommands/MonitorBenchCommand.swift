import AllotAPI
import AllotCLI
import AllotClient
import AllotCore
import ArgumentParser
import Foundation
import Synchronization

/// `allot bench monitor`: the control plane's cost of monitoring a large cluster.
///
/// It starts `allot server` as a child process on loopback (so its CPU time is its own), joins `--nodes`
/// simulated agents that report usage every `--interval` seconds (every GPU, every job on it, with cgroup CPU
/// and memory) and long-poll their directives as real agents do, submits `--jobs` single-GPU jobs so job
/// series exist, and after one interval of warm-up measures the server's CPU time and the usage history's
/// growth over `--duration` seconds.
public struct MonitorBenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Simulate many agents reporting usage to a server process; print its CPU use and the history's growth."
    )

    @Option(help: "Simulated nodes.") public var nodes: Int = 1_000
    @Option(name: .customLong("gpus-per-node"), help: "GPUs per node.") public var gpusPerNode: Int = 8
    @Option(help: "Seconds between each agent's reports.") public var interval: Double = 10
    @Option(help: "Seconds measured, after one interval of warm-up.") public var duration: Double = 120
    @Option(help: "Single-GPU jobs submitted (each adds job series).") public var jobs: Int = 2_000
    @Option(help: "The server's history tiers.") public var history: String = "raw=1d,1m=7d,1h=365d"
    @Option(name: .customLong("history-checkpoint"), help: "The server's history checkpoint, seconds.") public var checkpoint: Double = 30
    @Flag(name: .customLong("no-long-poll"), help: "Agents only report; they do not hold a directive long-poll open.") public var noLongPoll = false
    @Flag(help: "Serve HTTPS (the server's own authority, which every simulated agent pins) instead of plain HTTP.") public var tls = false
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws {
        guard nodes >= 1, gpusPerNode >= 0, interval > 0, duration > 0, jobs >= 0 else {
            throw ValidationError("--nodes, --interval and --duration must be positive; --gpus-per-node and --jobs not negative")
        }
        do { _ = try HistoryConfiguration.parse(history) } catch { throw ValidationError("--history: \(error.description)") }
    }

    struct Result: Encodable {
        var tls: Bool
        var nodes: Int
        var gpus: Int
        var jobsRunning: Int
        var intervalSeconds: Double
        var measuredSeconds: Double
        var reports: Int
        var reportsPerSecond: Double
        var reportFailures: Int
        var reportLatencyP50Milliseconds: Double
        var reportLatencyP99Milliseconds: Double
        /// Bytes on the wire per report, each way (TLS records and HTTP heads included).
        var reportBytesSent: Double
        var reportBytesReceived: Double
        var serverCPUSeconds: Double
        var serverCPUPercentOfOneCore: Double
        var serverResidentBytes: Int64
        var historySeries: Double
        var historySamplesInWindow: Double
        var historySamplesPerSecond: Double
        var storedPointsGrowth: [String: Double]
        var historyFileBytesGrowth: Double
        var historyFileBytes: Double
        var projectedStoredBytes: [String: Double]
    }

    public func run() async throws {
        let result = try await measure()
        if output.output == .json {
            print(try JSONOutput.render(result))
            return
        }
        var table = TextTable(["METRIC", "VALUE"])
        table.add(["nodes / GPUs / jobs running", "\(result.nodes) / \(result.gpus) / \(result.jobsRunning)"])
        table.add(["transport", result.tls ? "HTTPS (TLS, agents pin the server's authority)" : "plain HTTP"])
        table.add([
            "report interval",
            Quantity.format(result.intervalSeconds) + " s on a kept-alive connection, plus a 30 s directive long-poll per agent on another",
        ])
        table.add(["measured", Quantity.format(result.measuredSeconds.rounded()) + " s"])
        table.add(["reports", "\(result.reports) (\(Quantity.format(result.reportsPerSecond.rounded())) /s, \(result.reportFailures) failed)"])
        table.add([
            "report latency p50 / p99",
            "\(Quantity.format(result.reportLatencyP50Milliseconds)) / \(Quantity.format(result.reportLatencyP99Milliseconds)) ms",
        ])
        table.add([
            "bytes on the wire per report",
            "\(Int(result.reportBytesSent)) sent + \(Int(result.reportBytesReceived)) received = \(Int(result.reportBytesSent + result.reportBytesReceived)) B (TLS records and HTTP heads included)",
        ])
        table.add([
            "server CPU", "\(Quantity.format(result.serverCPUSeconds)) s = \(Quantity.format(result.serverCPUPercentOfOneCore)) % of one core",
        ])
        table.add(["server resident memory", Quantity.formatBytes(result.serverResidentBytes)])
        table.add(["history series (live)", Quantity.format(result.historySeries)])
        table.add([
            "history samples", "\(Quantity.format(result.historySamplesInWindow)) (\(Quantity.format(result.historySamplesPerSecond.rounded())) /s)",
        ])
        for (tier, growth) in result.storedPointsGrowth.sorted(by: { $0.key < $1.key }) {
            table.add(["stored points growth, tier \(tier)", Quantity.format(growth)])
        }
        table.add([
            "history file growth",
            Quantity.formatBytes(Int64(result.historyFileBytesGrowth)) + " (now \(Quantity.formatBytes(Int64(result.historyFileBytes))))",
        ])
        for (tier, bytes) in result.projectedStoredBytes.sorted(by: { $0.key < $1.key }) {
            table.add(["steady-state points, tier \(tier)", Quantity.formatBytes(Int64(bytes)) + " (series × retention ÷ spacing × point size)"])
        }
        print(table.render())
    }

    func measure() async throws -> Result {
        let configuration = try HistoryConfiguration.parse(history)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-bench-monitor-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try ServerProcess.start(
            arguments: [
                "server", "--port", "0", "--data-dir", directory, "--scan-interval", Quantity.format(interval), "--history", history,
                "--history-checkpoint", Quantity.format(checkpoint), "--headroom", "0",
            ] + (tls ? [] : ["--no-tls"])
        )
        defer { server.stop() }
        let url = URL(string: "\(tls ? "https" : "http")://127.0.0.1:\(server.port)")!
        let trust: ClientTrust = tls ? .authority(directory + "/tls/ca.pem") : .system
        let admin = AllotClient(server: url, token: server.admin, trust: trust)
        let agent = AllotClient(server: url, token: server.agent, trust: trust)

        let fleet = Fleet(nodes: nodes, gpus: gpusPerNode, interval: interval)
        // Join every node, then queue the jobs (they are placed on the simulated GPUs).
        try await fleet.join(agent)
        for start in stride(from: 0, to: jobs, by: 64) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in start..<min(jobs, start + 64) {
                    group.addTask {
                        _ = try await admin.submit(body: Data(#"{"command":["sleep","infinity"],"requests":{"cpu":1,"gpus":1}}"#.utf8))
                    }
                }
                try await group.waitForAll()
            }
        }
        let longPoll = !noLongPoll
        // Each simulated agent keeps a connection for its reports and one for its long polls, as `allot agent` does.
        let wire = WireCount()
        let agents = (0..<nodes).map { _ in AllotClient(servers: [url], token: server.agent, keepAlive: true, trust: trust, wire: wire) }
        let running = Task { [fleet] in await fleet.run(agents, longPoll: longPoll) }
        defer { running.cancel() }
        try await Task.sleep(for: .seconds(interval + 2))
        let before = try await Snapshot.take(admin, server: server)
        fleet.resetLatencies()
        let wireBefore = (sent: wire.sent, received: wire.received)
        let clock = ContinuousClock.now
        try await Task.sleep(for: .seconds(duration))
        let after = try await Snapshot.take(admin, server: server)
        let elapsed = ContinuousClock.now - clock
        let seconds = elapsed.inSeconds
        let latencies = fleet.latencies().sorted()
        let reportCount = Double(max(1, latencies.count + fleet.failures()))
        let wireSent = Double(wire.sent - wireBefore.sent) / reportCount
        let wireReceived = Double(wire.received - wireBefore.received) / reportCount
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] * 1000
        }
        let series = after.metric("allot_history_series")
        var growth: [String: Double] = [:]
        var projected: [String: Double] = [:]
        for (index, tier) in configuration.tiers.enumerated() {
            growth[tier.name] = after.metric("allot_history_points", tier: index) - before.metric("allot_history_points", tier: index)
            let spacing = tier.isRaw ? interval : tier.resolution
            projected[tier.name] = series * (tier.retention / spacing) * (tier.isRaw ? 8 : 12)
        }
        return Result(
            tls: tls,
            nodes: nodes,
            gpus: nodes * gpusPerNode,
            jobsRunning: Int(after.metric("allot_jobs", state: "running")),
            intervalSeconds: interval,
            measuredSeconds: seconds,
            reports: latencies.count,
            reportsPerSecond: Double(latencies.count) / seconds,
            reportFailures: fleet.failures(),
            reportLatencyP50Milliseconds: percentile(0.5),
            reportLatencyP99Milliseconds: percentile(0.99),
            reportBytesSent: wireSent.rounded(),
            reportBytesReceived: wireReceived.rounded(),
            serverCPUSeconds: after.cpuSeconds - before.cpuSeconds,
            serverCPUPercentOfOneCore: (after.cpuSeconds - before.cpuSeconds) / seconds * 100,
            serverResidentBytes: after.residentBytes,
            historySeries: series,
            historySamplesInWindow: after.metric("allot_history_samples") - before.metric("allot_history_samples"),
            historySamplesPerSecond: (after.metric("allot_history_samples") - before.metric("allot_history_samples")) / seconds,
            storedPointsGrowth: growth,
            historyFileBytesGrowth: after.metric("allot_history_file_bytes") - before.metric("allot_history_file_bytes"),
            historyFileBytes: after.metric("allot_history_file_bytes"),
            projectedStoredBytes: projected
        )
    }
}

/// What the server's `/metrics` and `/proc` say at one moment.
struct Snapshot {
    var exposition: [String: Double]
    var cpuSeconds: Double
    var residentBytes: Int64

    static func take(_ client: AllotClient, server: ServerProcess) async throws -> Snapshot {
        let text = try await withClientErrors { try await client.metrics() }
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = Double(parts[1]) { values[String(parts[0])] = value }
        }
        let usage = server.usage()
        return Snapshot(exposition: values, cpuSeconds: usage.cpuSeconds, residentBytes: usage.residentBytes)
    }

    func metric(_ name: String, tier: Int? = nil, state: String? = nil) -> Double {
        if let tier { return exposition["\(name){tier=\"\(tier)\"}"] ?? 0 }
        if let state { return exposition.filter { $0.key.hasPrefix("\(name){state=\"\(state)\"") }.values.reduce(0, +) }
        return exposition[name] ?? 0
    }
}

/// Simulated agents: each reports its node's usage (GPUs and the jobs it was given) every interval, spread
/// evenly over the interval, and holds a directive long-poll open.
final class Fleet: Sendable {
    let nodes: Int
    let gpus: Int
    let interval: Double
    private let state = Mutex<(latencies: [Double], failures: Int, running: [Int: [AgentReport.JobStatus]])>(([], 0, [:]))

    init(nodes: Int, gpus: Int, interval: Double) {
        self.nodes = nodes
        self.gpus = gpus
        self.interval = interval
    }

    func name(_ node: Int) -> String { String(format: "sim-%05d", node) }

    func inventory(_ node: Int) -> NodeInventory {
        NodeInventory(
            name: name(node),
            cpu: NodeInventory.CPU(model: "simulated", logicalCores: 64),
            memoryBytes: 512 << 30,
            gpus: (0..<gpus).map {
                NodeInventory.GPU(index: $0, uuid: "GPU-\(node)-\($0)", name: "NVIDIA H100 80GB HBM3", memoryTotalBytes: 80 << 30)
            }
        )
    }

    func join(_ client: AllotClient) async throws {
        for start in stride(from: 0, to: nodes, by: 64) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for node in start..<min(nodes, start + 64) {
                    group.addTask { _ = try await client.report(AgentReport(node: self.name(node), inventory: self.inventory(node))) }
                }
                try await group.waitForAll()
            }
        }
    }

    /// Each agent reports and long-polls through its own client, as `allot agent` does.
    func run(_ clients: [AllotClient], longPoll: Bool) async {
        await withTaskGroup(of: Void.self) { group in
            for node in 0..<nodes {
                group.addTask { await self.reportLoop(node, clients[node]) }
                if longPoll { group.addTask { await self.pollLoop(node, clients[node]) } }
            }
        }
    }

    private func reportLoop(_ node: Int, _ client: AllotClient) async {
        var random = SplitMix64(seed: UInt64(node + 1))
        try? await Task.sleep(for: .seconds(interval * Double(node) / Double(nodes)))
        var step = 0.0
        var digest: String?
        while !Task.isCancelled {
            step += 1
            let statuses = state.withLock { $0.running[node] ?? [] }.map { status in
                var running = status
                running.cpuSeconds = step * interval * Double(random.next() % 100) / 100
                running.memoryBytes = Int64(4 << 30) + Int64(random.next() % (4 << 30))
                return running
            }
            let usage = NodeUsage(
                cpuUtilization: Double(random.next() % 100) / 100,
                memoryUsedBytes: Int64(64 << 30) + Int64(random.next() % (64 << 30)),
                gpus: (0..<gpus).map {
                    NodeUsage.GPU(index: $0, utilizationPercent: Double(random.next() % 100), memoryUsedBytes: Int64(random.next() % (80 << 30)))
                },
                diskUsedBytes: 200 << 30,
                networkReceivedBytes: Int64(step * 1e8),
                networkSentBytes: Int64(step * 1e7)
            )
            let started = ContinuousClock.now
            do {
                // As `allot agent` does: the digest of the set it has, so an unchanged set is not sent again.
                var report = AgentReport(node: name(node), usage: usage, jobs: statuses)
                report.directiveDigest = digest
                let directive = try await client.report(report)
                let elapsed = ContinuousClock.now - started
                let running = directive.assignments.map {
                    AgentReport.JobStatus(id: $0.id, attempt: $0.attempt, replica: $0.replica, state: .running)
                }
                let unchanged = directive.unchanged == true
                if !unchanged { digest = directive.digest }
                state.withLock {
                    $0.latencies.append(elapsed.inSeconds)
                    if !unchanged { $0.running[node] = running }
                }
            } catch {
                state.withLock { $0.failures += 1 }
            }
            try? await Task.sleep(for: .seconds(interval))
        }
    }

    private func pollLoop(_ node: Int, _ client: AllotClient) async {
        var version = -1
        while !Task.isCancelled {
            if let directive = try? await client.directive(node: name(node), after: version, wait: 30) {
                version = directive.version
            } else {
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    func resetLatencies() { state.withLock { $0.latencies = [] } }
    func latencies() -> [Double] { state.withLock { $0.latencies } }
    func failures() -> Int { state.withLock { $0.failures } }
}

/// `allot server` as a child process: its port from its first line, its CPU time and memory from `/proc`.
struct ServerProcess {
    let process: Process
    let port: Int
    /// The tokens it printed at its first start.
    let admin: String
    let agent: String

    static func start(arguments: [String]) throws -> ServerProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        var buffer = Data()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            let text = String(decoding: buffer, as: UTF8.self)
            func value(after prefix: String) -> String? {
                guard let line = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().first(where: { $0.hasPrefix(prefix) })
                else { return nil }
                return String(line.dropFirst(prefix.count).prefix { !$0.isWhitespace })
            }
            if let port = value(after: "allot server listening on ").flatMap({ URL(string: $0)?.port }),
                let admin = value(after: "admin token: "), let agent = value(after: "agent join token: ")
            {
                return ServerProcess(process: process, port: port, admin: admin, agent: agent)
            }
        }
        process.terminate()
        throw CommandFailure("the server did not start: \(String(decoding: buffer, as: UTF8.self))")
    }

    /// User plus system CPU seconds and resident bytes.
    func usage() -> (cpuSeconds: Double, residentBytes: Int64) {
        let pid = process.processIdentifier
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        // Fields after the command name (which may hold spaces) start at ") ".
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let cpu = fields.count > 12 ? ((Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)) / ticks : 0
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let rss = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }.flatMap { line in
            line.split(separator: " ").dropFirst().first.flatMap { Int64($0) }
        }
        return (cpu, (rss ?? 0) * 1024)
    }

    /// SIGTERM, then SIGKILL if it has not ended within 30 s.
    func stop() {
        process.terminate()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning {
            FileHandle.standardError.write(Data("allot server did not stop within 30 s of SIGTERM; killed\n".utf8))
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }
}
