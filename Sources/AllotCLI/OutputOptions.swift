import ArgumentParser

/// How a command prints its result.
public enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case table
    case json
}

/// The `--output json|table` option every reporting command shares.
public struct OutputOptions: ParsableArguments {
    @Option(name: .long, help: "Output format: table or json.")
    public var output: OutputFormat = .table

    public init() {}
}
