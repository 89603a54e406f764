import AllotAPI
import AllotCLI
import AllotClient
import AllotCore
import AllotTLS
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// `allot bench client`: what an agent's directive polls cost on the client side, through Allot's own HTTP
/// client (SwiftNIO, one kept-alive connection) and through AsyncHTTPClient (its connection pool), against one
/// `allot server` process, plain or over TLS.
public struct ClientBenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "Directive polls through Allot's own HTTP client and through AsyncHTTPClient: latency and client CPU per call."
    )

    @Option(help: "Calls per client, one after another.") public var calls: Int = 2_000
    @Option(help: "Rounds (each client in turn, alternating).") public var rounds: Int = 3
    @Flag(help: "Over HTTPS, both clients pinning the server's authority.") public var tls = false
    @OptionGroup public var output: OutputOptions

    public init() {}

    struct Row: Encodable {
        var client: String
        var round: Int
        var calls: Int
        var p50Microseconds: Double
        var p99Microseconds: Double
        var cpuMicrosecondsPerCall: Double
    }

    public func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-bench-client-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }  // a temporary directory
        let server = try ServerProcess.start(
            arguments: ["server", "--port", "0", "--data-dir", directory, "--token-rate", "0"] + (tls ? [] : ["--no-tls"])
        )
        defer { server.stop() }
        let base = "\(tls ? "https" : "http")://127.0.0.1:\(server.port)"
        let authority = directory + "/tls/ca.pem"
        let trust: ClientTrust = tls ? .authority(authority) : .system
        let own = AllotClient(servers: [URL(string: base)!], token: server.agent, keepAlive: true, trust: trust)
        let inventory = NodeInventory(name: "bench", cpu: NodeInventory.CPU(model: "bench", logicalCores: 8), memoryBytes: 32 << 30)
        _ = try await own.report(AgentReport(node: "bench", inventory: inventory))

        var configuration = HTTPClient.Configuration()
        if tls { configuration.tlsConfiguration = try TLSConfigurations.client(trusting: authority) }
        let pooled = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let url = base + "/v1/agent/directive?node=bench&version=-1&wait=0"

        // Each call: one directive, decoded, as an agent's poll that is answered at once.
        let clients: [(String, @Sendable () async throws -> Void)] = [
            ("allot (SwiftNIO, kept alive)", { _ = try await own.directive(node: "bench", after: -1, wait: 0) }),
            (
                "AsyncHTTPClient (pool)",
                {
                    var request = HTTPClientRequest(url: url)
                    request.headers.add(name: "Authorization", value: "Bearer \(server.agent)")
                    let response = try await pooled.execute(request, timeout: .seconds(30))
                    let body = try await response.body.collect(upTo: 1 << 20)
                    guard response.status == .ok else { throw CommandFailure("HTTP \(response.status.code)") }
                    _ = try JSONDecoder().decode(AgentDirective.self, from: Data(body.readableBytesView))
                }
            ),
        ]
        for (_, call) in clients { for _ in 0..<100 { try await call() } }  // warm: connections, TLS sessions, caches
        var rows: [Row] = []
        for round in 1...rounds {
            for (name, call) in clients {
                var latencies: [Double] = []
                latencies.reserveCapacity(calls)
                let cpuBefore = Self.processCPUSeconds()
                for _ in 0..<calls {
                    let start = ContinuousClock.now
                    try await call()
                    latencies.append((ContinuousClock.now - start).inSeconds)
                }
                let cpu = Self.processCPUSeconds() - cpuBefore
                rows.append(
                    Row(
                        client: name,
                        round: round,
                        calls: calls,
                        p50Microseconds: (UsageDetectors.percentile(latencies, 0.5) * 1e6).rounded(),
                        p99Microseconds: (UsageDetectors.percentile(latencies, 0.99) * 1e6).rounded(),
                        cpuMicrosecondsPerCall: (cpu / Double(calls) * 1e6).rounded()
                    )
                )
            }
        }
        try? await pooled.shutdown()  // a pool that fails to shut down dies with this process
        if output.output == .json { return print(try JSONOutput.render(rows)) }
        var table = TextTable(["client", "round", "calls", "p50 µs", "p99 µs", "client CPU µs/call"])
        for row in rows {
            table.add([
                row.client, "\(row.round)", "\(row.calls)", Quantity.format(row.p50Microseconds), Quantity.format(row.p99Microseconds),
                Quantity.format(row.cpuMicrosecondsPerCall),
            ])
        }
        print((tls ? "over HTTPS" : "plain HTTP") + ", one server process on loopback")
        print(table.render())
    }

    /// This process's CPU time (user and system) so far, in seconds.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
