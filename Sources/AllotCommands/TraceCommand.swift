import AllotAPI
import AllotCLI
import AllotClient
import AllotCore
import AllotSimulator
import ArgumentParser
import Foundation

/// `allot trace`: traces for `allot simulate`.
public struct TraceCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Work with job traces for allot simulate.",
        subcommands: [TraceExportCommand.self]
    )

    public init() {}
}

/// `allot trace export`: a server's finished jobs as an Allot trace, to replay under other policies.
public struct TraceExportCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a server's finished jobs as an Allot trace (CSV): submit, run time, requests, tenant, priority, estimate."
    )

    @Option(help: "Only this tenant's jobs.") public var tenant: String?
    @Option(name: .customLong("file"), help: "Write here instead of standard output.") public var file: String?
    @OptionGroup public var client: ClientOptions

    public init() {}

    public func run() async throws {
        let views = try await withClientErrors { try await client.client().allJobs(tenant: tenant) }
        let (jobs, skipped) = Self.traceJobs(views.map(\.job))
        let text = AllotTrace.csv(jobs)
        if let file {
            do {
                try text.write(toFile: file, atomically: true, encoding: .utf8)
            } catch {
                throw CommandFailure("--file: cannot write \(file): \(error.localizedDescription)")
            }
        } else {
            print(text, terminator: "")
        }
        FileHandle.standardError.write(Data("exported \(jobs.count) jobs; \(skipped) not finished or never started were left out\n".utf8))
    }

    /// The jobs that ran to an end, as trace rows: submit time relative to the earliest, run time of the last
    /// attempt, the whole task's requests (all replicas). Others are counted, not exported.
    public static func traceJobs(_ jobs: [Job]) -> (jobs: [TraceJob], skipped: Int) {
        var rows: [TraceJob] = []
        var skipped = 0
        for job in jobs.sorted(by: { $0.sequence < $1.sequence }) {
            guard job.state.isTerminal, let started = job.startedAt, let finished = job.finishedAt, finished >= started else {
                skipped += 1
                continue
            }
            let replicas = Int64(job.task.gang)
            rows.append(
                TraceJob(
                    id: job.id.rawValue,
                    submit: job.submittedAt,
                    duration: finished - started,
                    gpus: job.task.requests.gpus * job.task.gang,
                    cpuMillis: job.task.requests.resources.cpuMillis * replicas,
                    memoryBytes: job.task.requests.resources.memoryBytes * replicas,
                    tenant: job.tenant,
                    priority: job.task.priority,
                    estimate: job.task.estimateSeconds
                )
            )
        }
        let origin = rows.map(\.submit).min() ?? 0
        for index in rows.indices { rows[index].submit -= origin }
        return (rows, skipped)
    }
}
