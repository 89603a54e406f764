import AllotAPI
import AllotClient
import Foundation
import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// The node agent: reports the machine and its jobs every scan interval (and at once when a job starts,
/// ends or prints), long-polls the server for the set of jobs this node must run, and makes it so: starts
/// what is missing, stops (SIGTERM, then SIGKILL) what is no longer listed.
///
/// Process groups it started are written to a state file; an agent that restarts kills any still alive
/// (orphans) and reports their jobs lost, so the server requeues them instead of believing they run.
public actor AgentService: Service {
    struct Running {
        var assignment: Assignment
        var process: ChildProcess
        var stopping = false
        /// What confines it: a cgroup, or best effort and why.
        var limits: String
    }

    struct Saved: Codable {
        var key: String
        var pid: Int32
        var id: JobID
        var attempt: Int
        var replica: Int
    }

    let client: AllotClient
    public nonisolated let name: String
    let inventory: NodeInventory
    let discovery: NodeDiscovery
    let stateFile: String?
    let logger: Logger
    var running: [String: Running] = [:]
    /// Jobs whose inputs are being copied onto the node, before they start.
    var staging: [String: Staging] = [:]
    /// Jobs (id, attempt, replica) that ended here: never started again, even if a directive sent before the
    /// server heard of the end still lists them.
    var finished: Set<String> = []
    var statuses: [AgentReport.JobStatus] = []
    var output: [AgentReport.Output] = []
    /// The last chunk numbered of each running job's output, by `id#attempt#replica`.
    var outputSequence: [String: Int64] = [:]
    var sendInventory = true
    var applied: (epoch: String, version: Int)?
    /// The digest of the last whole directive applied, sent back with each report.
    var appliedDigest: String?
    /// The highest leader term seen in a directive: one from an older term is refused.
    var term: Int64 = 0
    var scanInterval: Double
    var grace: Double = 10
    /// When the agent started: before its first report, the time silence is counted from. After, the client's
    /// ``AllotClient/lastReportContact``: silent for longer than ``fenceAfter`` (plus a job's wait) — a cut
    /// link, no route, calls that time out, a leader out of reach behind a follower — the agent stops its jobs
    /// itself, before the server (three silent scan intervals) may start them elsewhere. A server that is down
    /// or has no leader cannot requeue anything, and one that starts takes every node as alive: those are not
    /// silence.
    var started = Date()
    /// Jobs stopped because the server was out of reach: reported `lost`, so the server requeues them.
    var fenced: Set<String> = []
    /// The last report got nothing back at all (a timeout, no route): with a report stuck on its way, what a cut
    /// link looks like. Silence alone (a loaded machine, a slow answer) stops nothing.
    var lastReportUnheard = false
    var dirty = true
    var cpuSample: (busy: UInt64, total: UInt64)?
    let cgroups: CgroupLimits

    public init(client: AllotClient, inventory: NodeInventory, discovery: NodeDiscovery, stateFile: String?, scanInterval: Double = 5, logger: Logger)
    {
        self.client = client
        self.name = inventory.name
        self.inventory = inventory
        self.discovery = discovery
        self.stateFile = stateFile
        self.scanInterval = scanInterval
        self.logger = logger
        self.cgroups = CgroupLimits.detect()
    }

    public func run() async throws {
        killOrphans()
        started = Date()
        cpuSample = discovery.cpuSample()
        // The loops end at graceful shutdown, a long poll in flight included (cancelling it closes its connection).
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.reportLoop() }
                group.addTask { await self.directiveLoop() }
                // Apart from the reports: one may hang on a cut link for its whole timeout.
                group.addTask { await self.fenceLoop() }
                await group.waitForAll()
            }
        }
        // Graceful shutdown: stop every job we run, so nothing is left behind.
        for (_, job) in running { _ = await job.process.stop(grace: min(grace, 5)) }
        saveStateLogged()
    }

    var stopping: Bool { Task.isCancelled || Task.isShuttingDownGracefully }

    // MARK: - Reporting

    private func reportLoop() async {
        var last = Date.distantPast
        while !stopping {
            if dirty || Date().timeIntervalSince(last) >= scanInterval {
                dirty = false
                last = Date()
                await sendReport()
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    private func sendReport() async {
        let (usage, sample) = discovery.usage(since: cpuSample)
        cpuSample = sample
        let sentStatuses =
            statuses + stagingStatuses
            + running.filter { !$0.value.stopping }.map { key, job in
                let used = cgroups.usage(key: groupKey(key))
                return AgentReport.JobStatus(
                    id: job.assignment.id,
                    attempt: job.assignment.attempt,
                    replica: job.assignment.replica,
                    state: .running,
                    message: job.limits,
                    cpuSeconds: used.cpuSeconds,
                    memoryBytes: used.memoryBytes
                )
            }
        let sentOutput = output
        statuses = []
        output = []
        var report = AgentReport(node: name, inventory: sendInventory ? inventory : nil, usage: usage, jobs: sentStatuses, output: sentOutput)
        report.directiveDigest = appliedDigest
        do {
            // A report that hangs (a cut link) gives up within three scan intervals and goes again.
            let directive = try await client.report(report, timeout: max(5, 3 * scanInterval))
            lastReportUnheard = false
            if directive.inventoryRequested && report.inventory == nil {
                // Not taken (the server does not hold this node ready): all of it goes again, with the inventory.
                statuses = sentStatuses.filter { $0.state != .running && $0.state != .staging } + statuses
                output = sentOutput + output
            }
            sendInventory = directive.inventoryRequested
            if directive.inventoryRequested { dirty = true }
            apply(directive)
        } catch {
            lastReportUnheard = error.status == nil && !error.turnedAway
            // Nothing is lost: what was not delivered goes out with the next report.
            statuses = sentStatuses.filter { $0.state != .running && $0.state != .staging } + statuses
            output = sentOutput + output
            logger.warning("report failed", metadata: ["error": "\(error)"])
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    private func directiveLoop() async {
        while !stopping {
            do {
                let directive = try await client.directive(node: name, after: applied?.version ?? -1, wait: 30)
                apply(directive)
            } catch {
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    // MARK: - Reconciling

    func apply(_ directive: AgentDirective) {
        if let term = directive.term {
            guard term >= self.term else {
                logger.warning("refused a directive of an older leader", metadata: ["term": "\(term)", "current": "\(self.term)"])
                return
            }
            self.term = term
        }
        if let applied, applied.epoch == directive.epoch, directive.version < applied.version { return }
        applied = (directive.epoch, directive.version)
        scanInterval = directive.scanIntervalSeconds
        grace = directive.gracePeriodSeconds
        // The set this agent has already (its digest was in the report): nothing to start or stop.
        guard directive.unchanged != true else { return }
        appliedDigest = directive.inventoryRequested ? nil : directive.digest
        guard !directive.inventoryRequested else { return }
        let wanted = Dictionary(directive.assignments.map { (key($0), $0) }, uniquingKeysWith: { first, _ in first })
        for (key, job) in running where wanted[key] == nil && !job.stopping {
            running[key]?.stopping = true
            let process = job.process
            let grace = self.grace
            Task { _ = await process.stop(grace: grace) }
        }
        for (key, _) in staging where wanted[key] == nil { stopStaging(key) }
        finished.formIntersection(wanted.keys)
        for (key, assignment) in wanted.sorted(by: { $0.key < $1.key })
        where running[key] == nil && staging[key] == nil && !finished.contains(key) {
            if assignment.inputs?.isEmpty == false { beginStaging(assignment, key: key) } else { start(assignment, key: key) }
        }
    }

    func key(_ assignment: Assignment) -> String { "\(assignment.id)#\(assignment.attempt)#\(assignment.replica)" }

    /// A job's cgroup name: the agent's own (its node and its state file) before the job's key, so that two
    /// agents on one host, of one cluster or two, never share, or touch, each other's groups.
    nonisolated func groupKey(_ key: String) -> String { "\(Self.instanceName(node: name, stateFile: stateFile))-\(key)" }

    /// `<node>-<8 hex digits of the state file's path>`: stable across the agent's restarts.
    static func instanceName(node: String, stateFile: String?) -> String {
        let path = stateFile.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? ""
        var hash: UInt32 = 2_166_136_261  // FNV-1a
        for byte in path.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        let hex = String(hash, radix: 16)
        return node + "-" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    func start(_ assignment: Assignment, key: String) {
        let id = assignment.id
        let attempt = assignment.attempt
        let replica = assignment.replica
        // Output goes through one ordered stream, drained before the exit is reported, so that a job seen to
        // have ended already has all of its output stored.
        let (chunks, sink) = AsyncStream<(isError: Bool, text: String)>.makeStream()
        let pump = Task { [weak self] in
            for await chunk in chunks { await self?.record(id: id, attempt: attempt, replica: replica, isError: chunk.isError, text: chunk.text) }
        }
        do {
            // Held until its process group is on record: a restarted agent must be able to find and stop it.
            // Should this agent die, the job is stopped before the server (three missed reports) starts it again.
            let watchdogGrace = min(grace, max(0, 3 * scanInterval - 2))
            let process = try ChildProcess(
                command: assignment.command,
                environment: environment(for: assignment),
                held: true,
                supervisor: (getpid(), watchdogGrace)
            ) {
                isError,
                text in
                sink.yield((isError, text))
            }
            let limits = cgroups.confine(pid: process.pid, key: groupKey(key), placement: assignment.placement)
            running[key] = Running(assignment: assignment, process: process, limits: limits)
            do { try saveState() } catch {
                // Not started: tried again with the next directive, once the state file can be written.
                running[key] = nil
                process.signal(SIGKILL)
                cgroups.release(key: groupKey(key))
                sink.finish()
                Task { _ = await process.wait() }
                logger.warning(
                    "job not started: its process group cannot be recorded",
                    metadata: ["job.id": "\(id)", "state.file": "\(stateFile ?? "")", "error": "\(error)"]
                )
                return
            }
            process.release()
            logger.info("job started", metadata: ["job.id": "\(id)", "pid": "\(process.pid)", "limits": "\(limits)"])
            dirty = true
            Task {
                let code = await process.wait()
                await process.outputFinished(within: 2)
                sink.finish()
                await pump.value
                await self.ended(key: key, code: code)
            }
        } catch {
            sink.finish()
            finished.insert(key)
            removeInputs(key)
            statuses.append(
                AgentReport.JobStatus(id: id, attempt: attempt, replica: replica, state: .failedToStart, exitCode: 127, message: error.message)
            )
            dirty = true
        }
    }

    private func environment(for assignment: Assignment) -> [String: String] {
        var environment: [String: String] = [:]
        for name in ["PATH", "HOME", "LANG", "TMPDIR", "USER"] { environment[name] = ProcessInfo.processInfo.environment[name] }
        if environment["PATH"] == nil { environment["PATH"] = "/usr/local/bin:/usr/bin:/bin" }
        for (name, value) in assignment.environment { environment[name] = value }
        return environment
    }

    private func record(id: JobID, attempt: Int, replica: Int, isError: Bool, text: String) {
        let key = "\(id)#\(attempt)#\(replica)"
        let sequence = (outputSequence[key] ?? 0) + 1
        outputSequence[key] = sequence
        output.append(
            AgentReport.Output(id: id, attempt: attempt, replica: replica, stream: isError ? .stderr : .stdout, text: text, sequence: sequence)
        )
        dirty = true
    }

    private func ended(key: String, code: Int32) async {
        guard let job = running.removeValue(forKey: key) else { return }
        finished.insert(key)
        outputSequence[key] = nil
        removeInputs(key)
        cgroups.release(key: groupKey(key))
        let assignment = job.assignment
        // A fence that came after the process had ended stopped nothing: its exit is reported as it was.
        let interrupted = job.process.interrupted
        if fenced.remove(key) != nil, interrupted {
            statuses.append(
                AgentReport.JobStatus(
                    id: assignment.id,
                    attempt: assignment.attempt,
                    replica: assignment.replica,
                    state: .lost,
                    message: "stopped on its node: the server was out of reach past the job's partition policy"
                )
            )
        } else {
            var status = AgentReport.JobStatus(
                id: assignment.id,
                attempt: assignment.attempt,
                replica: assignment.replica,
                state: .exited,
                exitCode: code,
                message: job.limits
            )
            status.endedByItself = !interrupted
            statuses.append(status)
        }
        logger.info("job ended", metadata: ["job.id": "\(assignment.id)", "exit": "\(code)"])
        saveStateLogged()
        dirty = true
    }

    // MARK: - State file

    /// Writes the process groups this agent runs, atomically (a failed write leaves the last one).
    private func saveState() throws {
        guard let stateFile else { return }
        let saved = running.map {
            Saved(
                key: $0.key,
                pid: $0.value.process.pid,
                id: $0.value.assignment.id,
                attempt: $0.value.assignment.attempt,
                replica: $0.value.assignment.replica
            )
        }
        try JSONEncoder().encode(saved).write(to: URL(fileURLWithPath: stateFile), options: .atomic)
        // Like every file in a data directory: the owner's only.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: stateFile)
    }

    /// ``saveState()`` where nothing new starts: a failure is logged, and the next write carries the change.
    private func saveStateLogged() {
        do { try saveState() } catch {
            logger.warning("agent state file not written", metadata: ["state.file": "\(stateFile ?? "")", "error": "\(error)"])
        }
    }

    private func killOrphans() {
        guard let stateFile, let data = FileManager.default.contents(atPath: stateFile),
            let saved = try? JSONDecoder().decode([Saved].self, from: data)
        else { return }
        for orphan in saved {
            _ = kill(-orphan.pid, SIGKILL)
            statuses.append(
                AgentReport.JobStatus(id: orphan.id, attempt: orphan.attempt, replica: orphan.replica, state: .lost, message: "agent restarted")
            )
            logger.warning("killed orphaned job", metadata: ["job.id": "\(orphan.id)", "pid": "\(orphan.pid)"])
        }
        try? FileManager.default.removeItem(atPath: stateFile)
    }
}
