import AllotAPI
import AllotCore
import AllotStore
import Foundation
import HTTPTypes

/// Tenants, API tokens and the audit log: who may call the API and what they did.
///
/// Tokens are random (256 bits), shown once, stored only as SHA-256 digests; a presented token is hashed,
/// found by its digest and compared in constant time. The admin token created at the first start (kept by
/// ``Authenticator``) becomes a token like the others here, listed and revocable; the agent join token
/// works beside them.
public actor Directory {
    public static let defaultTenant = "default"

    let store: any AllotStore
    var bootstrap: Authenticator
    /// Nodes' certificates looked up so far (`.some(nil)`: none issued).
    var bindings: [String: NodeBinding?] = [:]
    let clock: @Sendable () -> Double
    private(set) var tenantsByName: [String: Tenant] = [:]
    private var tokensByDigest: [String: APIToken] = [:]
    private var tokensByID: [String: APIToken] = [:]
    private var auditQueue: [(entry: AuditEntry, done: CheckedContinuation<Void, Never>)] = []
    private var auditWriting = false
    private var tenantsChanged: (@Sendable ([Tenant]) async throws(APIError) -> Void)?
    private var auditSink: (@Sendable (AuditEntry) async -> Void)?

    public init(store: any AllotStore, bootstrap: Authenticator, clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.store = store
        self.bootstrap = bootstrap
        self.clock = clock
    }

    /// Loads tenants and tokens; creates the `default` tenant on first start.
    public func load() async throws(APIError) {
        try await reload()
        do {
            try await adoptBootstrapAdmin()
            if tenantsByName[Self.defaultTenant] == nil {
                let tenant = Tenant(name: Self.defaultTenant, createdAt: clock())
                try await store.saveTenant(tenant)
                tenantsByName[tenant.name] = tenant
            }
        } catch {
            throw APIError.from(error)
        }
    }

    /// Reads tenants and tokens from the store, replacing what was held, and writes nothing: the start of
    /// ``load()``, and a follower's copy of what the leader changed (a new token works there, a revoked one stops).
    public func reload() async throws(APIError) {
        do {
            let tenants = try await store.tenants()
            let tokens = try await store.tokens()
            tenantsByName = Dictionary(tenants.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
            tokensByDigest = [:]
            tokensByID = [:]
            for token in tokens { remember(token) }
            // Another server may have rotated the join token or issued certificates meanwhile.
            if let stored = try await Authenticator.existing(in: store) { bootstrap.agentHash = stored.agentHash }
            bindings = [:]
        } catch {
            throw APIError.from(error)
        }
    }

    /// Calls `observer` with every tenant now and after each change (the control plane's quotas and weights).
    public func observeTenants(_ observer: @escaping @Sendable ([Tenant]) async throws(APIError) -> Void) async throws(APIError) {
        tenantsChanged = observer
        try await observer(tenantsByName.values.sorted { $0.name < $1.name })
    }

    /// The first start's admin token, kept until now as a digest beside the join token, becomes a token
    /// record (once: revoked, it stays revoked).
    private func adoptBootstrapAdmin() async throws(StoreError) {
        let digest = Authenticator.hex(bootstrap.adminHash)
        guard tokensByDigest[digest] == nil else { return }
        let token = APIToken(
            id: Self.bootstrapAdminID,
            name: "bootstrap admin",
            role: .admin,
            tenant: Self.defaultTenant,
            secretHash: digest,
            createdAt: clock(),
            createdBy: "allot server"
        )
        try await store.saveToken(token)
        remember(token)
    }

    /// The id of the admin token made at the first start.
    public static let bootstrapAdminID = "tok-bootstrap-admin"

    private func remember(_ token: APIToken) {
        tokensByDigest[token.secretHash] = token
        tokensByID[token.id] = token
    }

    // MARK: - Authentication

    /// The identity a bearer token stands for, or `nil` (unknown, expired or revoked).
    public func identify(_ secret: String) -> Identity? {
        if bootstrap.role(of: secret) == .agent { return .agent }
        let digest = Authenticator.hex(Authenticator.hash(secret))
        guard let token = tokensByDigest[digest], Authenticator.equal(Array(digest.utf8), Array(token.secretHash.utf8)),
            token.isActive(at: clock())
        else { return nil }
        return Identity(actor: token.id, role: token.role, tenant: token.tenant, scope: token.role == .admin ? nil : subtree(of: token.tenant))
    }

    /// Whether the token an identity came from still holds (not revoked, not expired). The join token always does.
    public func stillValid(_ identity: Identity) -> Bool {
        if identity.isAgent { return true }
        return tokensByID[identity.actor]?.isActive(at: clock()) ?? false
    }

    /// A tenant and every tenant below it.
    public func subtree(of root: String) -> Set<String> {
        var children: [String: [String]] = [:]
        for tenant in tenantsByName.values { if let parent = tenant.parent { children[parent, default: []].append(tenant.name) } }
        var result: Set<String> = [root]
        var stack = [root]
        while let next = stack.popLast() {
            for child in children[next] ?? [] where result.insert(child).inserted { stack.append(child) }
        }
        return result
    }

    public func tenant(_ name: String) -> Tenant? { tenantsByName[name] }

    /// The tenant a token belongs to, for visibility checks.
    public func tokenTenant(_ id: String) -> String? { tokensByID[id]?.tenant }

    // MARK: - Tenants

    public func tenants(visibleTo identity: Identity) -> [Tenant] {
        tenantsByName.values.filter { identity.sees($0.name) }.sorted { $0.name < $1.name }
    }

    /// Creates a tenant. Tenant admins create only below their own tenant, with quotas within its limit.
    public func createTenant(_ request: TenantRequest, by identity: Identity) async throws(APIError) -> Tenant {
        guard let name = request.name, Tenant.validName(name) else {
            throw APIError(.unprocessableContent, .invalidField, "name: 1-63 lowercase letters, digits and dashes")
        }
        guard tenantsByName[name] == nil else { throw APIError(.conflict, .conflict, "tenant \(name) already exists") }
        let parent = request.parent ?? (identity.isAdmin ? nil : identity.tenant)
        if let parent {
            try AccessControl.requireVisible(identity, tenant: tenantsByName[parent] == nil ? nil : parent, resource: "tenant \(parent)")
        } else if !identity.isAdmin {
            throw APIError(.forbidden, .forbidden, "only an admin creates a top-level tenant")
        }
        var tenant = Tenant(name: name, parent: parent, createdAt: clock())
        try apply(request, to: &tenant)
        try await save(tenant)
        return tenant
    }

    /// Changes a tenant's weight and quotas. Tenant admins change only tenants below their own.
    public func updateTenant(_ name: String, _ request: TenantRequest, by identity: Identity) async throws(APIError) -> Tenant {
        guard var tenant = tenantsByName[name], identity.sees(name) else { throw APIError.notFound("tenant \(name)") }
        if !identity.isAdmin && name == identity.tenant {
            throw APIError(.forbidden, .forbidden, "a tenant admin may not change its own tenant's quotas or weight")
        }
        guard request.name == nil || request.name == name, request.parent == nil || request.parent == tenant.parent else {
            throw APIError(.unprocessableContent, .invalidField, "name and parent cannot change")
        }
        try apply(request, to: &tenant)
        try await save(tenant)
        return tenant
    }

    private func apply(_ request: TenantRequest, to tenant: inout Tenant) throws(APIError) {
        if let weight = request.weight {
            guard weight > 0, weight.isFinite else { throw APIError(.unprocessableContent, .invalidField, "weight: must be positive") }
            tenant.weight = weight
        }
        for (field, quota) in [("guaranteed", request.guaranteed), ("limit", request.limit)] {
            if let quota, let problem = quota.fieldOutOfRange {
                throw APIError(
                    .unprocessableContent,
                    .invalidField,
                    "\(field).\(problem): must be from 0 to \(problem.hasSuffix("Bytes") ? "2^62 bytes" : "1000000000")"
                )
            }
        }
        if let guaranteed = request.guaranteed { tenant.guaranteed = guaranteed }
        if let limit = request.limit { tenant.limit = limit }
        if let guaranteed = tenant.guaranteed, let limit = tenant.limit, !guaranteed.fits(within: limit) {
            throw APIError(.unprocessableContent, .invalidField, "guaranteed: exceeds the tenant's own limit")
        }
        if let parent = tenant.parent.flatMap({ tenantsByName[$0] }) {
            if let parentLimit = parent.limit, let limit = tenant.limit, !limit.fits(within: parentLimit) {
                throw APIError(.unprocessableContent, .invalidField, "limit: exceeds the parent tenant \(parent.name)'s limit")
            }
            if let parentLimit = parent.limit, tenant.limit == nil {
                tenant.limit = parentLimit
            }
        }
    }

    private func save(_ tenant: Tenant) async throws(APIError) {
        var changed = tenantsByName
        changed[tenant.name] = tenant
        // The scheduler takes it first: a change it refuses is not stored.
        try await tenantsChanged?(changed.values.sorted { $0.name < $1.name })
        do { try await store.saveTenant(tenant) } catch {
            // Not stored: the scheduler goes back to the tenants that are.
            try? await tenantsChanged?(tenantsByName.values.sorted { $0.name < $1.name })  // it took these before
            throw APIError.from(error)
        }
        tenantsByName[tenant.name] = tenant
    }

    // MARK: - Tokens

    /// Creates a token and returns it with its secret, which is never stored and never shown again.
    public func createToken(_ request: TokenRequest, by identity: Identity) async throws(APIError) -> TokenView {
        let tenant = request.tenant ?? identity.tenant
        try AccessControl.requireVisible(identity, tenant: tenantsByName[tenant] == nil ? nil : tenant, resource: "tenant \(tenant)")
        let role = request.role ?? .member
        guard AccessControl.mayGrant(identity, role: role, in: tenant) else {
            throw APIError(.forbidden, .forbidden, "the \(identity.roleName) role may not create \(role.rawValue) tokens")
        }
        if let seconds = request.expiresInSeconds, !(seconds > 0) {
            throw APIError(.unprocessableContent, .invalidField, "expiresInSeconds: must be positive")
        }
        let secret = Authenticator.newToken()
        let now = clock()
        let token = APIToken(
            id: "tok-" + String(Authenticator.newToken().suffix(16)),
            name: request.name ?? "token",
            role: role,
            tenant: tenant,
            secretHash: Authenticator.hex(Authenticator.hash(secret)),
            createdAt: now,
            createdBy: identity.actor,
            expiresAt: request.expiresInSeconds.map { now + $0 }
        )
        do { try await store.saveToken(token) } catch { throw APIError.from(error) }
        remember(token)
        return TokenView(token, secret: secret)
    }

    public func tokens(visibleTo identity: Identity) -> [TokenView] {
        tokensByID.values.filter { identity.sees($0.tenant) }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }.map { TokenView($0) }
    }

    /// Replaces a token (`self`: the caller's own) with a new secret of the same name, role, tenant and
    /// lifetime, and revokes it; returns the new one with its secret, shown once. With `role`, the token
    /// must have that role.
    public func rotateToken(_ id: String, requiring role: Role? = nil, by identity: Identity) async throws(APIError) -> TokenView {
        let id = id == "self" ? identity.actor : id
        guard var old = tokensByID[id], identity.sees(old.tenant) else { throw APIError.notFound("token \(id)") }
        if let role, old.role != role {
            throw APIError(.forbidden, .forbidden, "token \(id) is a \(old.role.rawValue) token, not \(role.rawValue)")
        }
        guard old.isActive(at: clock()) else { throw APIError(.conflict, .conflict, "token \(id) is revoked or expired") }
        guard identity.actor == id || AccessControl.mayGrant(identity, role: old.role, in: old.tenant) else {
            throw APIError(.forbidden, .forbidden, "the \(identity.roleName) role may not rotate \(old.role.rawValue) tokens")
        }
        let secret = Authenticator.newToken()
        let now = clock()
        let new = APIToken(
            id: "tok-" + String(Authenticator.newToken().suffix(16)),
            name: old.name,
            role: old.role,
            tenant: old.tenant,
            secretHash: Authenticator.hex(Authenticator.hash(secret)),
            createdAt: now,
            createdBy: identity.actor,
            expiresAt: old.expiresAt.map { now + ($0 - old.createdAt) }
        )
        // The new one first: a failure in between leaves two working tokens, never none.
        do { try await store.saveToken(new) } catch { throw APIError.from(error) }
        remember(new)
        old.revokedAt = now
        do { try await store.saveToken(old) } catch { throw APIError.from(error) }
        remember(old)
        return TokenView(new, secret: secret)
    }

    public func revokeToken(_ id: String, by identity: Identity) async throws(APIError) -> TokenView {
        guard var token = tokensByID[id], identity.sees(token.tenant) else { throw APIError.notFound("token \(id)") }
        guard AccessControl.mayGrant(identity, role: token.role, in: token.tenant) else {
            throw APIError(.forbidden, .forbidden, "the \(identity.roleName) role may not revoke \(token.role.rawValue) tokens")
        }
        if token.revokedAt == nil {
            token.revokedAt = clock()
            do { try await store.saveToken(token) } catch { throw APIError.from(error) }
            remember(token)
        }
        return TokenView(token)
    }

    // MARK: - Audit

    /// Sends audit entries through another writer (the control plane's group commit, so that a call's audit
    /// entry and its own writes share one transaction and one disk sync).
    public func sendAudit(to sink: @escaping @Sendable (AuditEntry) async -> Void) { auditSink = sink }

    /// Appends an entry and returns once it is durable. Concurrent calls share one transaction.
    public func record(_ entry: AuditEntry) async {
        if let auditSink { return await auditSink(entry) }
        await withCheckedContinuation { continuation in
            auditQueue.append((entry, continuation))
            if !auditWriting {
                auditWriting = true
                Task { await self.flushAudit() }
            }
        }
    }

    private func flushAudit() async {
        while !auditQueue.isEmpty {
            let batch = auditQueue
            auditQueue = []
            // A failing database is retried briefly; the call being recorded has already been answered for.
            for attempt in 0..<3 {
                do {
                    _ = try await store.appendAudit(batch.map(\.entry))
                    break
                } catch {
                    if attempt < 2 { try? await Task.sleep(for: .milliseconds(100)) }
                }
            }
            for item in batch { item.done.resume() }
        }
        auditWriting = false
    }

    public func audit(visibleTo identity: Identity, after: Int64?, limit: Int?) async throws(APIError) -> [AuditEntry] {
        do { return try await store.audit(AuditQuery(tenants: identity.scope, afterSequence: after, limit: limit)) } catch {
            throw APIError.from(error)
        }
    }
}
