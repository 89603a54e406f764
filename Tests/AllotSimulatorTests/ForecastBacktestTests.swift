import AllotCore
import Testing

@testable import AllotSimulator

struct ForecastBacktestTests {
    @Test func holtWintersBeatsSeasonalNaiveOnPhillyDailyGPUHours() throws {
        let trace = try PhillyTrace.read(try TraceFiles.text(TraceFiles.philly))
        let daily = trace.dailyGPUHours()
        // Every GPU-second is counted once.
        #expect(abs(daily.reduce(0, +) * 3_600 - trace.jobs.reduce(0) { $0 + $1.gpuSeconds }) < 1)
        // The trace ramps up over its first three weeks and thins out after Thanksgiving: the weeks between are
        // the cluster in steady use (days 21 to 76 from the first submission, 8 weeks).
        let steady = Array(daily[21..<77])
        let tested = try #require(DemandForecaster.backtest(steady, holdout: 14))
        #expect(tested.model < tested.seasonalNaive)
        let forecast = DemandForecaster.forecast(steady, horizon: 7)
        #expect(forecast.model == .holtWinters)
        #expect(forecast.backtestMAPE == tested.model)
        #expect(forecast.points.allSatisfy { $0.lower <= $0.value && $0.value <= $0.upper })
    }
}
