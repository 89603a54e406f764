import AllotAPI
import Foundation

extension AllotClient {
    public func utilization() async throws(ClientError) -> UtilizationView { try await call("GET", "/v1/utilization") }

    public func bottlenecks() async throws(ClientError) -> [BottleneckView] { try await call("GET", "/v1/bottlenecks") }

    public func recommendations() async throws(ClientError) -> [Recommendation] { try await call("GET", "/v1/recommendations") }

    public func apply(recommendation id: String) async throws(ClientError) -> ApplyResult {
        try await call("POST", "/v1/recommendations/\(id)/apply")
    }

    public func history(series: String, from: Double? = nil, to: Double? = nil, resolution: String? = nil) async throws(ClientError) -> HistoryView {
        var query = [URLQueryItem(name: "series", value: series)]
        if let from { query.append(URLQueryItem(name: "from", value: "\(from)")) }
        if let to { query.append(URLQueryItem(name: "to", value: "\(to)")) }
        if let resolution { query.append(URLQueryItem(name: "resolution", value: resolution)) }
        return try await call("GET", "/v1/history", query: query)
    }

    public func historySeries(prefix: String = "") async throws(ClientError) -> [String] {
        try await call("GET", "/v1/history/series", query: [URLQueryItem(name: "prefix", value: prefix)])
    }

    /// The Prometheus exposition text.
    public func metrics() async throws(ClientError) -> String { try await text("GET", "/metrics") }
}
