import AllotAPI
import Foundation

/// Tenants, tokens and the audit log.
extension AllotClient {
    public func tenants() async throws(ClientError) -> [Tenant] { try await call("GET", "/v1/tenants") }

    public func createTenant(_ request: TenantRequest) async throws(ClientError) -> Tenant {
        try await call("POST", "/v1/tenants", body: try encode(request))
    }

    public func updateTenant(_ name: String, _ request: TenantRequest) async throws(ClientError) -> Tenant {
        try await call("PATCH", "/v1/tenants/\(name)", body: try encode(request))
    }

    public func tokens() async throws(ClientError) -> [TokenView] { try await call("GET", "/v1/tokens") }

    public func createToken(_ request: TokenRequest) async throws(ClientError) -> TokenView {
        try await call("POST", "/v1/tokens", body: try encode(request))
    }

    public func revokeToken(_ id: String) async throws(ClientError) -> TokenView { try await call("DELETE", "/v1/tokens/\(id)") }

    /// Replaces a token (`self`: the one this client uses) and revokes it; the new secret is in the answer.
    public func rotateToken(_ id: String, requiring role: Role? = nil) async throws(ClientError) -> TokenView {
        try await call("POST", "/v1/tokens/\(escape(id))/rotate", query: role.map { [URLQueryItem(name: "role", value: $0.rawValue)] } ?? [])
    }

    /// Audit entries after `after`, page after page of 1,000, until `limit` (every one when `nil`).
    public func allAudit(after: Int64? = nil, limit: Int? = nil) async throws(ClientError) -> [AuditEntry] {
        var all: [AuditEntry] = []
        while limit.map({ all.count < $0 }) ?? true {
            let want = min(limit.map { $0 - all.count } ?? Self.largestPage, Self.largestPage)
            let page = try await audit(after: all.last?.sequence ?? after, limit: want)
            all += page
            if page.count < want { break }
        }
        return all
    }

    public func audit(after: Int64? = nil, limit: Int? = nil) async throws(ClientError) -> [AuditEntry] {
        var query: [URLQueryItem] = []
        if let after { query.append(URLQueryItem(name: "after", value: "\(after)")) }
        if let limit { query.append(URLQueryItem(name: "limit", value: "\(limit)")) }
        return try await call("GET", "/v1/audit", query: query)
    }
}
