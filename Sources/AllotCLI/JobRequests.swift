import AllotAPI
import AllotClient
import AllotCore
import ArgumentParser
import Foundation

/// What `allot job ID` is asked, as plain values (see ``SubmitRequest``).
public struct JobRequest: FastCommand, Equatable {
    public var id: String
    public var client: ClientSettings
    public var output: OutputFormat

    public init(id: String, client: ClientSettings, output: OutputFormat) {
        self.id = id
        self.client = client
        self.output = output
    }

    public static let grammar = FastArguments.Grammar(valued: FastArguments.Grammar.client + FastArguments.Grammar.output, positional: 1)

    public init?(fast arguments: [String]) {
        guard let parsed = FastArguments(arguments, grammar: Self.grammar), let output = parsed.output else { return nil }
        self.init(id: parsed.positional[0], client: ClientSettings(fast: parsed), output: output)
    }

    public func run() async throws {
        let view = try await withClientErrors { try await client.client().job(JobID(id)) }
        if output == .json {
            print(try JSONOutput.render(view))
            return
        }
        let job = view.job
        var lines = ["id: \(job.id)", "state: \(job.state.rawValue)", "command: \(job.command.joined(separator: " "))", "tenant: \(job.tenant)"]
        lines.append("attempt: \(job.attempt) (retries \(job.retries) of \(job.maxAttempts - 1))")
        if let policy = job.onDisconnect { lines.append("on disconnect: \(policy)") }
        for (index, placement) in (job.placements ?? []).enumerated() {
            let gpus = placement.gpuIndices.isEmpty ? "" : " gpus \(placement.gpuIndices.map(String.init).joined(separator: ","))"
            lines.append(
                "replica \(index): \(placement.node)\(gpus) cpu \(Quantity.formatCPU(placement.cpuMillis)) memory \(Quantity.formatBytes(placement.memoryBytes))"
            )
        }
        if let position = view.queuePosition { lines.append("queue position: \(position)") }
        if let provisioning = view.provisioning { lines.append("autoscaler: \(provisioning)") }
        if let start = view.estimatedStartAt { lines.append("estimated start: \(Date(timeIntervalSince1970: start))") }
        if let code = job.exitCode { lines.append("exit code: \(code)") }
        if let reason = job.reason { lines.append("reason: \(reason)") }
        if let name = job.name { lines.insert("name: \(name)", at: 1) }
        print(lines.map(TextTable.printable).joined(separator: "\n"))
    }
}

/// What `allot cancel ID` is asked, as plain values.
public struct CancelRequest: FastCommand, Equatable {
    public var id: String
    public var client: ClientSettings

    public init(id: String, client: ClientSettings) {
        self.id = id
        self.client = client
    }

    public static let grammar = FastArguments.Grammar(valued: FastArguments.Grammar.client, positional: 1)

    public init?(fast arguments: [String]) {
        guard let parsed = FastArguments(arguments, grammar: Self.grammar) else { return nil }
        self.init(id: parsed.positional[0], client: ClientSettings(fast: parsed))
    }

    public func run() async throws {
        let job = try await withClientErrors { try await client.client().cancel(JobID(id)) }
        print("\(job.id): \(job.cancelRequestedAt != nil && !job.state.isTerminal ? "stopping" : job.state.rawValue)")
    }
}

/// What `allot jobs` is asked, as plain values.
public struct JobsRequest: FastCommand, Equatable {
    public var state: String?
    public var tenant: String?
    public var limit: Int?
    public var client: ClientSettings
    public var output: OutputFormat

    public init(state: String?, tenant: String?, limit: Int?, client: ClientSettings, output: OutputFormat) {
        self.state = state
        self.tenant = tenant
        self.limit = limit
        self.client = client
        self.output = output
    }

    public static let grammar = FastArguments.Grammar(
        valued: ["state", "tenant", "limit"] + FastArguments.Grammar.client + FastArguments.Grammar.output
    )

    public init?(fast arguments: [String]) {
        guard let parsed = FastArguments(arguments, grammar: Self.grammar), let output = parsed.output, let limit = parsed.typed("limit", { Int($0) })
        else { return nil }
        self.init(
            state: parsed.value("state"),
            tenant: parsed.value("tenant"),
            limit: limit,
            client: ClientSettings(fast: parsed),
            output: output
        )
    }

    public func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit: must be at least 1") }
    }

    public func run() async throws {
        var states: [JobState] = []
        for name in (state ?? "").split(separator: ",") {
            guard let value = JobState(rawValue: String(name)) else { throw ValidationError("--state: invalid value \"\(name)\"") }
            states.append(value)
        }
        let jobs = try await withClientErrors {
            let api = try client.client()
            guard let limit else { return try await api.allJobs(states: states, tenant: tenant) }
            // Pages of at most 1,000 until `limit`.
            var found: [JobView] = []
            while found.count < limit {
                let page = try await api.jobs(
                    states: states,
                    tenant: tenant,
                    limit: min(limit - found.count, AllotClient.largestPage),
                    after: found.last?.job.sequence
                )
                found += page
                if page.isEmpty { break }
            }
            return found
        }
        if output == .json {
            print(try JSONOutput.render(jobs))
            return
        }
        var table = TextTable(["ID", "NAME", "TENANT", "STATE", "NODE", "GPUS", "EXIT", "REASON"])
        for view in jobs {
            let job = view.job
            table.add([
                job.id.rawValue, job.name ?? "-", job.tenant, job.state.rawValue,
                job.placements?.map(\.node.rawValue).joined(separator: ",") ?? "-",
                job.placements.map { $0.flatMap(\.gpuIndices).map(String.init).joined(separator: ",") }.flatMap { $0.isEmpty ? nil : $0 } ?? "-",
                job.exitCode.map(String.init) ?? "-", job.reason ?? "",
            ])
        }
        print(table.render())
    }
}

/// What `allot logs ID` is asked, as plain values.
public struct LogsRequest: FastCommand, Equatable {
    public var id: String
    public var follow: Bool
    public var client: ClientSettings

    public init(id: String, follow: Bool, client: ClientSettings) {
        self.id = id
        self.follow = follow
        self.client = client
    }

    public static let grammar = FastArguments.Grammar(valued: FastArguments.Grammar.client, flags: ["follow"], positional: 1)

    public init?(fast arguments: [String]) {
        guard let parsed = FastArguments(arguments, grammar: Self.grammar) else { return nil }
        self.init(id: parsed.positional[0], follow: parsed.flag("follow"), client: ClientSettings(fast: parsed))
    }

    public func run() async throws {
        let client = try client.client()
        var offset: Int64 = 0
        while true {
            let chunks = try await withClientErrors { try await client.logs(JobID(id), after: offset) }
            for chunk in chunks {
                if chunk.stream == .stderr {
                    FileHandle.standardError.write(Data(chunk.text.utf8))
                } else {
                    FileHandle.standardOutput.write(Data(chunk.text.utf8))
                }
                offset = chunk.offset
            }
            guard follow else { return }
            if chunks.isEmpty {
                let job = try await withClientErrors { try await client.job(JobID(id)) }.job
                if job.state.isTerminal, try await withClientErrors({ try await client.logs(JobID(id), after: offset) }).isEmpty { return }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }
}

extension ClientSettings {
    /// From `--server`, `--token`, `--ca` and `--ca-fingerprint`.
    init(fast arguments: FastArguments) {
        self.init(
            server: arguments.value("server"),
            token: arguments.value("token"),
            ca: arguments.value("ca"),
            caFingerprint: arguments.value("ca-fingerprint")
        )
    }
}
