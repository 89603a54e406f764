import AllotAPI
import AllotCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The web console at `/`: pages rendered on the server from the control plane, forms that post back with a CSRF
/// token, live updates through `/v1/events`. What a user sees follows their role and tenants as in the API.
extension APIRoutes {
    func addWeb(to router: Router<AllotRequestContext>) {
        router.get("/") { request, _ in
            WebSession.redirect(WebSession.token(request) == nil ? "/ui/sign-in" : "/ui/overview")
        }
        router.get("/ui/static/:file") { _, context in
            let file = try context.parameters.require("file")
            guard let asset = WebTemplates.assets[file] else { throw APIError.notFound("file \(file)") }
            return Response(
                status: .ok,
                headers: [.contentType: asset.type, .cacheControl: "no-cache"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: asset.bytes))
            )
        }
        router.get("/ui/sign-in") { _, _ in signInPage(error: nil, status: .ok) }
        router.post("/ui/sign-in") { request, context in
            let address = context.remoteAddress?.ipAddress ?? "unknown"
            var request = request
            let fields = WebSession.form(try await body(&request))
            guard let expected = WebSession.cookie(WebSession.signInCookieName, request), fields["csrf"] == expected else {
                return signInPage(error: "The sign-in form expired or came from elsewhere: try again.", status: .forbidden)
            }
            let token = fields["token"]?.trimmingCharacters(in: .whitespaces) ?? ""
            guard !token.isEmpty, let identity = await directory.identify(token), identity.role != nil else {
                // Limited like bad bearer tokens: per address, and never in the way of a valid token.
                if failures.isBlocked(address) {
                    return signInPage(error: "Too many failed sign-ins from this address: try again in a minute.", status: .tooManyRequests)
                }
                failures.record(address)
                return signInPage(error: "That token is not valid (unknown, expired, revoked, or an agent token).", status: .unauthorized)
            }
            return WebSession.redirect("/ui/overview", cookie: WebSession.setCookie(token))
        }
        router.post("/ui/sign-out") { request, context in
            var request = request
            _ = try await form(&request, context)
            return WebSession.redirect("/ui/sign-in", cookie: WebSession.clearCookie)
        }
        router.get("/ui/overview") { request, context in try await show(request, context) { try await overviewPage($0) } }
        router.get("/ui/nodes") { request, context in try await show(request, context) { await nodesPage($0) } }
        router.post("/ui/nodes/:name/:action") { request, context in
            var request = request
            let session = try await form(&request, context)
            try AccessControl.authorize(session.identity, .role(.admin))
            let name = try context.parameters.require("name")
            let action = try context.parameters.require("action")
            _ = try await plane.setNode(name, action: action)
            return WebSession.redirect("/ui/nodes#node-\(name)")
        }
        router.get("/ui/jobs") { request, context in try await show(request, context) { try await jobsPage($0, query(request)) } }
        router.post("/ui/jobs") { request, context in
            var request = request
            let session = try await form(&request, context)
            try AccessControl.authorize(session.identity, .role(.member))
            let job = try await submit(session)
            return WebSession.redirect("/ui/jobs/\(job.id)")
        }
        router.get("/ui/jobs/:id") { request, context in
            let id = JobID(try context.parameters.require("id"))
            return try await show(request, context) { try await jobPage($0, id) }
        }
        router.post("/ui/jobs/:id/cancel") { request, context in
            var request = request
            let session = try await form(&request, context)
            try AccessControl.authorize(session.identity, .role(.member))
            let id = JobID(try context.parameters.require("id"))
            try AccessControl.requireVisible(session.identity, tenant: try await plane.tenant(ofJob: id), resource: "job \(id)")
            _ = try await plane.cancel(id)
            return WebSession.redirect("/ui/jobs/\(id)")
        }
        router.get("/ui/tenants") { request, context in try await show(request, context) { await tenantsPage($0, created: nil) } }
        router.post("/ui/tokens") { request, context in
            var request = request
            let session = try await form(&request, context)
            try AccessControl.authorize(session.identity, .role(.tenantAdmin))
            let token = try await directory.createToken(
                TokenRequest(
                    name: session.fields["name"],
                    role: session.fields["role"].flatMap(Role.init(rawValue:)),
                    tenant: session.fields["tenant"]
                ),
                by: session.identity
            )
            // The secret is shown once, in this response, never stored.
            return try await show(request, context) { await tenantsPage($0, created: token) }
        }
        router.post("/ui/tokens/:id/revoke") { request, context in
            var request = request
            let session = try await form(&request, context)
            try AccessControl.authorize(session.identity, .role(.tenantAdmin))
            _ = try await directory.revokeToken(try context.parameters.require("id"), by: session.identity)
            return WebSession.redirect("/ui/tenants")
        }
        router.get("/ui/costs") { request, context in try await show(request, context) { try await costsPage($0, query(request)) } }
        router.get("/ui/recommendations") { request, context in try await show(request, context) { await recommendationsPage($0) } }
        router.post("/ui/recommendations/:id/feedback") { request, context in
            var request = request
            let session = try await form(&request, context)
            let id = try context.parameters.require("id")
            let decision = FeedbackEntry.Decision(rawValue: session.fields["decision"] ?? "")
            guard let decision else { throw APIError(.unprocessableContent, .invalidField, "decision: accept or dismiss") }
            _ = try await plane.optimizer.decide(
                recommendation: id,
                RecommendationDecisionRequest(decision: decision, reason: session.fields["reason"].flatMap { $0.isEmpty ? nil : $0 }),
                by: session.identity
            )
            return WebSession.redirect("/ui/recommendations")
        }
        router.post("/ui/recommendations/:id/apply") { request, context in
            var request = request
            let session = try await form(&request, context)
            try AccessControl.authorize(session.identity, .role(.admin))
            _ = try await plane.apply(recommendation: try context.parameters.require("id"))
            return WebSession.redirect("/ui/recommendations")
        }
        router.get("/ui/offers") { request, context in try await show(request, context) { try offersPage($0, query(request)) } }
    }

    /// The sign-in form with a fresh CSRF value, set as its cookie too.
    func signInPage(error: String?, status: HTTPResponse.Status) -> Response {
        let value = Authenticator.newToken()
        var page = WebPage(title: "Sign in", name: "sign-in")
        page.error = error
        var response = html(page.render(["csrf": value]), status: status)
        response.headers[.setCookie] = WebSession.signInCookie(value)
        return response
    }

    /// The query string as fields.
    func query(_ request: Request) -> [String: String] {
        var fields: [String: String] = [:]
        for (name, value) in request.uri.queryParameters { fields[String(name)] = String(value) }
        return fields
    }

    /// A signed-in request: who, the session secret (for the CSRF token) and, for a form, its fields.
    struct WebRequest {
        var identity: Identity
        var token: String
        var fields: [String: String] = [:]

        var csrf: String { WebSession.csrf(for: token) }
    }

    /// Reads a posted form and checks its CSRF token.
    func form(_ request: inout Request, _ context: AllotRequestContext) async throws -> WebRequest {
        let identity = try context.caller()
        guard let token = WebSession.token(request) else { throw APIError(.forbidden, .csrf, "sign in first") }
        let fields = WebSession.form(try await body(&request))
        guard WebSession.checkCSRF(fields["csrf"], token: token) else {
            throw APIError(.forbidden, .csrf, "the form's CSRF token is missing or wrong: reload the page and try again")
        }
        return WebRequest(identity: identity, token: token, fields: fields)
    }

    /// Renders a page; an API error becomes the same page's error message with its status.
    func show(_ request: Request, _ context: AllotRequestContext, _ build: (WebRequest) async throws -> WebPage) async throws -> Response {
        let identity = try context.caller()
        guard let token = WebSession.token(request) else { return WebSession.redirect("/ui/sign-in") }
        let session = WebRequest(identity: identity, token: token)
        do {
            let started = ContinuousClock.now
            let page = try await build(session)
            var response = html(page.render(session))
            // How long the page took to gather and render, for browsers' developer tools and `allot bench console`.
            let elapsed = ContinuousClock.now - started
            let milliseconds = Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15
            response.headers[HTTPField.Name("Server-Timing")!] = "render;dur=\(String(format: "%.1f", milliseconds))"
            return response
        } catch let error as APIError {
            var page = WebPage(title: "Error", name: "error-page")
            page.error = error.message
            return html(page.render(session), status: error.status)
        }
    }

    func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                HTTPField.Name("Content-Security-Policy")!:
                    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }
}
