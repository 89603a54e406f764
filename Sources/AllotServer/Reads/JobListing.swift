import AllotAPI
import AllotStore
import HTTPTypes
import Hummingbird

/// `GET /v1/jobs`: the query a request asks for, limited to what the caller sees, and the page it gets with a
/// `Link` to the next one. The leader reads its read model and the store; a follower reads the database alone.
enum JobListing {
    static func respond(to request: Request, caller: Identity, page: @Sendable (JobQuery) async throws -> [JobView]) async throws -> Response {
        var query = JobQuery()
        let parameters = request.uri.queryParameters
        if let state = parameters.get("state") {
            var states: Set<JobState> = []
            for name in state.split(separator: ",") {
                guard let value = JobState(rawValue: String(name)) else {
                    throw APIError(
                        .badRequest,
                        .invalidField,
                        "state: unknown state \"\(name)\" (use \(JobState.allCases.map(\.rawValue).joined(separator: ", ")))"
                    )
                }
                states.insert(value)
            }
            query.states = states
        }
        query.tenant = parameters.get("tenant")
        if let limit = parameters.get("limit") {
            // A positive 64-bit whole number; past the largest page it is the largest page.
            guard let value = Int(limit), value > 0 else { throw APIError(.badRequest, .invalidField, "limit: expected a positive whole number") }
            query.limit = value
        }
        if let after = parameters.get("after") {
            guard let value = Int64(after) else { throw APIError(.badRequest, .invalidField, "after: expected a sequence number") }
            query.afterSequence = value
        }
        if let tenant = query.tenant, !caller.sees(tenant) { return jsonResponse([JobView]()) }
        query.tenants = caller.scope
        query.limit = min(query.limit ?? ControlPlane.defaultPage, ControlPlane.largestPage)
        let views = try await page(query)
        var response = jsonResponse(views)
        // A full page: the next one starts after its last job (RFC 8288).
        if let last = views.last, views.count == query.limit {
            var next = [("after", "\(last.job.sequence)"), ("limit", "\(query.limit ?? 0)")]
            if let state = parameters.get("state") { next.append(("state", state)) }
            if let tenant = query.tenant { next.append(("tenant", tenant)) }
            let link = next.map { "\($0)=\(queryEscaped($1))" }.joined(separator: "&")
            response.headers[HTTPField.Name("Link")!] = "</v1/jobs?\(link)>; rel=\"next\""
        }
        return response
    }
}
