import AllotAPI
import AllotCLI
import AllotCore
import AllotServer
import AllotStore
import AllotStoreSQLite
import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// Options of the commands that run a control plane (`allot dev`, `allot server`).
public struct ServeOptions: ParsableArguments {
    @Option(help: "Address to listen on.")
    public var host: String = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one).")
    public var port: Int = 7070

    @Option(name: .customLong("data-dir"), help: "Where the database and tokens live.")
    public var dataDirectory: String = "./.allot"

    @Option(name: .customLong("scan-interval"), help: "Seconds between heartbeats (a node is down after 3 missed); defaults to the preset's.")
    public var scanInterval: Double?

    @Option(name: .customLong("grace-period"), help: "Seconds between SIGTERM and SIGKILL when a job is stopped.")
    public var gracePeriod: Double = 10

    @Option(name: .customLong("history"), help: "Usage history tiers: RESOLUTION=RETENTION, finest first (raw keeps every sample).")
    public var history: String = "raw=1d,1m=7d,1h=365d"

    @Option(name: .customLong("history-checkpoint"), help: "Seconds between writes of the history's open chunks (a crash loses at most this much).")
    public var historyCheckpoint: Double = 300

    @Option(name: .customLong("idle-threshold"), help: "GPU utilization (0 to 1) under which an allocation counts as idle.")
    public var idleThreshold: Double = 0.05

    @Option(name: .customLong("idle-window"), help: "How long an allocation must stay idle to be reported: 30m, 2h.")
    public var idleWindow: String = "30m"

    @Option(name: .customLong("scale-down-after"), help: "How long a node must run nothing to be a scale-down candidate.")
    public var scaleDownAfter: String = "30m"

    @Option(name: .customLong("rightsizing-window"), help: "How far back rightsizing compares requests with use.")
    public var rightsizingWindow: String = "1d"

    @Option(name: .customLong("max-replicas"), help: "The most replicas (gang members) one job may have.")
    public var maxReplicas: Int = 1_024

    @Option(
        name: .customLong("max-connections"),
        help: "Connections served at once; more wait in the listen backlog (default: the descriptor limit, raised to its hard limit, less a reserve)."
    )
    public var maxConnections: Int?

    @Option(name: .customLong("idle-timeout"), help: "Seconds a connection may sit with no request before it is closed (0: never).")
    public var idleTimeout: Double = 75

    @Option(name: .customLong("token-rate"), help: "Requests a second each API token may make on average (0: no limit; agents are not counted).")
    public var tokenRate: Double = 200

    @Option(name: .customLong("token-burst"), help: "Requests an API token may make at once before --token-rate applies.")
    public var tokenBurst: Double = 2_000

    @Option(name: .customLong("failed-sign-in-limit"), help: "Failed sign-ins from one address a minute before more are answered 429.")
    public var failedSignInLimit: Int = 20

    @Option(name: .customLong("default-cpu"), help: "CPUs given to each replica of a task that asks for none (0: none).")
    public var defaultCPU: Double = 1

    @Option(name: .customLong("default-memory"), help: "Memory given to each replica of a task that asks for none, e.g. 512MiB (0: none).")
    public var defaultMemory: String = "512MiB"

    @Option(
        name: .customLong("autoscale"),
        help: "An autoscaler file (JSON): buy cloud machines for work that fits no node, give them back when idle."
    )
    public var autoscale: String?

    @OptionGroup public var scheduler: SchedulerOptions

    @OptionGroup public var log: LogOptions

    public init() {}

    /// The autoscaler file, read and checked; `nil` without `--autoscale`.
    func autoscalerConfiguration() throws -> AutoscalerConfiguration? {
        guard let autoscale else { return nil }
        do { return try AutoscalerConfiguration.load(try readFile(autoscale, option: "--autoscale")) } catch let error as InputError {
            throw ValidationError("--autoscale \(autoscale): \(error)")
        }
    }

    public func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port: invalid value \"\(port)\": must be 0 to 65535") }
        if let scanInterval, !(scanInterval > 0) { throw ValidationError("--scan-interval: must be positive") }
        if let maxConnections, maxConnections < 1 { throw ValidationError("--max-connections: must be at least 1") }
        guard idleTimeout >= 0, idleTimeout.isFinite else { throw ValidationError("--idle-timeout: must be 0 or more seconds") }
        guard failedSignInLimit >= 1 else { throw ValidationError("--failed-sign-in-limit: must be at least 1") }
        guard tokenRate >= 0, tokenRate.isFinite else { throw ValidationError("--token-rate: must be 0 or more") }
        guard tokenBurst >= 1, tokenBurst.isFinite else { throw ValidationError("--token-burst: must be at least 1") }
        guard maxReplicas >= 1 else { throw ValidationError("--max-replicas: must be at least 1") }
        guard defaultCPU >= 0, defaultCPU.isFinite else { throw ValidationError("--default-cpu: must be a number of CPUs, 0 or more") }
        do { _ = try Quantity.bytes(defaultMemory, field: "default-memory") } catch { throw ValidationError("--\(error)") }
        _ = try autoscalerConfiguration()
        guard gracePeriod >= 0 else { throw ValidationError("--grace-period: must not be negative") }
        do { _ = try HistoryConfiguration.parse(history) } catch { throw ValidationError("--history: \(error.description)") }
        guard historyCheckpoint > 0 else { throw ValidationError("--history-checkpoint: must be positive") }
        guard (0...1).contains(idleThreshold) else { throw ValidationError("--idle-threshold: must be between 0 and 1") }
        for (flag, value) in [("idle-window", idleWindow), ("scale-down-after", scaleDownAfter), ("rightsizing-window", rightsizingWindow)] {
            do { _ = try DurationText.parse(value, field: flag) } catch { throw ValidationError("--\(error.description)") }
        }
    }

    func serverConfiguration() throws -> ServerConfiguration {
        var scheduler = try self.scheduler.configuration()
        if self.scheduler.preset == nil && scanInterval == nil { scheduler.scanIntervalSeconds = 5 }
        if let scanInterval { scheduler.scanIntervalSeconds = scanInterval }
        // With an autoscaler, work that fits no node today is what it buys machines for.
        if autoscale != nil { scheduler.rejectInfeasible = false }
        var configuration = ServerConfiguration(
            scheduler: scheduler,
            gracePeriodSeconds: gracePeriod,
            history: try HistoryConfiguration.parse(history),
            historyCheckpointSeconds: historyCheckpoint,
            idle: IdleRule(threshold: idleThreshold, window: try DurationText.parse(idleWindow, field: "idle-window")),
            scaleDownAfterSeconds: try DurationText.parse(scaleDownAfter, field: "scale-down-after"),
            rightsizingWindowSeconds: try DurationText.parse(rightsizingWindow, field: "rightsizing-window")
        )
        configuration.maxReplicas = maxReplicas
        configuration.failedSignInLimit = failedSignInLimit
        configuration.idleConnectionSeconds = idleTimeout > 0 ? idleTimeout : nil
        configuration.tokenRequestsPerSecond = tokenRate
        configuration.tokenRequestBurst = tokenBurst
        configuration.maxConnections = maxConnections ?? DescriptorLimit.connections(under: DescriptorLimit.raise())
        configuration.defaultRequests = ResourceVector(
            cpuMillis: Int64((defaultCPU * 1000).rounded()),
            memoryBytes: try Quantity.bytes(defaultMemory, field: "default-memory")
        )
        return configuration
    }

    /// Opens the control plane on a store (the SQLite file under the data directory unless one is given), and
    /// loads (or creates) the tokens and the default tenant. `advertisedLeader`: this server's URL when it leads
    /// several on a shared store.
    func open(
        store given: (any AllotStore)? = nil,
        advertisedLeader: String? = nil,
        leaderTerm: Int64? = nil
    ) async throws -> (ControlPlane, Directory, admin: String?, agent: String?) {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: dataDirectory)
        let store = try given ?? SQLiteStore(path: dataDirectory + "/allot.sqlite")
        let (authenticator, created) = try await Authenticator.load(from: store)
        if let created { try writeSecret(created.agent, to: dataDirectory + "/agent-token") }
        // The admin token is shown once, at creation, and kept only as a digest (earlier versions kept it here).
        let oldAdminFile = dataDirectory + "/admin-token"
        if FileManager.default.fileExists(atPath: oldAdminFile) {
            try FileManager.default.removeItem(atPath: oldAdminFile)
            log.logger("allot.server").notice(
                "removed \(oldAdminFile): the admin token is kept only as a digest; `allot token rotate-admin` replaces it"
            )
        }
        let admin = created?.admin
        let agent = created?.agent ?? readSecret(dataDirectory + "/agent-token")
        do {
            let history = try SQLiteHistoryStore(path: dataDirectory + "/history.sqlite")
            var configuration = try serverConfiguration()
            configuration.advertisedLeader = advertisedLeader
            configuration.leaderTerm = leaderTerm
            let plane = try await ControlPlane.start(
                store: store,
                history: history,
                configuration: configuration,
                logger: log.logger("allot.server"),
                runsWorkers: false
            )
            let directory = Directory(store: store, bootstrap: authenticator)
            try await directory.load()
            try await directory.observeTenants { tenants throws(APIError) in try await plane.setTenants(tenants) }
            await directory.sendAudit { entry in await plane.recordAudit(entry) }
            return (plane, directory, admin, agent)
        } catch let error as APIError {
            throw CommandFailure("cannot start the control plane: \(error.message)")
        }
    }
}

func writeSecret(_ secret: String, to path: String) throws {
    guard FileManager.default.createFile(atPath: path, contents: Data((secret + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
        throw CommandFailure("cannot write \(path)")
    }
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
}

func readSecret(_ path: String) -> String? {
    FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// Prints a line at once, even when stdout is a pipe.
func announce(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

extension ServiceGroupConfiguration {
    /// Graceful shutdown bounded: past 15 s the services still running are cancelled, and 5 s after that the
    /// group gives up on them, so nothing stuck (a connection, a service) keeps the process from exiting; the log
    /// names what was slow.
    func bounded() -> Self {
        var configuration = self
        configuration.maximumGracefulShutdownDuration = .seconds(15)
        configuration.maximumCancellationDuration = .seconds(5)
        return configuration
    }
}
