import AllotCLI
import ArgumentParser

/// The `allot` command tree.
public struct Allot: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "allot",
        abstract: "Allot: a resource manager and scheduler for AI workloads.",
        subcommands: [
            DevCommand.self, ServerCommand.self, AgentCommand.self, SubmitCommand.self, JobsCommand.self, JobCommand.self, LogsCommand.self,
            CancelCommand.self, NodesCommand.self, NodeCommand.self, PlanCommand.self, EstimateCommand.self, SimulateCommand.self, TraceCommand.self,
            LoginCommand.self, TenantCommand.self, TokenCommand.self, AuditCommand.self, TopCommand.self, RecommendCommand.self, HistoryCommand.self,
            CatalogCommand.self, CloudCommand.self, DataCommand.self, ForecastCommand.self, CostCommand.self, BudgetCommand.self, BillingCommand.self,
            FeedbackCommand.self,
            BenchCommand.self,
            DiscoverCommand.self,
        ]
    )

    public init() {}
}
