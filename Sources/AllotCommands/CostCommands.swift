import AllotAPI
import AllotCLI
import AllotClient
import AllotCore
import ArgumentParser
import Foundation

/// `allot cost [--group-by G]` and `allot cost export --format focus`.
public struct CostCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cost",
        abstract: "What the cluster's machines cost, split among the jobs that held them (idle apart).",
        subcommands: [CostReportCommand.self, CostExportCommand.self],
        defaultSubcommand: CostReportCommand.self
    )

    public init() {}
}

/// The window options both cost commands share.
public struct CostWindowOptions: ParsableArguments {
    @Option(help: "Start: 2026-11-01, 2026-11-01T08:00:00Z or seconds since 1970 (this month's start by default).") public var from: String?
    @Option(help: "End (now by default).") public var to: String?

    public init() {}

    public func validate() throws {
        for (name, value) in [("--from", from), ("--to", to)] {
            if let value, CostDates.parse(value) == nil { throw ValidationError("\(name): expected 2026-11-01, 2026-11-01T08:00:00Z or seconds") }
        }
    }
}

/// `allot cost [report] [--group-by tenant|job|node|cloud|region|day]`.
public struct CostReportCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Spend grouped, largest first; the rows add up to the total."
    )

    @Option(name: .customLong("group-by"), help: "tenant, job, node, cloud, region or day.") public var groupBy: String = "tenant"
    @Option(help: "estimated (list price × time), billed (imported with `allot billing import`) or both, with the difference.")
    public var source: String = "estimated"
    @OptionGroup public var window: CostWindowOptions
    @OptionGroup public var client: ClientOptions
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws {
        guard CostGrouping(rawValue: groupBy) != nil else {
            throw ValidationError("--group-by: invalid value \"\(groupBy)\": use \(CostGrouping.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard CostSource(rawValue: source) != nil else {
            throw ValidationError("--source: invalid value \"\(source)\": use \(CostSource.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    public func run() async throws {
        let client = try client.client()
        let report = try await withClientErrors {
            try await client.costs(groupBy: CostGrouping(rawValue: groupBy)!, from: window.from, to: window.to, source: CostSource(rawValue: source)!)
        }
        if output.output == .json {
            print(try JSONOutput.render(report))
            return
        }
        print("\(CostDates.timestamp(report.from)) – \(CostDates.timestamp(report.to)), by \(report.groupBy.rawValue), \(source)")
        if report.source == .both {
            var table = TextTable([groupBy.uppercased(), "ESTIMATED USD", "BILLED USD", "DIFFERENCE", "HOURS", "GPU-HOURS"])
            for row in report.rows {
                table.add([
                    row.key, String(format: "%.2f", row.cost), String(format: "%.2f", row.billed ?? 0), String(format: "%+.2f", row.difference ?? 0),
                    String(format: "%.1f", row.hours), String(format: "%.1f", row.gpuHours),
                ])
            }
            let billed = report.billedTotal ?? 0
            table.add([
                "total", String(format: "%.2f", report.total), String(format: "%.2f", billed), String(format: "%+.2f", billed - report.total), "", "",
            ])
            print(table.render())
            return
        }
        var table = TextTable([groupBy.uppercased(), "USD", "SHARE", "HOURS", "GPU-HOURS"])
        for row in report.rows {
            let share = report.total > 0 ? row.cost / report.total * 100 : 0
            table.add([
                row.key, String(format: "%.2f", row.cost), String(format: "%.1f %%", share), String(format: "%.1f", row.hours),
                String(format: "%.1f", row.gpuHours),
            ])
        }
        table.add(["total", String(format: "%.2f", report.total), "", "", ""])
        print(table.render())
    }
}

/// `allot cost export --format focus [--file F]`.
public struct CostExportCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "The charges as a FinOps FOCUS 1.0 CSV: one row per job (or idle) per node per UTC day."
    )

    @Option(help: "Only focus.") public var format: String = "focus"
    @Option(help: "Write here instead of standard output.") public var file: String?
    @OptionGroup public var window: CostWindowOptions
    @OptionGroup public var client: ClientOptions

    public init() {}

    public func validate() throws {
        guard format == "focus" else { throw ValidationError("--format: only focus") }
    }

    public func run() async throws {
        let client = try client.client()
        let text = try await withClientErrors { try await client.focusExport(from: window.from, to: window.to) }
        guard let file else {
            print(text, terminator: "")
            return
        }
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        print("wrote \(file): \(max(0, text.split(separator: "\r\n").count - 1)) charges")
    }
}

