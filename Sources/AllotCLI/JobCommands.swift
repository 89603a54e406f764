import AllotAPI
import AllotClient
import AllotCore
import ArgumentParser
import Foundation

/// `allot submit [--cpu --memory --gpus --gpu-memory --priority --tenant --gang --estimate] -- CMD ARGS`.
public struct SubmitCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Submit a job: allot submit --cpu 2 --memory 4GiB -- python train.py"
    )

    @Option(help: "CPU cores (2, 0.5, 500m).") public var cpu: String?
    @Option(help: "Memory (16GiB, 512Mi).") public var memory: String?
    @Option(help: "Whole GPUs, or with --gpu-memory the number of GPUs to share.") public var gpus: Int?
    @Option(name: .customLong("gpu-memory"), help: "A share of each GPU's memory (8GiB).") public var gpuMemory: String?
    @Option(name: .customLong("gpu-model"), help: "GPU model (H100, A100).") public var gpuModel: String?
    @Option(help: "Priority; higher runs first.") public var priority: Int?
    @Option(help: "Tenant.") public var tenant: String?
    @Option(name: .customLong("class"), help: "critical, standard or best-effort.") public var slaClass: String?
    @Option(help: "Gang size: replicas started together or not at all.") public var gang: Int?
    @Option(help: "Runtime estimate in seconds.") public var estimate: Double?
    @Flag(help: "May be preempted by higher-priority work.") public var preemptible = false
    @Option(help: "A name for the job.") public var name: String?
    @Option(name: .customLong("env"), help: "NAME=VALUE (repeatable).") public var environment: [String] = []
    @Option(name: .customLong("max-attempts"), help: "Attempts when its node is lost (1 = no retry).") public var maxAttempts: Int?
    @Option(
        name: .customLong("on-disconnect"),
        help: ArgumentHelp(
            "When its node stops reporting: requeue (the default: run it elsewhere), or wait=DURATION (leave it alone that long first, e.g. wait=10m).",
            valueName: "policy"
        )
    )
    public var onDisconnect: String?
    @Option(
        name: .customLong("input"),
        help:
            "Data staged onto the node before the job starts: s3://B/K, gs://B/K or /path, with :SIZE (5TB) optionally; the job finds it in $ALLOT_INPUT_0, … (repeatable)."
    )
    public var inputs: [String] = []
    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.") public var command: [String] = []
    @OptionGroup public var client: ClientOptions
    @OptionGroup public var output: OutputOptions

    public init() {}

    /// The values given, as plain data.
    public var request: SubmitRequest {
        SubmitRequest(
            cpu: cpu,
            memory: memory,
            gpus: gpus,
            gpuMemory: gpuMemory,
            gpuModel: gpuModel,
            priority: priority,
            tenant: tenant,
            slaClass: slaClass,
            gang: gang,
            estimate: estimate,
            preemptible: preemptible,
            name: name,
            environment: environment,
            maxAttempts: maxAttempts,
            onDisconnect: onDisconnect,
            inputs: inputs,
            command: command,
            client: client.settings,
            output: output.output
        )
    }

    public func validate() throws { try request.validate() }

    public func run() async throws { try await request.run() }
}

/// `allot jobs [--state S] [--tenant T]`.
public struct JobsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "jobs", abstract: "List jobs.")

    @Option(help: "Only jobs in these states (comma-separated).") public var state: String?
    @Option(help: "Only this tenant's jobs.") public var tenant: String?
    @Option(help: "At most this many (the first ones; without it, every job matching).") public var limit: Int?
    @OptionGroup public var client: ClientOptions
    @OptionGroup public var output: OutputOptions

    public init() {}

    public var request: JobsRequest {
        JobsRequest(state: state, tenant: tenant, limit: limit, client: client.settings, output: output.output)
    }

    public func validate() throws { try request.validate() }

    public func run() async throws { try await request.run() }
}

/// `allot job ID`.
public struct JobCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "job", abstract: "Show one job.")

    @Argument(help: "The job id.") public var id: String
    @OptionGroup public var client: ClientOptions
    @OptionGroup public var output: OutputOptions

    public init() {}

    public var request: JobRequest { JobRequest(id: id, client: client.settings, output: output.output) }

    public func run() async throws { try await request.run() }
}

/// `allot logs ID [--follow]`.
public struct LogsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a job's output.")

    @Argument(help: "The job id.") public var id: String
    @Flag(help: "Keep printing until the job ends.") public var follow = false
    @OptionGroup public var client: ClientOptions

    public init() {}

    public var request: LogsRequest { LogsRequest(id: id, follow: follow, client: client.settings) }

    public func run() async throws { try await request.run() }
}

/// `allot cancel ID`.
public struct CancelCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a job (SIGTERM, then SIGKILL after the grace period)."
    )

    @Argument(help: "The job id.") public var id: String
    @OptionGroup public var client: ClientOptions

    public init() {}

    public var request: CancelRequest { CancelRequest(id: id, client: client.settings) }

    public func run() async throws { try await request.run() }
}
