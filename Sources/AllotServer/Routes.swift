import AllotAPI
import AllotCore
import AllotStore
import AllotTLS
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

extension APIError: HTTPResponseError {
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        jsonResponse(APIErrorBody(code: code, message: message), status: status)
    }
}

extension APIError {
    /// The error as the API writes it: its status, `{"error":{"code","message"}}`, and `Retry-After` when it has one
    /// (a `503` without one says 1).
    var response: Response {
        var response = jsonResponse(APIErrorBody(code: code, message: message), status: status)
        if let seconds = retryAfter ?? (status == .serviceUnavailable ? 1 : nil) { response.headers[.retryAfter] = "\(seconds)" }
        return response
    }
}

func jsonResponse<Value: Encodable>(_ value: Value, status: HTTPResponse.Status = .ok) -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
    return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
}

/// A response of JSON already encoded.
func rawJSONResponse(_ bytes: [UInt8]) -> Response {
    Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
}

/// A path the API has, called with a method it has not (answered `405` with `Allow`).
struct MethodNotAllowed: Error {
    var allowed: Set<String>
}

/// Turns any error into the standard error body; unknown errors become `500` without internals.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    static func methodNotAllowed(_ request: Request, allowed: Set<String>) -> Response {
        var response = jsonResponse(
            APIErrorBody(code: .badRequest, message: "\(request.method.rawValue) is not allowed on \(request.uri.path)"),
            status: .methodNotAllowed
        )
        response.headers[.allow] = allowed.sorted().joined(separator: ", ")
        return response
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response
        } catch let error as MethodNotAllowed {
            return Self.methodNotAllowed(request, allowed: error.allowed)
        } catch let error as HTTPError {
            if error.status == .notFound, let allowed = OpenAPIDocument.methods(for: request.uri.path), !allowed.contains(request.method.rawValue) {
                return Self.methodNotAllowed(request, allowed: allowed)
            }
            let code: ErrorCode = error.status == .notFound ? .notFound : error.status == .contentTooLarge ? .payloadTooLarge : .badRequest
            return jsonResponse(APIErrorBody(code: code, message: error.body ?? error.status.reasonPhrase), status: error.status)
        } catch {
            return jsonResponse(APIErrorBody(code: .internal, message: "internal error"), status: .internalServerError)
        }
    }
}

/// The HTTP API over a control plane.
public struct APIRoutes: Sendable {
    let plane: ControlPlane
    let directory: Directory
    /// Failed sign-ins by address, shared with ``AccessMiddleware`` (the console's form counts too).
    let failures: FailedSignIns
    /// The authority that issues nodes' certificates (the data directory's `tls/`), when this server holds one.
    var nodeAuthority: String? = nil

    func body(_ request: inout Request) async throws -> [UInt8] {
        do {
            let buffer = try await request.collectBody(upTo: plane.configuration.maxBodyBytes)
            return Array(buffer.readableBytesView)
        } catch {
            throw APIError(.contentTooLarge, .payloadTooLarge, "the body exceeds \(plane.configuration.maxBodyBytes) bytes")
        }
    }

