import AllotAPI
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// The request context of the API: who is calling, once the access middleware has decided.
public struct AllotRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The connection (for the certificate a node presents).
    let channel: any Channel
    /// The node whose own certificate authenticated the call (mutual TLS), on the agent routes.
    public var certifiedNode: String?
    /// Set by ``AccessMiddleware`` for every route that needs a token.
    public var identity: Identity?
    /// The same, for the request log outside.
    public let callerNote = CallerNote()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }

    /// The caller; routes behind the middleware always have one.
    public func caller() throws(APIError) -> Identity {
        guard let identity else { throw APIError.invalidToken }
        return identity
    }
}

/// Authentication, authorization and the audit trail of every call, in one place (``AccessControl``'s table):
/// resolves the bearer token, refuses what the role may not do, hides other tenants' resources behind `404`,
/// rate-limits failed sign-ins per client address, and records each mutating call.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = AllotRequestContext

    let directory: Directory
    let plane: ControlPlane
    let failures: FailedSignIns
    let quotas: RequestQuotas
    /// Whether clients may present nodes' certificates (an HTTPS server with its own authority): only then is
    /// the connection's TLS state read, on the agent routes.
    var nodeCertificates = false

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        let rule = AccessControl.rule(method: request.method, path: path)
        if rule?.requirement == .open { return try await next(request, context) }
        // A node's own certificate stands for it on the agent routes, whatever bearer token comes with it (the
        // join token may have been rotated since).
        if nodeCertificates, rule?.requirement == .agent, let presented = await NodeIdentity.presented(on: context.channel) {
            guard let binding = try await directory.nodeBinding(presented.node), binding.isActive, binding.fingerprint == presented.fingerprint
            else {
                throw APIError(
                    .forbidden,
                    .forbidden,
                    "the certificate of node \(presented.node) was revoked or replaced; join it again with the join token"
                )
            }
            var context = context
            context.identity = .agent
            context.certifiedNode = presented.node
            context.callerNote.set(.agent)
            return try await next(request, context)
        }
        let address = context.remoteAddress?.ipAddress ?? "unknown"
        // The console's pages, and the API's reads from its scripts (never a write: those need the bearer
        // header), may use the session cookie.
        let readOnly = request.method == .get || request.method == .head
        let cookie = rule?.requirement == .session || (readOnly && request.headers[.authorization] == nil) ? WebSession.token(request) : nil
        let secret = cookie ?? bearerToken(request)
        let known: Identity? = if let secret { await directory.identify(secret) } else { nil }
        guard let identity = known else {
            // Guessing is slowed per address; a valid credential from that address (an agent, an admin) still
            // passes, so a burst of bad tokens locks nobody out.
            if failures.isBlocked(address) { throw APIError.tooManyFailedSignIns }
            if rule?.requirement == .session {
                return WebSession.redirect("/ui/sign-in", cookie: cookie == nil ? nil : WebSession.clearCookie)
            }
            failures.record(address)
            throw APIError.invalidToken
        }
        if !identity.isAgent, let wait = quotas.take(identity.actor) {
            throw APIError(
                .tooManyRequests,
                .tooManyRequests,
                "this token made more than \(Int(quotas.burst)) requests at once or \(quotas.rate.formatted()) a second; slow down",
                retryAfter: Int(wait.rounded(.up))
            )
        }
        var context = context
        context.identity = identity
        context.callerNote.set(identity)
        let mutating = request.method != .get && request.method != .head && !(rule?.requirement == .agent)
        do {
            guard let found = rule else {
                if let allowed = OpenAPIDocument.methods(for: path), !allowed.contains(request.method.rawValue) {
                    throw MethodNotAllowed(allowed: allowed)
                }
                throw APIError.notFound("\(request.method.rawValue) \(path)")
            }
            try AccessControl.authorize(identity, found.requirement)
            if let resource = found.resource { try await requireVisible(resource, identity) }
            let response = try await next(request, context)
            if mutating { await audit(request, identity, rule?.resource, status: response.status.code) }
            return response
        } catch {
            if mutating { await audit(request, identity, rule?.resource, status: (error as? APIError)?.status.code ?? 500) }
            throw error
        }
    }

    private func requireVisible(_ resource: AccessControl.Resource, _ identity: Identity) async throws(APIError) {
        switch resource {
        case .job(let id): try AccessControl.requireVisible(identity, tenant: try await plane.tenant(ofJob: JobID(id)), resource: "job \(id)")
        case .tenant(let name):
            try AccessControl.requireVisible(identity, tenant: await directory.tenant(name)?.name, resource: "tenant \(name)")
        case .token(let id): try AccessControl.requireVisible(identity, tenant: await directory.tokenTenant(id), resource: "token \(id)")
        }
    }

    private func audit(_ request: Request, _ identity: Identity, _ resource: AccessControl.Resource?, status: Int) async {
        let target: String?
        switch resource {
        case .job(let id), .tenant(let id), .token(let id): target = id
        case nil: target = nil
        }
        let entry = AuditEntry(
            at: Date().timeIntervalSince1970,
            actor: identity.actor,
            role: identity.roleName,
            tenant: identity.tenant,
            action: "\(request.method.rawValue) \(request.uri.path)",
            target: target,
            status: status
        )
        await directory.record(entry)
    }
}

/// The token of an `Authorization: Bearer …` header.
func bearerToken(_ request: Request) -> String? {
    request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst("Bearer ".count)) : nil }
}

extension APIError {
    static let invalidToken = APIError(.unauthorized, .unauthorized, "missing or invalid bearer token")
    /// An address past its failed sign-ins (``FailedSignIns``); valid credentials from it still pass.
    static let tooManyFailedSignIns = APIError(
        .tooManyRequests,
        .tooManyRequests,
        "too many failed sign-ins from this address; try again in a minute",
        retryAfter: 60
    )
}

/// Failed sign-ins per client address: more than `limit` within `window` seconds blocks the address until the
/// window has passed.
final class FailedSignIns: Sendable {
    private let state = Mutex<[String: (count: Int, since: Double)]>([:])
    let limit: Int
    let window: Double

    init(limit: Int = 20, window: Double = 60) {
        self.limit = limit
        self.window = window
    }

    func record(_ address: String) {
        let now = Date().timeIntervalSince1970
        state.withLock { state in
            if let entry = state[address], now - entry.since < window {
                state[address] = (entry.count + 1, entry.since)
            } else {
                state[address] = (1, now)
            }
            if state.count > 10_000 { state = state.filter { now - $0.value.since < window } }
        }
    }

    func isBlocked(_ address: String) -> Bool {
        let now = Date().timeIntervalSince1970
        return state.withLock { state in
            guard let entry = state[address], now - entry.since < window else { return false }
            return entry.count >= limit
        }
    }
}
