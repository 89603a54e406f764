/// The stable code of a failed call, in `{"error": {"code": ..., "message": ...}}`: what the server answers
/// and what the client and the CLI branch on. Every code is listed in the OpenAPI document.
public enum ErrorCode: String, Codable, Sendable, CaseIterable {
    /// A field is missing, of the wrong type, or has a value that is refused (422).
    case invalidField = "invalid_field"
    /// The body is not JSON, or the request is malformed (400).
    case badRequest = "bad_request"
    /// No such resource, or one of another tenant (404).
    case notFound = "not_found"
    /// The resource exists, or is not in a state that allows the call (409).
    case conflict
    /// No token, or a token that is unknown, revoked or expired (401).
    case unauthorized
    /// The caller's role or tenant may not make this call (403).
    case forbidden
    /// Too many failed sign-ins from one address (429).
    case tooManyRequests = "too_many_requests"
    /// The body is larger than the server takes (413).
    case payloadTooLarge = "payload_too_large"
    /// The task fits no node even on the empty cluster (422).
    case infeasible
    /// Admitting the job would take its tenant past a limit (403).
    case quotaExceeded = "quota_exceeded"
    /// A hard budget of the tenant is spent (403).
    case budgetExceeded = "budget_exceeded"
    /// A form's CSRF token is missing or wrong (403).
    case csrf
    /// The store does not take writes (or reads) now; nothing was changed, and the call may be tried again (503).
    case storeUnavailable = "store_unavailable"
    /// This server follows another on a shared store; the body's `leader` says where to go (307).
    case notLeader = "not_leader"
    /// Several servers share a store and none leads this moment (a failover); try again shortly (503).
    case noLeader = "no_leader"
    /// The bundled price catalog cannot be read (500).
    case catalogUnavailable = "catalog_unavailable"
    /// Anything else that went wrong inside the server (500).
    case `internal`
    /// The client got an answer it cannot read.
    case badResponse = "bad_response"
    /// The client was given a server address it cannot use.
    case badServer = "bad_server"
    /// The client could not reach the server.
    case unreachable
    /// A code this client does not know (from a newer server).
    case unknown

    /// Codes the client makes up itself; the server never answers them.
    public var isClientSide: Bool { [.badResponse, .badServer, .unreachable, .unknown].contains(self) }
}
