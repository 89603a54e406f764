import AllotAPI
import AllotClient
import AllotCore
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

    public static let grammar = FastArguments.Grammar(valued: FastArguments.Grammar.client, positional: 1)

    public init?(fast arguments: [String]) {
        guard let parsed = FastArguments(arguments, grammar: Self.grammar), let output = parsed.typed("output", OutputFormat.init(rawValue:))
        else { return nil }
        self.init(id: parsed.positional[0], client: ClientSettings(fast: parsed), output: output ?? .table)
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

    public static let grammar = FastArguments.Grammar(valued: ["server", "token", "ca", "ca-fingerprint"], positional: 1)

    public init?(fast arguments: [String]) {
        guard let parsed = FastArguments(arguments, grammar: Self.grammar) else { return nil }
        self.init(id: parsed.positional[0], client: ClientSettings(fast: parsed))
    }

    public func run() async throws {
        let job = try await withClientErrors { try await client.client().cancel(JobID(id)) }
        print("\(job.id): \(job.cancelRequestedAt != nil && !job.state.isTerminal ? "stopping" : job.state.rawValue)")
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
