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

    /// Whether `allot NAME …` runs here.
    public static func runs(_ name: String) -> Bool { commands.contains { $0.configuration.commandName == name } }

    public init() {}
}
