import ArgumentParser

/// The `allot` command tree.
public struct Allot: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "allot",
        abstract: "Allot: a resource manager and scheduler for AI workloads.",
        subcommands: [PlanCommand.self, EstimateCommand.self, BenchCommand.self, DiscoverCommand.self]
    )

    public init() {}
}
