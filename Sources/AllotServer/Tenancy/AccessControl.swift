import AllotAPI
import HTTPTypes

/// Every authorization decision of the API, in one table and one function.
///
/// - a missing, unknown, expired or revoked token: `401`;
/// - a route the identity's role does not reach (or an agent token off the agent routes): `403`;
/// - a resource (job, tenant, token) outside the identity's tenant subtree: `404`, as if it did not exist.
public enum AccessControl {
    /// What a route needs.
    public enum Requirement: Sendable, Equatable {
        /// No token (health, the OpenAPI document).
        case open
        /// The agent join token.
        case agent
        /// At least this role.
        case role(Role)
        /// The web console: the session cookie, any role (pages check what their actions need); without one the
        /// browser is sent to the sign-in page.
        case session
    }

    /// The resource a route names, whose tenant decides visibility.
    public enum Resource: Sendable, Equatable {
        case job(String)
        case tenant(String)
        case token(String)
    }

    /// A route's requirement and named resource, by method and path; `nil` for a path the API does not have.
    public static func rule(method: HTTPRequest.Method, path: String) -> (requirement: Requirement, resource: Resource?)? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        switch (method, parts.count, parts.first, parts.count > 1 ? parts[1] : "") {
        case (.get, 1, "health", _), (.get, 1, "openapi.json", _): return (.open, nil)
        // The console: its sign-in page and static files are open, the rest needs a session.
        case (.get, 0, _, _): return (.open, nil)
        case (_, 2, "ui", "sign-in"), (.get, _, "ui", "static"): return (.open, nil)
        case (_, _, "ui", _): return (.session, nil)
        case (_, _, "v1", "agent"): return (.agent, nil)
        case (.get, 2, "v1", "jobs"): return (.role(.viewer), nil)
        case (.post, 2, "v1", "jobs"): return (.role(.member), nil)
        case (.get, 3, "v1", "jobs"): return (.role(.viewer), .job(parts[2]))
        case (.get, 4, "v1", "jobs") where parts[3] == "logs": return (.role(.viewer), .job(parts[2]))
        case (.post, 4, "v1", "jobs") where parts[3] == "cancel": return (.role(.member), .job(parts[2]))
        case (.get, 2, "v1", "nodes"), (.get, 3, "v1", "nodes"): return (.role(.viewer), nil)
        case (.post, 4, "v1", "nodes"): return (.role(.admin), nil)
        // The machines the autoscaler bought and why: node-level, like the nodes.
        case (.get, 2, "v1", "autoscaler"): return (.role(.viewer), nil)
        // Filtered per subscriber: a tenant's own job changes; nodes for admins only.
        case (.get, 2, "v1", "events"): return (.role(.viewer), nil)
        case (.get, 2, "v1", "tenants"): return (.role(.viewer), nil)
        case (.post, 2, "v1", "tenants"): return (.role(.tenantAdmin), nil)
        case (.patch, 3, "v1", "tenants"): return (.role(.tenantAdmin), .tenant(parts[2]))
        case (.get, 2, "v1", "tokens"), (.post, 2, "v1", "tokens"): return (.role(.tenantAdmin), nil)
        case (.delete, 3, "v1", "tokens"): return (.role(.tenantAdmin), .token(parts[2]))
        // One's own token (`self`) by any role; another's by whoever may grant its role.
        case (.post, 4, "v1", "tokens") where parts[3] == "rotate" && parts[2] == "join": return (.role(.admin), nil)
        case (.post, 4, "v1", "tokens") where parts[3] == "rotate":
            return parts[2] == "self" ? (.role(.viewer), nil) : (.role(.tenantAdmin), .token(parts[2]))
        case (.get, 2, "v1", "audit"): return (.role(.tenantAdmin), nil)
        // Monitoring: node-level views for every role (jobs named only where visible); the exposition, plans and
        // their application are cluster-wide.
        case (.get, 1, "metrics", _): return (.role(.admin), nil)
        case (.get, 2, "v1", "utilization"), (.get, 2, "v1", "bottlenecks"), (.get, 2, "v1", "recommendations"): return (.role(.viewer), nil)
        case (.get, 2, "v1", "history"),
            (.get, 3, "v1", "history") where parts.count == 2 || parts[2] == "series":
            return (.role(.viewer), nil)
        case (.post, 4, "v1", "recommendations") where parts[3] == "apply": return (.role(.admin), nil)
        // Costs: each caller sees its tenants' share (idle and cluster-wide budgets are admins'); budgets are set by
        // tenant admins within their subtree; decisions and product feedback come from anyone who can read.
        case (.get, 2, "v1", "costs"),
            (.get, 3, "v1", "costs") where parts.count == 2 || parts[2] == "export":
            return (.role(.viewer), nil)
        case (.get, 2, "v1", "budgets"), (.get, 2, "v1", "forecast"): return (.role(.viewer), nil)
        // The providers' bills cover the whole account: only admins import them.
        case (.post, 3, "v1", "billing") where parts[2] == "import": return (.role(.admin), nil)
        case (.post, 2, "v1", "budgets"), (.delete, 3, "v1", "budgets"): return (.role(.tenantAdmin), nil)
        case (.post, 4, "v1", "recommendations") where parts[3] == "feedback": return (.role(.viewer), nil)
        case (.get, 3, "v1", "recommendations") where parts[2] == "acceptance": return (.role(.viewer), nil)
        case (.post, 2, "v1", "feedback"): return (.role(.viewer), nil)
        case (.get, 2, "v1", "feedback"): return (.role(.tenantAdmin), nil)
        // Public list prices.
        case (.get, 3, "v1", "cloud") where parts[2] == "offers": return (.role(.viewer), nil)
        // A computation over the public catalog: changes nothing, so any role may ask.
        case (.post, 3, "v1", "cloud") where parts[2] == "plan": return (.role(.viewer), nil)
        default: return nil
        }
    }

    /// Decides whether `identity` may call a route needing `requirement`.
    public static func authorize(_ identity: Identity, _ requirement: Requirement) throws(APIError) {
        switch requirement {
        case .open: return
        case .agent:
            guard identity.isAgent else { throw APIError(.forbidden, .forbidden, "only the agent join token may call /v1/agent endpoints") }
        case .session:
            guard identity.role != nil else { throw APIError(.forbidden, .forbidden, "an agent token may call only /v1/agent endpoints") }
        case .role(let needed):
            guard let role = identity.role else { throw APIError(.forbidden, .forbidden, "an agent token may call only /v1/agent endpoints") }
            guard role >= needed else {
                throw APIError(.forbidden, .forbidden, "the \(role.rawValue) role may not do this (needs \(needed.rawValue))")
            }
        }
    }

    /// A resource outside the identity's scope reads as missing.
    public static func requireVisible(_ identity: Identity, tenant: String?, resource: String) throws(APIError) {
        guard let tenant, identity.sees(tenant) else { throw APIError.notFound(resource) }
    }

    /// Whether `identity` may hand out `role` in `tenant`: admins anything; tenant admins up to their own role
    /// inside their subtree.
    public static func mayGrant(_ identity: Identity, role: Role, in tenant: String) -> Bool {
        guard let own = identity.role else { return false }
        return identity.sees(tenant) && (own == .admin || (own == .tenantAdmin && role <= .tenantAdmin))
    }
}