    func decode<Value: Decodable>(_ type: Value.Type, _ bytes: [UInt8]) throws -> Value {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, context) {
            throw APIError(.unprocessableContent, .invalidField, "\(path(context.codingPath + [key])): required")
        } catch let DecodingError.typeMismatch(_, context) {
            throw APIError(.unprocessableContent, .invalidField, "\(path(context.codingPath)): wrong type")
        } catch let DecodingError.valueNotFound(_, context) {
            throw APIError(.unprocessableContent, .invalidField, "\(path(context.codingPath)): required")
        } catch {
            throw APIError(.badRequest, .badRequest, "the body is not valid JSON")
        }
    }

    private func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
    }

    func add(to router: Router<AllotRequestContext>) {
        let leader = plane.configuration.advertisedLeader
        router.get("/health") { _, _ in
            var fields: [String: String] = leader.map { ["role": "leader", "leader": $0] } ?? [:]
            guard let problem = await plane.storeProblem() else {
                fields["status"] = "ok"
                return jsonResponse(fields)
            }
            fields["status"] = "degraded"
            fields["reason"] = "store: \(problem)"
            var response = jsonResponse(fields, status: .serviceUnavailable)
            response.headers[.retryAfter] = "1"
            return response
        }
        router.get("/openapi.json") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.served))
            )
        }
        router.post("/v1/jobs") { request, context in
            let caller = try context.caller()
            var request = request
            let bytes = try await body(&request)
            let value: JSONValue
            do { value = try parseJSON(bytes, name: "body") } catch let error as InputError {
                // Valid JSON naming a key twice is a field error; anything else is not JSON.
                throw error.message == DuplicateKeys.message ? APIError.invalid(error) : APIError(.badRequest, .badRequest, "\(error)")
            }
            var submission: JobSubmission
            do { submission = try JobSubmission.decode(value) } catch {
                throw (error as? InputError).map(APIError.invalid) ?? APIError(.unprocessableContent, .invalidField, "\(error)")
            }
            // Work lands in the caller's own tenant unless it names one it may act in.
            if case .object(let fields) = value, fields["tenant"] == nil { submission.task.tenant = TenantID(caller.tenant) }
            let tenant = submission.task.tenant.rawValue
            try AccessControl.requireVisible(caller, tenant: await directory.tenant(tenant)?.name, resource: "tenant \(tenant)")
            return jsonResponse(try await plane.submit(submission), status: .created)
        }
        router.get("/v1/jobs") { request, context in
            try await JobListing.respond(to: request, caller: try context.caller()) { query in try await plane.jobs(query) }
        }
        router.get("/v1/jobs/:id") { _, context in
            jsonResponse(try await plane.job(JobID(try context.parameters.require("id"))))
        }
        router.post("/v1/jobs/:id/cancel") { _, context in
            jsonResponse(try await plane.cancel(JobID(try context.parameters.require("id"))))
        }
        router.get("/v1/jobs/:id/logs") { request, context in
            let after = request.uri.queryParameters.get("after").flatMap { Int64($0) } ?? 0
            return jsonResponse(try await plane.logs(JobID(try context.parameters.require("id")), after: after))
        }
        router.get("/v1/nodes") { _, context in
            let caller = try context.caller()
            return jsonResponse(await plane.nodeList(for: caller))
        }
        router.get("/v1/nodes/:name") { _, context in
            let caller = try context.caller()
            let name = try context.parameters.require("name")
            guard let node = await plane.node(name) else { throw APIError.notFound("node \(name)") }
            return jsonResponse(await plane.scoped(node, for: caller))
        }
        router.get("/v1/autoscaler") { _, _ in
            jsonResponse(AutoscalerStatus(enabled: plane.provisioning.enabled, instances: plane.provisioning.intents))
        }
        router.post("/v1/nodes/:name/:action") { _, context in
            let name = try context.parameters.require("name")
            let action = try context.parameters.require("action")
            if action == "revoke" { return jsonResponse(try await directory.revokeNodeCertificate(name)) }
            return jsonResponse(try await plane.setNode(name, action: action))
        }
        router.get("/v1/events") { _, context in
            let caller = try context.caller()
            let events = plane.subscribe(scope: caller.scope)
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: ": allot events\n\n"))
                    // The stream ends when the caller's token is revoked or expires (checked every second).
                    let (delivered, sink) = AsyncStream<ControlPlaneEvent>.makeStream()
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for await event in events { sink.yield(event) }
                            sink.finish()
                        }
                        group.addTask {
                            while !Task.isCancelled, await directory.stillValid(caller) {
                                try? await Task.sleep(for: .seconds(1))  // cancelled when the stream ends first
                            }
                            sink.finish()
                        }
                        for await event in delivered {
                            try await writer.write(ByteBuffer(string: "event: \(event.type)\ndata: \(event.data)\n\n"))
                        }
                        group.cancelAll()
                    }
                    try await writer.finish(nil)
                }
            )
        }
        addTenancy(to: router)
        addMonitoring(to: router)
        addCloud(to: router)
        addCosts(to: router)
        addWeb(to: router)
        router.post("/v1/agent/certificate") { request, context in
            var request = request
            let body = try decode(NodeCertificateRequest.self, try await body(&request))
            guard let nodeAuthority else {
                throw APIError.notFound("node certificates: this server does not hold the authority of its certificate")
            }
            // A node that holds a certificate renews it with that certificate; the join token cannot take it over.
            if context.certifiedNode != body.node, let binding = try await directory.nodeBinding(body.node), binding.isActive {
                throw APIError(
                    .conflict,
                    .conflict,
                    "node \(body.node) already holds a certificate: the join token cannot take it over (`allot node \(body.node) revoke` lets it join afresh)"
                )
            }
            let issued: IssuedNodeCertificate
            do { issued = try NodeCertificates.issue(requestPEM: body.request, node: body.node, authorityIn: nodeAuthority) } catch {
                throw APIError(.unprocessableContent, .invalidField, "request: \(error)")
            }
            _ = try await directory.bind(issued)
            return jsonResponse(issued, status: .created)
        }
        router.post("/v1/agent/report") { request, context in
            var request = request
            var bytes = try await body(&request)
            switch request.headers[.contentEncoding]?.lowercased() {
            case nil, "identity": break
            case "gzip", "deflate":
                do { bytes = try Gzip.decompress(bytes, limit: plane.configuration.maxBodyBytes) } catch {
                    throw APIError(.badRequest, .badRequest, "Content-Encoding: \(error)")
                }
            case let other?:
                throw APIError(.unsupportedMediaType, .badRequest, "Content-Encoding: \(other) is not supported (gzip is)")
            }
            let report = try decode(AgentReport.self, bytes)
            try await NodeIdentity.require(report.node, context, directory: directory)
            return rawJSONResponse(try await plane.reportEncoded(report))
        }
        router.get("/v1/agent/directive") { request, context in
            let parameters = request.uri.queryParameters
            guard let node = parameters.get("node") else { throw APIError(.badRequest, .invalidField, "node: required") }
            try await NodeIdentity.require(node, context, directory: directory)
            let version = parameters.get("version").flatMap { Int($0) } ?? -1
            let wait = min(parameters.get("wait").flatMap { Double($0) } ?? 0, plane.configuration.longPollSeconds)
            return rawJSONResponse(await plane.awaitEncodedDirective(for: node, after: version, seconds: max(0, wait)))
        }
    }
}

