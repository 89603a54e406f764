/// The body of `POST /v1/tenants` and `PATCH /v1/tenants/{name}`.
public struct TenantRequest: Codable, Sendable, Equatable {
    public var name: String?
    public var parent: String?
    public var weight: Double?
    public var guaranteed: ResourceQuota?
    public var limit: ResourceQuota?

    public init(name: String? = nil, parent: String? = nil, weight: Double? = nil, guaranteed: ResourceQuota? = nil, limit: ResourceQuota? = nil) {
        self.name = name
        self.parent = parent
        self.weight = weight
        self.guaranteed = guaranteed
        self.limit = limit
    }
}

/// The body of `POST /v1/tokens`.
public struct TokenRequest: Codable, Sendable, Equatable {
    public var name: String?
    public var role: Role?
    public var tenant: String?
    public var expiresInSeconds: Double?

    public init(name: String? = nil, role: Role? = nil, tenant: String? = nil, expiresInSeconds: Double? = nil) {
        self.name = name
        self.role = role
        self.tenant = tenant
        self.expiresInSeconds = expiresInSeconds
    }
}
