import AllotAPI
import AllotCLI
import AllotClient
import AllotCore
import AllotSimulator
import ArgumentParser
import Foundation

/// `allot forecast`: the server's daily GPU-hours or spend (per tenant or in all), or `--trace FILE`'s daily
/// GPU-hours, forecast with its backtest.
public struct ForecastCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "forecast",
        abstract:
            "Forecast daily GPU-hours or spend (Holt-Winters, weekly season) from the server's accounting or a trace, with intervals and a backtest against seasonal naive."
    )

    @Option(help: "A trace (Philly, Alibaba DLRM or Allot CSV/JSON lines); the server's own history when absent.") public var trace: String?
    @Option(help: "With the server: gpu-hours or cost.") public var metric: String = "gpu-hours"
    @Option(help: "With the server: one tenant (and those below it).") public var tenant: String?
    @Option(help: "With the server: whole days of history.") public var days: Int = 56
    @OptionGroup public var client: ClientOptions
    @Option(name: .customLong("from-day"), help: "First day of the history used (0 = the trace's first).") public var fromDay: Int = 0
    @Option(name: .customLong("to-day"), help: "Day after the last one used (the trace's end when absent).") public var toDay: Int?
    @Option(help: "Days to forecast.") public var horizon: Int = 14
    @Option(help: "Days held out for the backtest.") public var holdout: Int = 14
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws {
        guard horizon >= 1, holdout >= 1, fromDay >= 0 else {
            throw ValidationError("--horizon and --holdout must be positive, --from-day not negative")
        }
    }

    public func run() async throws {
        guard let trace else { return try await serverForecast() }
        guard let data = FileManager.default.contents(atPath: trace) else { throw CommandFailure("--trace: cannot read \(trace)") }
        let text = String(decoding: data, as: UTF8.self)
        guard let format = TraceFormat.detect(text) else { throw CommandFailure("--trace: cannot tell the format of \(trace)") }
        let loaded: Trace
        do { loaded = try format.read(text) } catch { throw CommandFailure("--trace \(trace): \(error.description)") }
        let daily = loaded.dailyGPUHours()
        let end = min(toDay ?? daily.count, daily.count)
        guard fromDay < end else { throw ValidationError("--from-day: the trace has \(daily.count) days") }
        let history = Array(daily[fromDay..<end])
        let forecast = DemandForecaster.forecast(history, horizon: horizon)
        let tested = DemandForecaster.backtest(history, holdout: holdout)
        if output.output == .json {
            struct Report: Encodable {
                var days: Int
                var model: String
                var alpha, beta, gamma: Double
                var backtestMAPE: Double?
                var seasonalNaiveMAPE: Double?
                var forecast: [[String: Double]]
            }
            let points = forecast.points.map { ["step": Double($0.step), "gpuHours": $0.value, "lower": $0.lower, "upper": $0.upper] }
            print(
                try JSONOutput.render(
                    Report(
                        days: history.count,
                        model: forecast.model.rawValue,
                        alpha: forecast.alpha,
                        beta: forecast.beta,
                        gamma: forecast.gamma,
                        backtestMAPE: tested?.model,
                        seasonalNaiveMAPE: tested?.seasonalNaive,
                        forecast: points
                    )
                )
            )
            return
        }
        print(
            "history: days \(fromDay)..<\(end) (\(history.count) days), mean \(Quantity.format((history.reduce(0, +) / Double(max(1, history.count))).rounded())) GPU-hours/day"
        )
        print("model: \(forecast.model.rawValue) (alpha \(forecast.alpha), beta \(forecast.beta), gamma \(forecast.gamma))")
        if let tested {
            print(
                "backtest over the last \(holdout) days, one step ahead: MAPE \(Quantity.format((tested.model * 10).rounded() / 10)) % (seasonal naive \(Quantity.format((tested.seasonalNaive * 10).rounded() / 10)) %)"
            )
        }
        var table = TextTable(["DAY", "GPU-HOURS", "95 % INTERVAL"])
        for point in forecast.points {
            table.add([
                "+\(point.step)", Quantity.format(point.value.rounded()),
                "\(Quantity.format(point.lower.rounded())) – \(Quantity.format(point.upper.rounded()))",
            ])
        }
        print(table.render())
    }

    func serverForecast() async throws {
        guard metric == "gpu-hours" || metric == "cost" else { throw ValidationError("--metric: use gpu-hours or cost") }
        let client = try client.client()
        let report = try await withClientErrors { try await client.forecast(metric: metric, tenant: tenant, days: days, horizon: horizon) }
        if output.output == .json {
            print(try JSONOutput.render(report))
            return
        }
        let unit = metric == "cost" ? "USD" : "GPU-hours"
        let mean = report.history.map(\.value).reduce(0, +) / Double(max(1, report.history.count))
        print(
            "\(report.tenant.map { "tenant \($0)" } ?? "all tenants"): \(report.history.count) days, mean \(String(format: "%.2f", mean)) \(unit)/day"
        )
        print("model: \(report.model)")
        if let model = report.backtestMAPE, let naive = report.seasonalNaiveMAPE {
            print("backtest, one step ahead: MAPE \(String(format: "%.1f", model)) % (seasonal naive \(String(format: "%.1f", naive)) %)")
        }
        var table = TextTable(["DAY", unit, "95 % INTERVAL"])
        for day in report.forecast {
            table.add([day.day, String(format: "%.2f", day.value), String(format: "%.2f – %.2f", day.lower ?? 0, day.upper ?? 0)])
        }
        print(table.render())
        print("next \(report.forecast.count) days: \(String(format: "%.2f", report.forecastTotal)) \(unit)")
    }
}
