import AllotAPI
import Foundation

extension AllotClient {
    public func costs(
        groupBy: CostGrouping,
        from: String? = nil,
        to: String? = nil,
        source: CostSource = .estimated
    ) async throws(ClientError) -> CostReport {
        try await call(
            "GET",
            "/v1/costs",
            query: Self.window(from, to) + [
                URLQueryItem(name: "groupBy", value: groupBy.rawValue), URLQueryItem(name: "source", value: source.rawValue),
            ]
        )
    }

    /// Sends billed rows (each key once) to be kept.
    public func importBilling(_ rows: [BilledCost]) async throws(ClientError) -> BillingImportResult {
        try await call("POST", "/v1/billing/import", body: try encode(BillingImportRequest(rows: rows)))
    }

    /// The FOCUS CSV.
    public func focusExport(from: String? = nil, to: String? = nil) async throws(ClientError) -> String {
        String(
            decoding: try await send("GET", "/v1/costs/export", query: Self.window(from, to) + [URLQueryItem(name: "format", value: "focus")]),
            as: UTF8.self
        )
    }

    public func budgets() async throws(ClientError) -> [BudgetStatus] { try await call("GET", "/v1/budgets") }

    public func saveBudget(_ request: BudgetRequest) async throws(ClientError) -> BudgetStatus {
        try await call("POST", "/v1/budgets", body: try encode(request))
    }

    public func deleteBudget(_ name: String) async throws(ClientError) {
        _ = try await send("DELETE", "/v1/budgets/\(name)")
    }

    public func forecast(metric: String, tenant: String?, days: Int, horizon: Int) async throws(ClientError) -> ForecastReport {
        var query = [
            URLQueryItem(name: "metric", value: metric), URLQueryItem(name: "days", value: "\(days)"),
            URLQueryItem(name: "horizon", value: "\(horizon)"),
        ]
        if let tenant { query.append(URLQueryItem(name: "tenant", value: tenant)) }
        return try await call("GET", "/v1/forecast", query: query)
    }

    public func decide(recommendation id: String, _ request: RecommendationDecisionRequest) async throws(ClientError) -> FeedbackEntry {
        try await call("POST", "/v1/recommendations/\(id)/feedback", body: try encode(request))
    }

    public func acceptanceRates() async throws(ClientError) -> [AcceptanceRate] { try await call("GET", "/v1/recommendations/acceptance") }

    public func sendFeedback(_ text: String) async throws(ClientError) -> FeedbackEntry {
        try await call("POST", "/v1/feedback", body: try encode(ProductFeedbackRequest(text: text)))
    }

    public func feedback() async throws(ClientError) -> [FeedbackEntry] { try await call("GET", "/v1/feedback") }

    static func window(_ from: String?, _ to: String?) -> [URLQueryItem] {
        var query: [URLQueryItem] = []
        if let from { query.append(URLQueryItem(name: "from", value: from)) }
        if let to { query.append(URLQueryItem(name: "to", value: to)) }
        return query
    }
}