/// `allot budget list|set|delete`.
public struct BudgetCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "budget",
        abstract: "Spending limits per tenant (or the cluster) per day or month, with thresholds that raise events.",
        subcommands: [BudgetListCommand.self, BudgetSetCommand.self, BudgetDeleteCommand.self],
        defaultSubcommand: BudgetListCommand.self
    )

    public init() {}
}

public struct BudgetListCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "list", abstract: "Budgets with this period's spend.")

    @OptionGroup public var client: ClientOptions
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func run() async throws {
        let client = try client.client()
        let statuses = try await withClientErrors { try await client.budgets() }
        if output.output == .json {
            print(try JSONOutput.render(statuses))
            return
        }
        var table = TextTable(["NAME", "TENANT", "PERIOD", "SPENT", "BUDGET", "USED", "THRESHOLDS", "HARD", "STATE"])
        for status in statuses {
            let budget = status.budget
            table.add([
                budget.name, budget.tenant ?? "(cluster)", status.period, String(format: "%.2f", status.spent), String(format: "%.2f", budget.amount),
                String(format: "%.0f %%", status.percent), budget.thresholds.map { Quantity.format($0) }.joined(separator: "/"),
                budget.hard ? "yes" : "no",
                status.blocking ? "refusing new jobs" : status.crossed.isEmpty ? "ok" : "past \(Quantity.format(status.crossed.last!)) %",
            ])
        }
        print(table.render())
    }
}

public struct BudgetSetCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "set", abstract: "Create or replace a budget.")

    @Argument(help: "The budget's name.") public var name: String
    @Option(help: "USD per period.") public var amount: Double
    @Option(help: "The tenant (and everything below it); the whole cluster when absent (admins).") public var tenant: String?
    @Option(help: "day or month (UTC).") public var period: String = "month"
    @Option(help: "Percentages that raise an event, comma-separated.") public var thresholds: String = "50,80,100"
    @Flag(help: "Refuse new jobs of the tenant once the budget is spent.") public var hard = false
    @OptionGroup public var client: ClientOptions
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws {
        guard Budget.Period(rawValue: period) != nil else { throw ValidationError("--period: use day or month") }
        guard thresholds.split(separator: ",").allSatisfy({ Double($0.trimmingCharacters(in: .whitespaces)) != nil }) else {
            throw ValidationError("--thresholds: comma-separated percentages, e.g. 50,80,100")
        }
    }

    public func run() async throws {
        let client = try client.client()
        let request = BudgetRequest(
            name: name,
            tenant: tenant,
            period: Budget.Period(rawValue: period),
            amount: amount,
            thresholds: thresholds.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) },
            hard: hard
        )
        let status = try await withClientErrors { try await client.saveBudget(request) }
        if output.output == .json {
            print(try JSONOutput.render(status))
            return
        }
        print(
            "budget \(status.budget.name): $\(String(format: "%.2f", status.spent)) of $\(String(format: "%.2f", amount)) spent in \(status.period)"
        )
    }
}

public struct BudgetDeleteCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a budget.")

    @Argument(help: "The budget's name.") public var name: String
    @OptionGroup public var client: ClientOptions

    public init() {}

    public func run() async throws {
        let client = try client.client()
        try await withClientErrors { try await client.deleteBudget(name) }
        print("deleted budget \(name)")
    }
}

/// `allot feedback TEXT`: free-form product feedback, or `--list`.
public struct FeedbackCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "feedback",
        abstract: "Tell the Allot operators what you think (kept with your token and tenant)."
    )

    @Argument(help: "What to say.") public var text: [String] = []
    @Flag(help: "List feedback and recommendation decisions in your tenants (tenant admins).") public var list = false
    @OptionGroup public var client: ClientOptions
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws {
        guard list || !text.isEmpty else { throw ValidationError("give the feedback text, or --list") }
    }

    public func run() async throws {
        let client = try client.client()
        if list {
            let entries = try await withClientErrors { try await client.feedback() }
            if output.output == .json {
                print(try JSONOutput.render(entries))
                return
            }
            for entry in entries {
                let about = entry.decision.map { "\($0.rawValue) \(entry.recommendationKind ?? "") \(entry.target ?? ""): " } ?? ""
                print("\(CostDates.timestamp(entry.at))  \(entry.tenant)/\(entry.actor)  \(about)\(entry.text ?? "")")
            }
            return
        }
        let entry = try await withClientErrors { try await client.sendFeedback(text.joined(separator: " ")) }
        print("thank you: feedback #\(entry.sequence) recorded")
    }
}
