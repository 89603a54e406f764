import AllotAPI
import Foundation
import HTTPTypes
import Hummingbird

/// A query parameter given with an empty value (`?tenant=`) is refused with `400` naming it, for every route
/// alike, as the API's document says; leave a parameter out to not ask for it. (The console's forms, under
/// `/ui`, may send empty fields.)
struct EmptyQueryValuesMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path.hasPrefix("/v1/"), let query = request.uri.query, !query.isEmpty {
            for item in query.split(separator: "&", omittingEmptySubsequences: false) {
                let name = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                let empty = !item.contains("=") || item.hasSuffix("=")
                guard !empty else {
                    let shown = String(name).removingPercentEncoding ?? String(name)
                    throw APIError(.badRequest, .invalidField, "\(shown.isEmpty ? "query" : shown): empty value (leave the parameter out instead)")
                }
            }
        }
        return try await next(request, context)
    }
}
