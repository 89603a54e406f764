import AllotAPI
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension APIRoutes {
    /// `/v1/costs`, `/v1/costs/export`, `/v1/budgets`, `/v1/forecast`, feedback on recommendations and the product.
    func addCosts(to router: Router<AllotRequestContext>) {
        router.get("/v1/costs") { request, context in
            let parameters = request.uri.queryParameters
            let grouping = try grouping(parameters.get("groupBy"))
            let (from, to) = try window(parameters.get("from"), parameters.get("to"))
            let source = try costSource(parameters.get("source"))
            return jsonResponse(try await plane.costCenter.costs(groupBy: grouping, from: from, to: to, for: try context.caller(), source: source))
        }
        router.post("/v1/billing/import") { request, context in
            var request = request
            let rows = try decode(BillingImportRequest.self, try await body(&request))
            return jsonResponse(try await plane.costCenter.importBilled(rows, by: try context.caller()))
        }
        router.get("/v1/costs/export") { request, context in
            let parameters = request.uri.queryParameters
            guard (parameters.get("format") ?? "focus") == "focus" else {
                throw APIError(.badRequest, .invalidField, "format: only focus (FinOps FOCUS 1.0 CSV)")
            }
            let (from, to) = try window(parameters.get("from"), parameters.get("to"))
            let text = try await plane.costCenter.focusExport(from: from, to: to, for: try context.caller())
            return Response(
                status: .ok,
                headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"allot-focus.csv\""],
                body: ResponseBody(byteBuffer: ByteBuffer(string: text))
            )
        }
        router.get("/v1/budgets") { _, context in jsonResponse(try await plane.costCenter.budgetStatuses(for: try context.caller())) }
        router.post("/v1/budgets") { request, context in
            var request = request
            let budget = try decode(BudgetRequest.self, try await body(&request))
            let tenants = Set(await directory.tenantsByName.keys)
            return jsonResponse(try await plane.costCenter.saveBudget(budget, knownTenants: tenants, by: try context.caller()), status: .created)
        }
        router.delete("/v1/budgets/:name") { _, context in
            try await plane.costCenter.deleteBudget(try context.parameters.require("name"), by: try context.caller())
            return Response(status: .noContent)
        }
        router.get("/v1/forecast") { request, context in
            let parameters = request.uri.queryParameters
            return jsonResponse(
                try await plane.costCenter.forecast(
                    metric: parameters.get("metric") ?? "gpu-hours",
                    tenant: parameters.get("tenant"),
                    days: try integer(parameters.get("days"), "days") ?? 56,
                    horizon: try integer(parameters.get("horizon"), "horizon") ?? 14,
                    for: try context.caller()
                )
            )
        }
        router.post("/v1/recommendations/:id/feedback") { request, context in
            var request = request
            let decision = try decode(RecommendationDecisionRequest.self, try await body(&request))
            return jsonResponse(
                try await plane.optimizer.decide(recommendation: try context.parameters.require("id"), decision, by: try context.caller()),
                status: .created
            )
        }
        router.get("/v1/recommendations/acceptance") { _, _ in jsonResponse(await plane.optimizer.acceptanceRates()) }
        router.post("/v1/feedback") { request, context in
            var request = request
            let feedback = try decode(ProductFeedbackRequest.self, try await body(&request))
            return jsonResponse(try await plane.optimizer.productFeedback(feedback, by: try context.caller()), status: .created)
        }
        router.get("/v1/feedback") { _, context in jsonResponse(try await plane.optimizer.feedback(for: try context.caller())) }
    }

    private func costSource(_ text: String?) throws(APIError) -> CostSource {
        guard let text else { return .estimated }
        guard let source = CostSource(rawValue: text) else {
            throw APIError(.badRequest, .invalidField, "source: use \(CostSource.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return source
    }

    private func grouping(_ text: String?) throws(APIError) -> CostGrouping {
        guard let text else { return .tenant }
        guard let grouping = CostGrouping(rawValue: text) else {
            throw APIError(.badRequest, .invalidField, "groupBy: use \(CostGrouping.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return grouping
    }

    /// `from` and `to` as seconds since 1970 or UTC dates; this calendar month so far by default.
    private func window(_ fromText: String?, _ toText: String?) throws(APIError) -> (Double, Double) {
        let time = plane.now()
        func parse(_ text: String, _ name: String) throws(APIError) -> Double {
            guard let value = CostDates.parse(text) else {
                throw APIError(.badRequest, .invalidField, "\(name): expected 2026-11-23, 2026-11-23T08:00:00Z or seconds since 1970")
            }
            return value
        }
        let to = try toText.map { text throws(APIError) in try parse(text, "to") } ?? time
        let from = try fromText.map { text throws(APIError) in try parse(text, "from") } ?? CostDates.month(time).start
        guard from < to else { throw APIError(.unprocessableContent, .invalidField, "from: must be before to") }
        return (from, to)
    }

    private func integer(_ text: String?, _ name: String) throws(APIError) -> Int? {
        guard let text else { return nil }
        guard let value = Int(text) else { throw APIError(.badRequest, .invalidField, "\(name): expected a whole number") }
        return value
    }
}
