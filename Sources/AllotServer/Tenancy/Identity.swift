import AllotAPI

/// Who a request comes from, once its bearer token is known.
public struct Identity: Sendable, Equatable {
    /// A token id, `bootstrap-admin` or `agent`, for the audit log.
    public var actor: String
    /// `nil` for the agent join token.
    public var role: Role?
    public var tenant: String
    /// The tenants this identity acts in: its tenant and every sub-tenant; `nil` means all (admin).
    public var scope: Set<String>?

    public init(actor: String, role: Role?, tenant: String, scope: Set<String>?) {
        self.actor = actor
        self.role = role
        self.tenant = tenant
        self.scope = scope
    }

    public static let agent = Identity(actor: "agent", role: nil, tenant: "default", scope: [])

    public var isAgent: Bool { role == nil }
    public var isAdmin: Bool { role == .admin }

    /// Whether a resource of `tenant` is visible to this identity.
    public func sees(_ tenant: String) -> Bool { scope.map { $0.contains(tenant) } ?? true }

    public var roleName: String { role?.rawValue ?? "agent" }
}
