import AllotAPI
import AllotCLI
import AllotClient
import AllotCore
import ArgumentParser
import Foundation

/// `allot top`: a live view of nodes, GPUs, the queue and bottlenecks.
public struct TopCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "top", abstract: "Watch nodes, GPUs, the queue and bottlenecks live.")

    @Option(help: "Seconds between refreshes (the server's scan interval is a good choice).") public var interval: Double = 5
    @Flag(help: "Print one frame and exit.") public var once = false
    @OptionGroup public var client: ClientOptions

    public init() {}

    public func validate() throws {
        guard interval > 0 else { throw ValidationError("--interval: must be positive") }
    }

    public func run() async throws {
        let client = try client.client()
        while true {
            let frame = try await withClientErrors {
                async let utilization = client.utilization()
                async let nodes = client.nodes()
                async let pending = client.allJobs(states: [.pending])
                async let bottlenecks = client.bottlenecks()
                return TopView(
                    time: Date().timeIntervalSince1970,
                    utilization: try await utilization,
                    nodes: try await nodes,
                    pending: try await pending,
                    bottlenecks: try await bottlenecks
                )
            }
            if once {
                print(frame.render())
                return
            }
            // Clear the screen and go home, then draw.
            print("\u{1B}[2J\u{1B}[H" + frame.render() + "\n\n(refreshing every \(Quantity.format(interval)) s; Ctrl-C to quit)")
            try await Task.sleep(for: .seconds(interval))
        }
    }
}

/// `allot recommend [--apply ID]`.
public struct RecommendCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "recommend",
        abstract: "List the optimizer's recommendations, or apply a consolidation or drain plan."
    )

    @Option(help: "Apply this recommendation (consolidation or drain): moved jobs get SIGTERM and the grace period.") public var apply: String?
    @Option(help: "Only this kind: consolidation, drain, idle, rightsizing, scale-down, cheaper-offer, spot, commitment.") public var kind: String?
    @Option(help: "Accept this recommendation (recorded; it raises its kind's rank).") public var accept: String?
    @Option(help: "Dismiss this recommendation: it stays away from its target until its savings double.") public var dismiss: String?
    @Option(help: "Why, with --accept or --dismiss.") public var reason: String?
    @Flag(help: "Show how often each kind is accepted.") public var acceptance = false
    @OptionGroup public var client: ClientOptions
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws {
        guard [apply, accept, dismiss].compactMap({ $0 }).count <= 1 else { throw ValidationError("give one of --apply, --accept, --dismiss") }
        if let kind, Recommendation.Kind(rawValue: kind) == nil {
            throw ValidationError(
                "--kind: invalid value \"\(kind)\": use \(Recommendation.Kind.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
    }

    public func run() async throws {
        let client = try client.client()
        if let id = accept ?? dismiss {
            let decision: FeedbackEntry.Decision = accept != nil ? .accept : .dismiss
            let entry = try await withClientErrors {
                try await client.decide(recommendation: id, RecommendationDecisionRequest(decision: decision, reason: reason))
            }
            if output.output == .json {
                print(try JSONOutput.render(entry))
                return
            }
            print("\(decision == .accept ? "accepted" : "dismissed") \(id) (\(entry.recommendationKind ?? "") \(entry.target ?? ""))")
            return
        }
        if acceptance {
            let rates = try await withClientErrors { try await client.acceptanceRates() }
            if output.output == .json {
                print(try JSONOutput.render(rates))
                return
            }
            var table = TextTable(["KIND", "ACCEPTED", "DISMISSED", "RATE"])
            for rate in rates { table.add([rate.kind, "\(rate.accepted)", "\(rate.dismissed)", String(format: "%.2f", rate.rate)]) }
            print(table.render())
            return
        }
        if let apply {
            let result = try await withClientErrors { try await client.apply(recommendation: apply) }
            if output.output == .json {
                print(try JSONOutput.render(result))
                return
            }
            for move in result.moved {
                print("moved \(move.job): \(move.from.joined(separator: ",")) -> \(move.to.joined(separator: ","))")
            }
            if let started = result.started { print("started \(started)") }
            print("moved jobs were sent SIGTERM with a \(Quantity.format(result.gracePeriodSeconds)) s grace period to checkpoint")
            return
        }
        let recommendations = try await withClientErrors { try await client.recommendations() }.filter { kind == nil || $0.kind.rawValue == kind }
        if output.output == .json {
            print(try JSONOutput.render(recommendations))
            return
        }
        if recommendations.isEmpty {
            print("no recommendations")
            return
        }
        for item in recommendations {
            print("\(item.id)  [\(item.kind.rawValue)]  \(item.title)")
            print("    effect: \(item.effect)")
            if let savings = item.monthlySavings { print("    saves: about $\(String(format: "%.2f", savings)) a month") }
            let evidence = item.evidence.map { "\($0.name)=\(Self.format($0))" }.joined(separator: " ")
            print("    evidence: \(evidence)")
            for move in item.moves ?? [] { print("    move \(move.job): \(move.from.joined(separator: ",")) -> \(move.to.joined(separator: ","))") }
        }
    }

    static func format(_ evidence: Recommendation.Evidence) -> String {
        switch evidence.unit {
        case "bytes": return Quantity.formatBytes(Int64(evidence.value))
        case "ratio": return "\(Quantity.format((evidence.value * 1000).rounded() / 10))%"
        case "seconds": return TopView.duration(evidence.value)
        default: return Quantity.format((evidence.value * 100).rounded() / 100)
        }
    }
}

/// `allot history SERIES` and `allot history --list [PREFIX]`.
public struct HistoryCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "history", abstract: "Show a usage series, or list the series.")

    @Argument(help: "A series (node/NAME/cpu.utilization, job/ID/gpu.utilization, …), or a prefix with --list.") public var series: String = ""
    @Flag(help: "List the series whose names start with the argument.") public var list = false
    @Option(help: "How far back: 30m, 6h, 7d.") public var since: String = "1h"
    @Option(help: "raw, 1m, 1h (the finest that covers --since when left out).") public var resolution: String?
    @OptionGroup public var client: ClientOptions
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws {
        do { _ = try DurationText.parse(since, field: "since") } catch { throw ValidationError("--\(error.description)") }
        if !list && series.isEmpty { throw ValidationError("a series is required (allot history --list shows them)") }
    }

    public func run() async throws {
        let client = try client.client()
        if list {
            for name in try await withClientErrors({ try await client.historySeries(prefix: series) }) { print(name) }
            return
        }
        let to = Date().timeIntervalSince1970
        let from = to - (try DurationText.parse(since, field: "since"))
        let view = try await withClientErrors { try await client.history(series: series, from: from, to: to, resolution: resolution) }
        if output.output == .json {
            print(try JSONOutput.render(view))
            return
        }
        var table = TextTable(["TIME", "MEAN", "MAX"])
        for point in view.points {
            table.add([Date(timeIntervalSince1970: point.time).formatted(.iso8601), Quantity.format(point.mean), Quantity.format(point.max)])
        }
        print("\(view.series) at \(view.resolution), \(view.points.count) points")
        print(table.render())
    }
}
