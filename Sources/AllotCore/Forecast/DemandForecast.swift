/// A forecast of a daily series (GPU-hours, spend): point values with prediction intervals, the model that
/// made it, and how well that model did on the most recent part of the history.
public struct DemandForecast: Sendable, Equatable {
    public enum Model: String, Sendable, Equatable {
        /// Additive Holt-Winters: level, trend and a seasonal term per day of the season.
        case holtWinters = "holt-winters"
        /// Holt's linear trend, when the history is shorter than three seasons.
        case holt
        /// The mean, for two points or fewer.
        case mean
    }

    public struct Point: Sendable, Equatable {
        /// Steps ahead of the last observation (1 = the next day).
        public var step: Int
        public var value: Double
        public var lower: Double
        public var upper: Double
    }

    public var model: Model
    public var alpha: Double
    public var beta: Double
    public var gamma: Double
    public var points: [Point]
    /// Mean absolute percentage error of one-step forecasts over the held-out tail (`nil` when too short).
    public var backtestMAPE: Double?
    /// The same for the seasonal-naive forecast (the value one season earlier), for comparison.
    public var seasonalNaiveMAPE: Double?
}

/// Forecasts daily demand: Holt-Winters with a weekly season when there are three seasons of history, Holt's
/// linear trend on shorter histories, the mean on two points or fewer. Smoothing parameters are chosen on a
/// grid to minimise one-step absolute percentage error; intervals come from the one-step residuals, widening
/// with the square root of the horizon.
public enum DemandForecaster {
    public static func forecast(_ history: [Double], horizon: Int, season: Int = 7, z: Double = 1.96) -> DemandForecast {
        let (model, parameters) = fit(history, season: season)
        let (fitted, state) = run(history, model: model, parameters, season: season)
        let residuals = zip(history, fitted).dropFirst(warmUp(model, season)).map { $0 - $1 }
        let sigma = residuals.isEmpty ? 0 : (residuals.reduce(0) { $0 + $1 * $1 } / Double(residuals.count)).squareRoot()
        let points = (1...max(1, horizon)).map { step in
            let value = max(0, predict(state, model: model, step: step, count: history.count, season: season))
            let width = z * sigma * Double(step).squareRoot()
            return DemandForecast.Point(step: step, value: value, lower: max(0, value - width), upper: value + width)
        }
        let tested = backtest(history, season: season)
        return DemandForecast(
            model: model,
            alpha: parameters.alpha,
            beta: parameters.beta,
            gamma: parameters.gamma,
            points: points,
            backtestMAPE: tested?.model,
            seasonalNaiveMAPE: tested?.seasonalNaive
        )
    }

    /// One-step MAPE over the last `holdout` points (default: two seasons, at most a quarter of the history),
    /// parameters fitted on what comes before, for the model and for seasonal naive.
    public static func backtest(_ history: [Double], season: Int = 7, holdout: Int? = nil) -> (model: Double, seasonalNaive: Double)? {
        let tail = holdout ?? min(2 * season, history.count / 4)
        guard tail >= 1, history.count - tail >= 2 * season else { return nil }
        let training = Array(history.prefix(history.count - tail))
        let (model, parameters) = fit(training, season: season)
        let (fitted, _) = run(history, model: model, parameters, season: season)
        let range = (history.count - tail)..<history.count
        let modelErrors = range.compactMap { percentError(history[$0], fitted[$0]) }
        let naiveErrors = range.compactMap { percentError(history[$0], history[$0 - season]) }
        guard !modelErrors.isEmpty, !naiveErrors.isEmpty else { return nil }
        return (modelErrors.reduce(0, +) / Double(modelErrors.count) * 100, naiveErrors.reduce(0, +) / Double(naiveErrors.count) * 100)
    }

    struct Parameters: Equatable {
        var alpha = 0.5
        var beta = 0.0
        var gamma = 0.0
    }

    struct State {
        var level: Double
        var trend: Double
        var seasonal: [Double]
    }

    static func percentError(_ actual: Double, _ predicted: Double) -> Double? { actual > 0 ? abs(actual - predicted) / actual : nil }

    static func warmUp(_ model: DemandForecast.Model, _ season: Int) -> Int { model == .holtWinters ? season : 1 }

    static func choose(_ count: Int, season: Int) -> DemandForecast.Model {
        if count >= 3 * season { return .holtWinters }
        return count >= 3 ? .holt : .mean
    }

    static func fit(_ history: [Double], season: Int) -> (DemandForecast.Model, Parameters) {
        let model = choose(history.count, season: season)
        guard model != .mean else { return (model, Parameters()) }
        var best: (error: Double, parameters: Parameters)?
        let grid = (1...19).map { Double($0) / 20 }
        for alpha in grid {
            for beta in [0, 0.02, 0.05, 0.1, 0.2] {
                for gamma in model == .holtWinters ? [0] + grid.filter({ $0 < 1 }) : [0] {
                    let parameters = Parameters(alpha: alpha, beta: beta, gamma: gamma)
                    let (fitted, _) = run(history, model: model, parameters, season: season)
                    let errors = zip(history, fitted).dropFirst(warmUp(model, season)).compactMap { percentError($0, $1) }
                    let error = errors.reduce(0, +)
                    if best == nil || error < best!.error { best = (error, parameters) }
                }
            }
        }
        return (model, best?.parameters ?? Parameters())
    }

    /// One-step forecasts for every point of `history` (each made before seeing it) and the final state.
    static func run(_ history: [Double], model: DemandForecast.Model, _ p: Parameters, season: Int) -> ([Double], State) {
        guard !history.isEmpty else { return ([], State(level: 0, trend: 0, seasonal: Array(repeating: 0, count: season))) }
        switch model {
        case .mean:
            let mean = history.reduce(0, +) / Double(history.count)
            return (Array(repeating: mean, count: history.count), State(level: mean, trend: 0, seasonal: Array(repeating: 0, count: season)))
        case .holt:
            var state = State(level: history[0], trend: history.count > 1 ? history[1] - history[0] : 0, seasonal: Array(repeating: 0, count: season))
            var fitted: [Double] = [history[0]]
            for value in history.dropFirst() {
                fitted.append(state.level + state.trend)
                let previous = state.level
                state.level = p.alpha * value + (1 - p.alpha) * (state.level + state.trend)
                state.trend = p.beta * (state.level - previous) + (1 - p.beta) * state.trend
            }
            return (fitted, state)
        case .holtWinters:
            let first = history.prefix(season).reduce(0, +) / Double(season)
            let second = history.dropFirst(season).prefix(season).reduce(0, +) / Double(season)
            var state = State(level: first, trend: (second - first) / Double(season), seasonal: history.prefix(season).map { $0 - first })
            var fitted: [Double] = []
            for (time, value) in history.enumerated() {
                let slot = time % season
                fitted.append(state.level + state.trend + state.seasonal[slot])
                let previous = state.level
                state.level = p.alpha * (value - state.seasonal[slot]) + (1 - p.alpha) * (state.level + state.trend)
                state.trend = p.beta * (state.level - previous) + (1 - p.beta) * state.trend
                state.seasonal[slot] = p.gamma * (value - state.level) + (1 - p.gamma) * state.seasonal[slot]
            }
            return (fitted, state)
        }
    }

    static func predict(_ state: State, model: DemandForecast.Model, step: Int, count: Int, season: Int) -> Double {
        switch model {
        case .mean: return state.level
        case .holt: return state.level + Double(step) * state.trend
        case .holtWinters: return state.level + Double(step) * state.trend + state.seasonal[(count + step - 1) % season]
        }
    }
}
