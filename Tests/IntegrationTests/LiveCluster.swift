import AllotAPI
import AllotClient
import Foundation
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

#if canImport(Glibc)
import Glibc
#endif

/// The `allot` executable built beside the tests.
func allotExecutable() throws -> String {
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("allot").path,
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/allot").path,
    ]
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw LiveError("the allot executable was not found (looked in \(candidates))")
    }
    return found
}

struct LiveError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A real `allot` process whose output is collected.
final class LiveProcess: Sendable {
    let process: Process
    private let collected = Mutex("")

    /// `allot` with these arguments.
    convenience init(_ arguments: [String], directory: String, environment: [String: String] = [:]) throws {
        try self.init(executable: try allotExecutable(), arguments: arguments, directory: directory, environment: environment)
    }

    /// A `/bin/sh` script, with `$0` the given executable (for limits set with `ulimit` before an `exec`).
    static func shell(_ script: String, executable: String, directory: String) throws -> LiveProcess {
        try LiveProcess(executable: "/bin/sh", arguments: ["-c", script, executable], directory: directory)
    }

    init(executable: String, arguments: [String], directory: String, environment extra: [String: String] = [:]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = directory
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                self.collected.withLock { $0 += String(decoding: data, as: UTF8.self) }
            }
        }
    }

    var output: String { collected.withLock { $0 } }

    /// Waits until the output has a line starting with `prefix`; returns the rest of that line.
    func line(startingWith prefix: String, within seconds: Double = 60) async throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let line = output.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) { return String(line.dropFirst(prefix.count)) }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw LiveError("no line starting with \"\(prefix)\" within \(seconds) s; output:\n\(output)")
    }

    /// SIGKILL, without waiting: whatever it started keeps running, as after a real crash.
    func kill9() { _ = kill(process.processIdentifier, SIGKILL) }

    /// SIGTERM, then SIGKILL if it has not ended within `seconds`; never waits longer.
    func terminate(within seconds: Double = 15) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { _ = kill(process.processIdentifier, SIGKILL) }
    }
}

/// A server and its agents on loopback, each a real process, in a fresh directory.
final class LiveCluster: Sendable {
    let directory: String
    let server: Mutex<LiveProcess?>
    let agents: Mutex<[String: LiveProcess]> = Mutex([:])
    let url: String
    let adminToken: String
    let agentToken: String
    /// More server arguments and environment, kept for restarts.
    let serverArguments: [String]
    let serverEnvironment: [String: String]

    /// `prepare` runs on the fresh directory before the server starts (its data goes in `server/` there). Plain
    /// HTTP (`--no-tls`) unless `tls`, which leaves the server's default, HTTPS with its own authority.
    init(
        scanInterval: Double = 0.5,
        tls: Bool = false,
        serverArguments: [String] = [],
        serverEnvironment: [String: String] = [:],
        prepare: (String) throws -> Void = { _ in }
    ) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-live-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try prepare(directory)
        let serverArguments = serverArguments + (tls ? [] : ["--no-tls"])
        self.serverArguments = serverArguments
        self.serverEnvironment = serverEnvironment
        let process = try LiveProcess(
            ["server", "--port", "0", "--data-dir", "server", "--scan-interval", "\(scanInterval)", "--grace-period", "1", "--headroom", "0"]
                + serverArguments,
            directory: directory,
            environment: serverEnvironment
        )
        server = Mutex(process)
        url = try await process.line(startingWith: "allot server listening on ")
        adminToken = String(try await process.line(startingWith: "admin token: ").prefix { !$0.isWhitespace })
        agentToken = try await process.line(startingWith: "agent join token: ")
    }

    /// The authority a server started with `--tls` made (its certificate chains to it), when it serves HTTPS.
    var authority: String? { url.hasPrefix("https://") ? directory + "/server/tls/ca.pem" : nil }

    var client: AllotClient {
        AllotClient(server: URL(string: url)!, token: adminToken, trust: authority.map { .authority($0) } ?? .system)
    }

    func startAgent(_ name: String, resources: String, pricing: String? = nil, environment: [String: String] = [:]) throws {
        let agent = try LiveProcess(
            ["agent", "--server", url, "--token", agentToken, "--name", name, "--resources", resources, "--data-dir", "agent-\(name)"]
                + (pricing.map { ["--pricing", $0] } ?? []) + (authority.map { ["--ca", $0] } ?? []),
            directory: directory,
            environment: environment
        )
        agents.withLock { $0[name] = agent }
    }

    func agent(_ name: String) -> LiveProcess? { agents.withLock { $0[name] } }

    /// Kills the server with SIGKILL and starts it again on the same port and data.
    func restartServerHard() async throws {
        server.withLock { $0?.kill9() }
        try await startServerAgain()
    }

    /// Starts the server on the same port and data (after it was killed).
    func startServerAgain() async throws {
        let port = URL(string: url)!.port!
        let process = try LiveProcess(
            ["server", "--port", "\(port)", "--data-dir", "server", "--scan-interval", "0.5", "--grace-period", "1", "--headroom", "0"]
                + serverArguments,
            directory: directory,
            environment: serverEnvironment
        )
        server.withLock { $0 = process }
        _ = try await process.line(startingWith: "allot server listening on ")
    }

    func stop() {
        for agent in agents.withLock({ Array($0.values) }) { agent.terminate() }
        server.withLock { $0?.terminate() }
    }

    /// Polls until `condition` holds.
    func eventually<T>(_ what: String, within seconds: Double = 30, _ condition: () async throws -> T?) async throws -> T {
        try await IntegrationTests.eventually(what, within: seconds, condition)
    }

    func finished(_ id: JobID) async throws -> Job {
        try await eventually("job \(id) finished") {
            let job = try await client.job(id).job
            return job.state.isTerminal ? job : nil
        }
    }

    func log(_ id: JobID) async throws -> [LogChunk] { try await client.logs(id) }
}

/// Whether any process of this process group is alive.
func groupAlive(_ pgid: Int32) -> Bool { kill(-pgid, 0) == 0 }

/// Runs a process to its end off the test's executor (a blocking wait there would starve every other test),
/// returning its standard output (and error, with `mergingErrors`) and exit status.
func runToEnd(_ process: Process, mergingErrors: Bool = false) async throws -> (output: Data, status: Int32) {
    let pipe = Pipe()
    process.standardOutput = pipe
    if mergingErrors { process.standardError = pipe }
    try process.run()
    return await withCheckedContinuation { continuation in
        Thread.detachNewThread {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            continuation.resume(returning: (data, process.terminationStatus))
        }
    }
}
