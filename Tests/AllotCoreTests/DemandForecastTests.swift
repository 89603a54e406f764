import Testing

@testable import AllotCore

struct DemandForecastTests {
    /// Ten weeks of a weekly pattern on a slow trend, with deterministic noise.
    func weekly(_ days: Int) -> [Double] {
        var random = SplitMix64(seed: 7)
        return (0..<days).map { day in
            let pattern = [100.0, 120, 130, 125, 110, 60, 50][day % 7]
            let noise = Double(random.next() % 1000) / 1000 * 6 - 3
            return pattern + Double(day) * 0.5 + noise
        }
    }

    @Test func aWeeklySeriesIsForecastWithItsSeasonAndAnHonestInterval() {
        let history = weekly(70)
        let forecast = DemandForecaster.forecast(history, horizon: 14)
        #expect(forecast.model == .holtWinters)
        let truth = (70..<84).map { day in [100.0, 120, 130, 125, 110, 60, 50][day % 7] + Double(day) * 0.5 }
        for (point, actual) in zip(forecast.points, truth) {
            #expect(abs(point.value - actual) < 12)
            #expect(point.lower <= actual && actual <= point.upper)
        }
        // Wider further out.
        #expect(forecast.points[13].upper - forecast.points[13].lower > forecast.points[0].upper - forecast.points[0].lower)
        let tested = DemandForecaster.backtest(history)
        #expect(tested.map { $0.model < $0.seasonalNaive } == true)
        #expect(tested.map { $0.model < 5 } == true)
    }

    @Test func shortHistoriesFallBackToSimplerModels() {
        #expect(DemandForecaster.forecast([10, 12, 14, 16, 18], horizon: 2).model == .holt)
        let trend = DemandForecaster.forecast([10, 12, 14, 16, 18], horizon: 2)
        #expect(abs(trend.points[0].value - 20) < 1.5)
        #expect(trend.backtestMAPE == nil)
        let mean = DemandForecaster.forecast([4, 6], horizon: 3)
        #expect(mean.model == .mean)
        #expect(mean.points.map(\.value) == [5, 5, 5])
        #expect(DemandForecaster.forecast([], horizon: 1).points.count == 1)
    }
}
