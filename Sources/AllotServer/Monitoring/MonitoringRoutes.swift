import AllotAPI
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension APIRoutes {
    /// `/metrics`, `/v1/utilization`, `/v1/bottlenecks`, `/v1/history`, `/v1/recommendations`.
    func addMonitoring(to router: Router<AllotRequestContext>) {
        router.get("/metrics") { _, _ in
            let text = plane.metrics.exposition(await plane.gaugeSamples())
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: text))
            )
        }
        router.get("/v1/utilization") { _, _ in jsonResponse(await plane.utilization()) }
        router.get("/v1/bottlenecks") { _, context in jsonResponse(await plane.bottlenecks(for: try context.caller())) }
        router.get("/v1/history") { request, context in
            let caller = try context.caller()
            let parameters = request.uri.queryParameters
            guard let series = parameters.get("series"), !series.isEmpty else {
                throw APIError(.badRequest, .invalidField, "series: required (list them with GET /v1/history/series)")
            }
            try await requireVisible(series: series, caller)
            let time = plane.now()
            let to = try parameters.get("to").map { value throws(APIError) in try number(value, "to") } ?? time
            let from = try parameters.get("from").map { value throws(APIError) in try number(value, "from") } ?? to - 3_600
            guard from <= to else { throw APIError(.unprocessableContent, .invalidField, "from: must not be after to") }
            return jsonResponse(try await plane.recorder.view(series, from: from, to: to, resolution: parameters.get("resolution"), now: time))
        }
        router.get("/v1/history/series") { request, context in
            let caller = try context.caller()
            let names = try await plane.recorder.seriesNames(prefix: request.uri.queryParameters.get("prefix") ?? "")
            var visible: [String] = []
            for name in names where (try? await requireVisible(series: name, caller)) != nil { visible.append(name) }
            return jsonResponse(visible)
        }
        router.get("/v1/recommendations") { _, context in jsonResponse(await plane.optimizer.recommendations(for: try context.caller())) }
        router.post("/v1/recommendations/:id/apply") { _, context in
            jsonResponse(try await plane.apply(recommendation: try context.parameters.require("id")))
        }
    }

    /// Node and cluster series are for everyone; a job's or a tenant's only within the caller's scope.
    private func requireVisible(series: String, _ caller: Identity) async throws(APIError) {
        let parts = series.split(separator: "/", maxSplits: 2).map(String.init)
        guard parts.count >= 2 else { return }
        switch parts[0] {
        case "job":
            let tenant = try await plane.tenant(ofJob: JobID(parts[1]))
            try AccessControl.requireVisible(caller, tenant: tenant, resource: "series \(series)")
        case "tenant":
            try AccessControl.requireVisible(caller, tenant: parts[1], resource: "series \(series)")
        default:
            return
        }
    }

    private func number(_ text: String, _ name: String) throws(APIError) -> Double {
        guard let value = Double(text), value.isFinite else {
            throw APIError(.badRequest, .invalidField, "\(name): expected seconds since 1970")
        }
        return value
    }
}

/// Counts every request and its latency by method, route template and status.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        metrics.request(
            method: request.method.rawValue,
            route: context.endpointPath ?? "unmatched",
            status: Int(response.status.code),
            duration: ContinuousClock.now - start
        )
        return response
    }
}
