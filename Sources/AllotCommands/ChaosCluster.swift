import AllotAPI
import AllotCLI
import AllotClient
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A server and one agent, each a real `allot` process of this executable, in a fresh directory, for the
/// chaos suite: started, killed with SIGKILL, restarted, under a descriptor limit or on a small disk.
final class ChaosCluster: @unchecked Sendable {
    let directory: String
    let port: Int
    let admin: String
    let agent: String
    private var server: Process
    private var agentProcess: Process?
    private let serverArguments: [String]
    private let limit: Int?
    /// Every job's command appends `ID:ATTEMPT` here when it runs, to find any that ran twice.
    var runs: String { directory + "/runs" }

    var url: URL { URL(string: "http://127.0.0.1:\(port)")! }
    var client: AllotClient { AllotClient(server: url, token: admin) }

    /// Starts the server (with at most `descriptors` open files, when given) and waits for its first lines;
    /// `prepare` runs on the fresh directory first (a tmpfs for the data, say).
    init(descriptors: Int? = nil, prepare: (String) throws -> Void = { _ in }) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-chaos-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try prepare(directory)
        limit = descriptors
        serverArguments = [
            "server", "--data-dir", directory + "/server", "--scan-interval", "0.5", "--grace-period", "1", "--headroom", "0", "--token-rate", "0",
            "--no-tls",
        ]
        server = try Self.spawn(serverArguments + ["--port", "0"], log: directory + "/server.log", descriptors: descriptors)
        let lines = try Self.await(
            ["allot server listening on http://127.0.0.1:", "admin token: ", "agent join token: "],
            in: directory + "/server.log"
        )
        guard let port = Int(lines[0]) else { throw CommandFailure("the server printed no port") }
        self.port = port
        admin = lines[1]
        agent = lines[2]
    }

    /// Starts the agent `n1` with room for many small jobs, and waits until its node is ready (at most 60 s).
    func startAgent() async throws {
        agentProcess = try Self.spawn(
            [
                "agent", "--server", url.absoluteString, "--token", agent, "--name", "n1", "--resources", "cpu=64,memory=64GiB", "--data-dir",
                directory + "/agent",
            ],
            log: directory + "/agent.log",
            descriptors: nil
        )
        let start = ContinuousClock.now
        // Polled: until the agent has joined, the node is unknown (404), which is what is waited out.
        while (try? await client.node("n1"))?.state != .ready {
            guard ContinuousClock.now - start < .seconds(60) else { throw CommandFailure("the agent did not join within 60 s") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// SIGKILL, as a crash.
    func killServer() {
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
    }

    /// Starts the server again on the same port and data.
    func restartServer() throws {
        server = try Self.spawn(
            serverArguments + ["--port", "\(port)"],
            log: directory + "/server-\(UUID().uuidString.prefix(8)).log",
            descriptors: limit
        )
    }

    var serverRunning: Bool { server.isRunning }

    /// Seconds until `/health` answers 200 (at most `seconds`).
    func waitHealthy(within seconds: Double = 60) async throws -> Double {
        let start = ContinuousClock.now
        while (ContinuousClock.now - start) < .seconds(seconds) {
            // Polled: a refused connection or a 503 is the server not being back yet.
            if (try? await AllotClient(server: url, token: admin).health())?["status"] == "ok" { return (ContinuousClock.now - start).inSeconds }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CommandFailure("the server did not become healthy within \(seconds) s")
    }

    /// Why submissions failed, by status and code, with how often.
    let failures = Shared<[String: Int]>([:])

    /// Submits one job that records its run; `nil` when it was refused or no answer came (counted as an error).
    func submit() async -> JobID? {
        let command = ["sh", "-c", "echo $ALLOT_JOB_ID:$ALLOT_ATTEMPT >> \(runs)"]
        do {
            return try await client.submit(["command": command, "requests": ["cpu": "100m", "memory": "16MiB"]]).id
        } catch {
            let key = error.status.map { "\($0) \(error.code.rawValue)" } ?? "no answer"
            failures.withLock { $0[key, default: 0] += 1 }
            return nil
        }
    }

    /// Waits until every acknowledged job has finished (at most `seconds`, generous for a loaded machine: a
    /// round that passes never waits that long); returns the lost (unknown to the server, or not `succeeded`
    /// by then) and those that ran more than once.
    func settle(_ acknowledged: [JobID], within seconds: Double = 240) async throws -> (lost: Int, ranTwice: Int, why: String?) {
        let wanted = Set(acknowledged)
        var jobs: [JobID: Job] = [:]
        var listingError: String?
        let start = ContinuousClock.now
        while (ContinuousClock.now - start) < .seconds(seconds) {
            // Polled: a failed listing is tried again 200 ms later; the last good one decides.
            do {
                let all = try await client.allJobs()
                jobs = Dictionary(all.map { ($0.job.id, $0.job) }, uniquingKeysWith: { first, _ in first })
                listingError = nil
                if wanted.allSatisfy({ jobs[$0]?.state.isTerminal == true }) { break }
            } catch {
                listingError = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let lostJobs = wanted.filter { id in jobs[id].map { $0.state != .succeeded } ?? true }
        let lost = lostJobs.count
        // What became of them, by state, and where the processes' logs are: enough to tell a slow machine
        // from a lost write.
        var states: [String: Int] = [:]
        for id in lostJobs { states[jobs[id].map { $0.state.rawValue } ?? "unknown to the server", default: 0] += 1 }
        var why =
            lost == 0
            ? nil
            : "lost by state: " + states.sorted { $0.key < $1.key }.map { "\($0.value)× \($0.key)" }.joined(separator: ", ")
                + (listingError.map { "; the last listing failed: \($0)" } ?? "") + "; logs in \(directory)"
        // No file: no job ran at all, so none ran twice (and each acknowledged one counts as lost above).
        let text = (try? String(contentsOfFile: runs, encoding: .utf8)) ?? ""
        var attempts: [String: [String]] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":")
            attempts[String(fields.first ?? ""), default: []].append(fields.count > 1 ? String(fields[1]) : "?")
        }
        let twice = wanted.filter { (attempts[$0.rawValue]?.count ?? 0) > 1 }.sorted { $0.rawValue < $1.rawValue }
        if !twice.isEmpty {
            // Which ones, and as which attempts (one attempt twice: the agent ran it again; two: the server did).
            let listed = twice.prefix(5).map { "\($0) (attempts \(attempts[$0.rawValue]!.joined(separator: ", ")))" }.joined(separator: ", ")
            why = (why.map { $0 + "; " } ?? "") + "ran twice: \(listed)\(twice.count > 5 ? ", …" : ""); logs in \(directory)"
        }
        return (lost, twice.count, why)
    }

    /// SIGTERM to the agent and the server, SIGKILL to whichever has not ended 10 s later; never waits longer.
    func stop() {
        let processes = [agentProcess, server].compactMap { $0 }.filter(\.isRunning)
        for process in processes { process.terminate() }
        let deadline = Date().addingTimeInterval(10)
        while processes.contains(where: \.isRunning), Date() < deadline { usleep(50_000) }
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    // MARK: - Processes

    private static func spawn(_ arguments: [String], log: String, descriptors: Int?) throws -> Process {
        let process = Process()
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        if let descriptors {
            // `ulimit -n` sets the soft and the hard limit: the server cannot raise it.
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(descriptors) && exec \"$0\" \"$@\"", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        guard FileManager.default.createFile(atPath: log, contents: nil) else { throw CommandFailure("cannot write \(log)") }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// The rest of the first line starting with each prefix, once all are in the file (at most 60 s).
    private static func await(_ prefixes: [String], in path: String) throws -> [String] {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            // Polled: the log may not exist yet.
            let lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
            let found = prefixes.map { prefix in
                lines.first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count).prefix { !$0.isWhitespace }) }
            }
            if found.allSatisfy({ $0 != nil }) { return found.map { $0! } }
            usleep(20_000)
        }
        throw CommandFailure("the server did not start: \((try? String(contentsOfFile: path, encoding: .utf8)) ?? "")")
    }
}
