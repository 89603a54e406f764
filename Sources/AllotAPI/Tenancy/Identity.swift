/// What a token may do. Each role includes the ones below it, within its tenant's subtree; `admin` is global.
public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    /// Read only.
    case viewer
    /// Submit, see and cancel its tenant's jobs.
    case member
    /// Its tenant and sub-tenants: jobs, tokens, quotas within the parent's.
    case tenantAdmin = "tenant-admin"
    /// Everything.
    case admin

    private var rank: Int {
        switch self {
        case .viewer: return 0
        case .member: return 1
        case .tenantAdmin: return 2
        case .admin: return 3
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}

/// An API token as stored: never the secret, only its SHA-256 digest.
public struct APIToken: Codable, Equatable, Sendable {
    /// A public identifier (`tok-…`), safe to show and to name in the audit log.
    public var id: String
    public var name: String
    public var role: Role
    public var tenant: String
    /// Hex SHA-256 of the secret.
    public var secretHash: String
    public var createdAt: Double
    public var createdBy: String?
    public var expiresAt: Double?
    public var revokedAt: Double?

    public init(
        id: String,
        name: String,
        role: Role,
        tenant: String,
        secretHash: String,
        createdAt: Double,
        createdBy: String? = nil,
        expiresAt: Double? = nil,
        revokedAt: Double? = nil
    ) {
        self.id = id
        self.name = name
        self.role = role
        self.tenant = tenant
        self.secretHash = secretHash
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    /// Whether it may be used at `now`.
    public func isActive(at now: Double) -> Bool { revokedAt == nil && (expiresAt.map { now < $0 } ?? true) }
}

/// A token as the API shows it (no digest).
public struct TokenView: Codable, Equatable, Sendable {
    public var id: String
    public var name: String
    public var role: Role
    public var tenant: String
    public var createdAt: Double
    public var createdBy: String?
    public var expiresAt: Double?
    public var revokedAt: Double?
    /// The secret, present only in the response that created it.
    public var secret: String?

    public init(_ token: APIToken, secret: String? = nil) {
        id = token.id
        name = token.name
        role = token.role
        tenant = token.tenant
        createdAt = token.createdAt
        createdBy = token.createdBy
        expiresAt = token.expiresAt
        revokedAt = token.revokedAt
        self.secret = secret
    }
}

/// One mutating call, as the append-only audit log keeps it.
public struct AuditEntry: Codable, Equatable, Sendable {
    /// Assigned by the store, increasing.
    public var sequence: Int64
    public var at: Double
    /// The token id (or `bootstrap-admin`, `agent`).
    public var actor: String
    public var role: String
    /// The tenant the call acted in (the actor's own for global calls).
    public var tenant: String
    /// `METHOD /route/template`.
    public var action: String
    /// The resource acted on (a job id, tenant or token id), if any.
    public var target: String?
    /// The HTTP status returned.
    public var status: Int
    public var message: String?

    public init(
        sequence: Int64 = 0,
        at: Double,
        actor: String,
        role: String,
        tenant: String,
        action: String,
        target: String? = nil,
        status: Int,
        message: String? = nil
    ) {
        self.sequence = sequence
        self.at = at
        self.actor = actor
        self.role = role
        self.tenant = tenant
        self.action = action
        self.target = target
        self.status = status
        self.message = message
    }
}
