import ArgumentParser

/// The one-off client commands a batch script calls thousands of times (`submit`, `jobs`, `job`, `logs`,
/// `cancel`, `nodes`, `node`): what the small `allot` binary runs itself. Every other command is the full
/// binary's, `allot-full`, which `allot` hands them to.
public struct QuickCommands: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "allot",
        abstract: "Allot's one-off client commands.",
        subcommands: commands
    )

    public static let commands: [any ParsableCommand.Type] = [
        SubmitCommand.self, JobsCommand.self, JobCommand.self, LogsCommand.self, CancelCommand.self, NodesCommand.self, NodeCommand.self,
    ]

    /// Their names (reading each command's configuration costs a one-off call more than this list; a test holds
    /// the two equal).
    public static let names = ["submit", "jobs", "job", "logs", "cancel", "nodes", "node"]

    /// Whether `allot NAME …` runs here.
    public static func runs(_ name: String) -> Bool { names.contains(name) }

    /// Runs `allot submit …`, `job`, `cancel`, `jobs`, `logs`, `nodes` or `node NAME` from arguments read without ArgumentParser
    /// (see ``FastArguments``) and exits; returns when they must go through ArgumentParser (``main()``) instead,
    /// having done nothing.
    public static func runFast(_ arguments: [String]) async {
        let rest = Array(arguments.dropFirst())
        let command: (any FastCommand)?
        switch arguments.first {
        case "submit": command = SubmitRequest(fast: rest)
        case "job": command = JobRequest(fast: rest)
        case "cancel": command = CancelRequest(fast: rest)
        case "jobs": command = JobsRequest(fast: rest)
        case "logs": command = LogsRequest(fast: rest)
        case "nodes": command = NodesRequest(fast: rest)
        case "node": command = NodeRequest(fast: rest)
        default: command = nil
        }
        guard let command else { return }
        // A validation error is said by ArgumentParser, with the usage, as for any command.
        do { try command.validate() } catch { return }
        do {
            try await command.run()
        } catch {
            exit(withError: error)
        }
        exit()
    }

    public init() {}
}
