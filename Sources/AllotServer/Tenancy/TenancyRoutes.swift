import AllotAPI
import Foundation
import HTTPTypes
import Hummingbird

extension APIRoutes {
    /// `/v1/tenants`, `/v1/tokens`, `/v1/audit`. Who may call them is decided by ``AccessMiddleware``; the
    /// directory narrows each answer to the caller's tenants.
    func addTenancy(to router: Router<AllotRequestContext>) {
        router.get("/v1/tenants") { _, context in
            jsonResponse(await directory.tenants(visibleTo: try context.caller()))
        }
        router.post("/v1/tenants") { request, context in
            var request = request
            let body = try decode(TenantRequest.self, try await body(&request))
            return jsonResponse(try await directory.createTenant(body, by: try context.caller()), status: .created)
        }
        router.patch("/v1/tenants/:name") { request, context in
            var request = request
            let body = try decode(TenantRequest.self, try await body(&request))
            return jsonResponse(try await directory.updateTenant(try context.parameters.require("name"), body, by: try context.caller()))
        }
        router.get("/v1/tokens") { _, context in
            jsonResponse(await directory.tokens(visibleTo: try context.caller()))
        }
        router.post("/v1/tokens") { request, context in
            var request = request
            let body = try decode(TokenRequest.self, try await body(&request))
            return jsonResponse(try await directory.createToken(body, by: try context.caller()), status: .created)
        }
        router.post("/v1/tokens/:id/rotate") { request, context in
            let role = try request.uri.queryParameters.get("role").map { name throws(APIError) in
                guard let role = Role(rawValue: name) else { throw APIError(.badRequest, .invalidField, "role: unknown role \"\(name)\"") }
                return role
            }
            let caller = try context.caller()
            let id = try context.parameters.require("id")
            if id == "join" { return jsonResponse(JoinTokenRotation(secret: try await directory.rotateJoinToken()), status: .created) }
            return jsonResponse(try await directory.rotateToken(id, requiring: role, by: caller), status: .created)
        }
        router.delete("/v1/tokens/:id") { _, context in
            jsonResponse(try await directory.revokeToken(try context.parameters.require("id"), by: try context.caller()))
        }
        router.get("/v1/audit") { request, context in
            let parameters = request.uri.queryParameters
            let after = try parameters.get("after").map { text throws(APIError) in Int64(try wholeNumber(text, "after")) }
            // Pages as the job list does: 100 by default, at most 1,000, a full page links to the next.
            let limit =
                try parameters.get("limit").map { text throws(APIError) in
                    let value = try wholeNumber(text, "limit")
                    guard value >= 1 else { throw APIError(.badRequest, .invalidField, "limit: expected a positive whole number") }
                    return min(value, 1_000)
                } ?? 100
            let entries = try await directory.audit(visibleTo: try context.caller(), after: after, limit: limit)
            var response = jsonResponse(entries)
            if let last = entries.last, entries.count == limit {
                response.headers[HTTPField.Name("Link")!] = "</v1/audit?after=\(last.sequence)&limit=\(limit)>; rel=\"next\""
            }
            return response
        }
    }
}
