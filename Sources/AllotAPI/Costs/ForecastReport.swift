/// `GET /v1/forecast`: a daily series from the cost accounting and its forecast.
public struct ForecastReport: Codable, Equatable, Sendable {
    /// `gpu-hours` or `cost`.
    public var metric: String
    /// `nil`: every tenant the caller sees (and idle, for admins).
    public var tenant: String?
    public struct Day: Codable, Equatable, Sendable {
        /// `2026-11-23`.
        public var day: String
        public var value: Double
        /// The 95 % prediction interval (forecast days only).
        public var lower: Double?
        public var upper: Double?

        public init(day: String, value: Double, lower: Double? = nil, upper: Double? = nil) {
            self.day = day
            self.value = value
            self.lower = lower
            self.upper = upper
        }
    }

    public var history: [Day]
    public var forecast: [Day]
    /// `holt-winters`, `holt` or `mean`.
    public var model: String
    /// One-step MAPE (%) over the held-out tail, and seasonal naive's; `nil` on short histories.
    public var backtestMAPE: Double?
    public var seasonalNaiveMAPE: Double?
    /// The forecast's sum over the horizon.
    public var forecastTotal: Double

    public init(
        metric: String,
        tenant: String?,
        history: [Day],
        forecast: [Day],
        model: String,
        backtestMAPE: Double?,
        seasonalNaiveMAPE: Double?
    ) {
        self.metric = metric
        self.tenant = tenant
        self.history = history
        self.forecast = forecast
        self.model = model
        self.backtestMAPE = backtestMAPE
        self.seasonalNaiveMAPE = seasonalNaiveMAPE
        forecastTotal = forecast.map(\.value).reduce(0, +)
    }
}