/// Builds the HTTP application: routes, error mapping, authentication, a scheduler ticker. With `tls` it serves
/// HTTPS only (plain HTTP on that port gets no answer).
public func buildApplication(
    plane: ControlPlane,
    directory: Directory,
    host: String = "127.0.0.1",
    port: Int = 7070,
    tls: ServerCertificate? = nil,
    logger: Logger = Logger(label: "allot.server", factory: { _ in SwiftLogNoOpLogHandler() }),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let router = Router(context: AllotRequestContext.self)
    router.add(middleware: EmptyQueryValuesMiddleware())
    router.add(middleware: RequestMetricsMiddleware(metrics: plane.metrics))
    router.add(middleware: RequestLogMiddleware(logger: logger))
    router.add(middleware: ErrorMiddleware())
    let failures = FailedSignIns(limit: plane.configuration.failedSignInLimit)
    let quotas = RequestQuotas(rate: plane.configuration.tokenRequestsPerSecond, burst: plane.configuration.tokenRequestBurst)
    router.add(
        middleware: AccessMiddleware(
            directory: directory,
            plane: plane,
            failures: failures,
            quotas: quotas,
            nodeCertificates: tls?.nodeAuthority != nil
        )
    )
    // After authentication and quotas, so that only admitted reads queue.
    router.add(middleware: ReadPriorityMiddleware(gate: ReadGate(limit: plane.configuration.concurrentReads, queueLimit: 10_000)))
    APIRoutes(plane: plane, directory: directory, failures: failures, nodeAuthority: tls?.nodeAuthority).add(to: router)
    let server = HTTPServerBuilder.http1(
        HTTP1Channel.Configuration(
            additionalChannelHandlers: [MalformedRequestHandler()],
            idleTimeout: plane.configuration.idleConnectionSeconds.map { .milliseconds(Int64($0 * 1000)) }
        ),
        tls: tls
    )
    return Application(
        router: router,
        server: server,
        configuration: .init(
            address: .hostname(host, port: port),
            serverName: "allot",
            availableConnectionsDelegate: plane.configuration.maxConnections.map { MaximumAvailableConnections($0, logger: logger) }
        ),
        services: [
            TickService(plane: plane),
            CostService(costs: plane.costCenter, interval: plane.configuration.budgetCheckSeconds),
            HistoryService(recorder: plane.recorder, now: plane.now, interval: plane.configuration.scanIntervalSeconds),
        ],
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
        logger: logger
    )
}

/// A query value percent-encoded for a URL the server hands out (a `Link` header's next page).
func queryEscaped(_ value: String) -> String {
    value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~,"))) ?? value
}

/// A query parameter that must be a whole number, or `400` naming it.
func wholeNumber(_ text: String, _ name: String) throws(APIError) -> Int {
    guard let value = Int(text) else { throw APIError(.badRequest, .invalidField, "\(name): expected a whole number, got \"\(text)\"") }
    return value
}
