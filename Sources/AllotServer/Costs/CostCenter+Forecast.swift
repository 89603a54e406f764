import AllotAPI
import AllotCore
import HTTPTypes

extension CostCenter {
    /// Daily GPU-hours held or spend over the last `days` whole UTC days (today excluded), for one tenant (its
    /// subtree) or everything the caller sees, forecast `horizon` days ahead with the core's forecaster.
    public func forecast(metric: String, tenant: String?, days: Int, horizon: Int, for identity: Identity) async throws(APIError) -> ForecastReport {
        guard metric == "gpu-hours" || metric == "cost" else {
            throw APIError(.badRequest, .invalidField, "metric: use gpu-hours or cost")
        }
        guard (2...730).contains(days), (1...365).contains(horizon) else {
            throw APIError(.badRequest, .invalidField, "days: 2 to 730; horizon: 1 to 365")
        }
        if let tenant { try AccessControl.requireVisible(identity, tenant: tenant, resource: "tenant \(tenant)") }
        let today = (now() / 86_400).rounded(.down) * 86_400
        let from = today - Double(days) * 86_400
        var daily = [Double](repeating: 0, count: days)
        for line in try await visibleCostLines(from: from, to: today, for: identity) {
            if let tenant {
                guard let owner = line.tenant, tenants.lineage(owner).contains(tenant) else { continue }
            } else if metric == "gpu-hours", line.job == nil {
                // Demand is what jobs held: idle GPU-hours are supply nobody used.
                continue
            }
            let index = Int(((line.start - from) / 86_400).rounded(.down))
            guard daily.indices.contains(index) else { continue }
            daily[index] += metric == "cost" ? line.cost : line.gpuHours
        }
        let forecast = DemandForecaster.forecast(daily, horizon: horizon)
        return ForecastReport(
            metric: metric,
            tenant: tenant,
            history: daily.enumerated().map { ForecastReport.Day(day: CostDates.day(from + Double($0.offset) * 86_400), value: $0.element) },
            forecast: forecast.points.map { point in
                ForecastReport.Day(
                    day: CostDates.day(today + Double(point.step - 1) * 86_400),
                    value: point.value,
                    lower: point.lower,
                    upper: point.upper
                )
            },
            model: forecast.model.rawValue,
            backtestMAPE: forecast.backtestMAPE,
            seasonalNaiveMAPE: forecast.seasonalNaiveMAPE
        )
    }
}
