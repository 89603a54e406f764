import AllotAPI
import AllotCore
import AllotStore
import AllotStoreSQLite
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AllotServer

/// A server with two organisations: `acme` (with the team `acme-vision`) and `globex`, a job in each, and a
/// token of every role in `acme`. Every endpoint is called by every role for an own and an other-tenant
/// resource, and the status must be the one in the matrix.
@Suite(.serialized) struct IsolationMatrixTests {
    enum Caller: String, CaseIterable, Sendable {
        case admin
        case tenantAdmin = "tenant-admin"
        case member, viewer, agent
    }

    struct World: Sendable {
        let plane: ControlPlane
        let directory: Directory
        var secrets: [Caller: String] = [:]
        var otherTokenSecret = ""
        var own = ""
        var other = ""
    }

    static let adminSecret = Authenticator.newToken()
    static let agentSecret = Authenticator.newToken()

    func makeWorld(store: any AllotStore) async throws -> World {
        let configuration = ServerConfiguration(scheduler: SchedulerConfiguration(headroom: 0, scanIntervalSeconds: 1))
        let plane = try await ControlPlane.start(store: store, configuration: configuration)
        _ = try await plane.report(AgentReport(node: "n1", inventory: inventory("n1", cpu: 4)))
        let directory = Directory(store: store, bootstrap: Authenticator(adminToken: Self.adminSecret, agentToken: Self.agentSecret))
        try await directory.load()
        try await directory.observeTenants { tenants throws(APIError) in try await plane.setTenants(tenants) }
        await directory.sendAudit { entry in await plane.recordAudit(entry) }
        let root = Identity(actor: "bootstrap-admin", role: .admin, tenant: "default", scope: nil)
        for request in [TenantRequest(name: "acme"), TenantRequest(name: "acme-vision", parent: "acme"), TenantRequest(name: "globex")] {
            _ = try await directory.createTenant(request, by: root)
        }
        var world = World(plane: plane, directory: directory)
        world.secrets[.admin] = Self.adminSecret
        world.secrets[.agent] = Self.agentSecret
        for (caller, role) in [(Caller.tenantAdmin, Role.tenantAdmin), (.member, .member), (.viewer, .viewer)] {
            world.secrets[caller] = try await directory.createToken(TokenRequest(name: caller.rawValue, role: role, tenant: "acme"), by: root).secret
        }
        world.otherTokenSecret = try #require(
            try await directory.createToken(TokenRequest(name: "g", role: .member, tenant: "globex"), by: root).secret
        )
        world.own = try await job(plane, tenant: "acme")
        world.other = try await job(plane, tenant: "globex")
        return world
    }

    func job(_ plane: ControlPlane, tenant: String) async throws -> String {
        var request = submission(cpu: 1)
        request.task.tenant = TenantID(tenant)
        return try await plane.submit(request).id.rawValue
    }

    /// One cell: a request and the status each caller must get.
    struct Cell {
        var name: String
        var method: HTTPRequest.Method
        var uri: String
        var body: String?
        var expected: [Caller: Int]
    }

    static func all(_ status: Int, agent: Int = 403) -> [Caller: Int] {
        [.admin: status, .tenantAdmin: status, .member: status, .viewer: status, .agent: agent]
    }

    func cells(
        _ world: World,
        fresh: @Sendable (String) async throws -> String,
        freshToken: @Sendable (String) async throws -> String
    ) async throws
        -> [Cell]
    {
        var cells: [Cell] = [
            Cell(name: "list jobs", method: .get, uri: "/v1/jobs", expected: Self.all(200)),
            Cell(name: "own job", method: .get, uri: "/v1/jobs/\(world.own)", expected: Self.all(200)),
            Cell(
                name: "other job",
                method: .get,
                uri: "/v1/jobs/\(world.other)",
                expected: [.admin: 200, .tenantAdmin: 404, .member: 404, .viewer: 404, .agent: 403]
            ),
            Cell(name: "own logs", method: .get, uri: "/v1/jobs/\(world.own)/logs", expected: Self.all(200)),
            Cell(
                name: "other logs",
                method: .get,
                uri: "/v1/jobs/\(world.other)/logs",
                expected: [.admin: 200, .tenantAdmin: 404, .member: 404, .viewer: 404, .agent: 403]
            ),
            Cell(
                name: "submit own",
                method: .post,
                uri: "/v1/jobs",
                body: #"{"command":["true"],"requests":{"cpu":1},"tenant":"acme"}"#,
                expected: [.admin: 201, .tenantAdmin: 201, .member: 201, .viewer: 403, .agent: 403]
            ),
            Cell(
                name: "submit other",
                method: .post,
                uri: "/v1/jobs",
                body: #"{"command":["true"],"requests":{"cpu":1},"tenant":"globex"}"#,
                expected: [.admin: 201, .tenantAdmin: 404, .member: 404, .viewer: 403, .agent: 403]
            ),
            Cell(name: "list nodes", method: .get, uri: "/v1/nodes", expected: Self.all(200)),
            Cell(name: "one node", method: .get, uri: "/v1/nodes/n1", expected: Self.all(200)),
            Cell(
                name: "cordon",
                method: .post,
                uri: "/v1/nodes/n1/uncordon",
                expected: [.admin: 200, .tenantAdmin: 403, .member: 403, .viewer: 403, .agent: 403]
            ),
            Cell(name: "list tenants", method: .get, uri: "/v1/tenants", expected: Self.all(200)),
            Cell(
                name: "create own sub-tenant",
                method: .post,
                uri: "/v1/tenants",
                body: #"{"name":"NAME","parent":"acme"}"#,
                expected: [.admin: 201, .tenantAdmin: 201, .member: 403, .viewer: 403, .agent: 403]
            ),
            Cell(
                name: "create other sub-tenant",
                method: .post,
                uri: "/v1/tenants",
                body: #"{"name":"NAME","parent":"globex"}"#,
                expected: [.admin: 201, .tenantAdmin: 404, .member: 403, .viewer: 403, .agent: 403]
            ),
            Cell(
                name: "patch own sub-tenant",
                method: .patch,
                uri: "/v1/tenants/acme-vision",
                body: #"{"weight":2}"#,
                expected: [.admin: 200, .tenantAdmin: 200, .member: 403, .viewer: 403, .agent: 403]
            ),
            Cell(
                name: "patch own tenant",
                method: .patch,
                uri: "/v1/tenants/acme",
                body: #"{"weight":5}"#,
                expected: [.admin: 200, .tenantAdmin: 403, .member: 403, .viewer: 403, .agent: 403]
            ),
            Cell(
                name: "patch other tenant",
                method: .patch,
                uri: "/v1/tenants/globex",
                body: #"{"weight":2}"#,
                expected: [.admin: 200, .tenantAdmin: 404, .member: 403, .viewer: 403, .agent: 403]
            ),
            Cell(
                name: "list tokens",
                method: .get,
                uri: "/v1/tokens",
                expected: [.admin: 200, .tenantAdmin: 200, .member: 403, .viewer: 403, .agent: 403]
            ),
            Cell(
                name: "create own token",
                method: .post,
                uri: "/v1/tokens",
                body: #"{"role":"member","tenant":"acme"}"#,
                expected: [.admin: 201, .tenantAdmin: 201, .member: 403, .viewer: 403, .agent: 403]
            ),
            Cell(
                name: "create own admin token",
                method: .post,
                uri: "/v1/tokens",
                body: #"{"role":"admin","tenant":"acme"}"#,
                expected: [.admin: 201, .tenantAdmin: 403, .member: 403, .viewer: 403, .agent: 403]
            ),
            Cell(
                name: "create other token",
                method: .post,
                uri: "/v1/tokens",
                body: #"{"role":"member","tenant":"globex"}"#,
                expected: [.admin: 201, .tenantAdmin: 404, .member: 403, .viewer: 403, .agent: 403]
            ),
            Cell(name: "audit", method: .get, uri: "/v1/audit", expected: [.admin: 200, .tenantAdmin: 200, .member: 403, .viewer: 403, .agent: 403]),
            Cell(
                name: "agent report",
                method: .post,
                uri: "/v1/agent/report",
                body: #"{"node":"n2","jobs":[],"output":[]}"#,
                expected: Self.all(403, agent: 200)
            ),
            Cell(
                name: "metrics",
                method: .get,
                uri: "/metrics",
                expected: [.admin: 200, .tenantAdmin: 403, .member: 403, .viewer: 403, .agent: 403]
            ),
            Cell(name: "utilization", method: .get, uri: "/v1/utilization", expected: Self.all(200)),
            Cell(name: "bottlenecks", method: .get, uri: "/v1/bottlenecks", expected: Self.all(200)),
            Cell(name: "recommendations", method: .get, uri: "/v1/recommendations", expected: Self.all(200)),
            Cell(
                name: "apply a plan",
                method: .post,
                uri: "/v1/recommendations/consolidation-0/apply",
                expected: [.admin: 409, .tenantAdmin: 403, .member: 403, .viewer: 403, .agent: 403]
            ),
            Cell(name: "node series", method: .get, uri: "/v1/history?series=node/n1/cpu.utilization", expected: Self.all(200)),
            Cell(name: "own job series", method: .get, uri: "/v1/history?series=job/\(world.own)/gpu.utilization", expected: Self.all(200)),
            Cell(
                name: "other job series",
                method: .get,
                uri: "/v1/history?series=job/\(world.other)/gpu.utilization",
                expected: [.admin: 200, .tenantAdmin: 404, .member: 404, .viewer: 404, .agent: 403]
            ),
            Cell(
                name: "other tenant series",
                method: .get,
                uri: "/v1/history?series=tenant/globex/gpus.allocated",
                expected: [.admin: 200, .tenantAdmin: 404, .member: 404, .viewer: 404, .agent: 403]
            ),
            Cell(name: "series list", method: .get, uri: "/v1/history/series", expected: Self.all(200)),
            Cell(name: "cloud offers", method: .get, uri: "/v1/cloud/offers?gpus=A100:8&top=3", expected: Self.all(200)),
            Cell(name: "cloud offers, bad query", method: .get, uri: "/v1/cloud/offers?cpu=lots", expected: Self.all(400)),
            Cell(
                name: "cloud plan",
                method: .post,
                uri: "/v1/cloud/plan",
                body: #"{"tasks":[{"name":"t","count":2,"gpus":"A100:8","group":"g"},{"name":"w","cpu":"8+","group":"g"}],"hours":3}"#,
                expected: Self.all(200)
            ),
            Cell(name: "costs", method: .get, uri: "/v1/costs?groupBy=job", expected: Self.all(200)),
            Cell(name: "costs, bad grouping", method: .get, uri: "/v1/costs?groupBy=colour", expected: Self.all(400)),
            Cell(name: "FOCUS export", method: .get, uri: "/v1/costs/export?format=focus", expected: Self.all(200)),
            Cell(name: "budgets", method: .get, uri: "/v1/budgets", expected: Self.all(200)),
            Cell(
                name: "own budget",
                method: .post,
                uri: "/v1/budgets",
                body: #"{"name":"NAME","tenant":"acme","amount":100}"#,
                expected: [.admin: 201, .tenantAdmin: 201, .member: 403, .viewer: 403, .agent: 403]
            ),
            Cell(
                name: "other budget",
                method: .post,
                uri: "/v1/budgets",
                body: #"{"name":"NAME","tenant":"globex","amount":100}"#,
                expected: [.admin: 201, .tenantAdmin: 404, .member: 403, .viewer: 403, .agent: 403]
            ),
            Cell(
                name: "cluster budget",
                method: .post,
                uri: "/v1/budgets",
                body: #"{"name":"NAME","amount":100}"#,
                expected: [.admin: 201, .tenantAdmin: 403, .member: 403, .viewer: 403, .agent: 403]
            ),
            Cell(name: "forecast", method: .get, uri: "/v1/forecast?metric=cost&days=14", expected: Self.all(200)),
            Cell(
                name: "other tenant forecast",
                method: .get,
                uri: "/v1/forecast?tenant=globex",
                expected: [.admin: 200, .tenantAdmin: 404, .member: 404, .viewer: 404, .agent: 403]
            ),
            Cell(name: "acceptance", method: .get, uri: "/v1/recommendations/acceptance", expected: Self.all(200)),
            Cell(
                name: "decide unknown",
                method: .post,
                uri: "/v1/recommendations/idle-0/feedback",
                body: #"{"decision":"dismiss","reason":"no"}"#,
                expected: Self.all(404)
            ),
            Cell(name: "product feedback", method: .post, uri: "/v1/feedback", body: #"{"text":"NAME"}"#, expected: Self.all(201)),
            Cell(
                name: "feedback list",
                method: .get,
                uri: "/v1/feedback",
                expected: [.admin: 200, .tenantAdmin: 200, .member: 403, .viewer: 403, .agent: 403]
            ),
            // Events stream forever, so only the refusal is called here; what each subscriber receives is in EventHubTests.
            Cell(name: "events (agent)", method: .get, uri: "/v1/events", expected: [.agent: 403]),
        ]
        // Cells that change what they touch get a fresh target per caller (the placeholder is replaced per call).
        cells.append(
            Cell(
                name: "cancel own",
                method: .post,
                uri: "/v1/jobs/OWN/cancel",
                expected: [.admin: 200, .tenantAdmin: 200, .member: 200, .viewer: 403, .agent: 403]
            )
        )
        cells.append(
            Cell(
                name: "cancel other",
                method: .post,
                uri: "/v1/jobs/OTHER/cancel",
                expected: [.admin: 200, .tenantAdmin: 404, .member: 404, .viewer: 403, .agent: 403]
            )
        )
        cells.append(
            Cell(
                name: "revoke own token",
                method: .delete,
                uri: "/v1/tokens/OWNTOKEN",
                expected: [.admin: 200, .tenantAdmin: 200, .member: 403, .viewer: 403, .agent: 403]
            )
        )
        cells.append(
            Cell(
                name: "revoke other token",
                method: .delete,
                uri: "/v1/tokens/OTHERTOKEN",
                expected: [.admin: 200, .tenantAdmin: 404, .member: 403, .viewer: 403, .agent: 403]
            )
        )
        return cells
    }

    @Test func everyEndpointEveryRoleOwnAndOtherTenant() async throws {
        let store = MemoryStore()
        let world = try await makeWorld(store: store)
        let app = try buildApplication(plane: world.plane, directory: world.directory, port: 0)
        let plane = world.plane
        let directory = world.directory
        let fresh: @Sendable (String) async throws -> String = { tenant in try await self.job(plane, tenant: tenant) }
        let freshToken: @Sendable (String) async throws -> String = { tenant in
            try await directory.createToken(
                TokenRequest(role: .member, tenant: tenant),
                by: Identity(actor: "t", role: .admin, tenant: "default", scope: nil)
            ).id
        }
        let cells = try await cells(world, fresh: fresh, freshToken: freshToken)
        let hidden = [world.other, "globex"]
        let otherTokens = await directory.tokens(visibleTo: Identity(actor: "t", role: .admin, tenant: "default", scope: nil)).filter {
            $0.tenant == "globex"
        }
        .map(\.id)
        let secrets = world.secrets
        try await app.test(.router) { client in
            var checked = 0
            for cell in cells {
                for (caller, expected) in cell.expected.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                    // n1's agent keeps reporting, as a live one would (with its inventory, so that it joins again if a
                    // slow run let the server's tick mark it down after three silent scan intervals).
                    _ = try await plane.report(AgentReport(node: "n1", inventory: inventory("n1", cpu: 4)))
                    var uri = cell.uri
                    if uri.contains("OWNTOKEN") { uri = uri.replacingOccurrences(of: "OWNTOKEN", with: try await freshToken("acme")) }
                    if uri.contains("OTHERTOKEN") { uri = uri.replacingOccurrences(of: "OTHERTOKEN", with: try await freshToken("globex")) }
                    if uri.contains("OWN") { uri = uri.replacingOccurrences(of: "OWN", with: try await fresh("acme")) }
                    if uri.contains("OTHER") { uri = uri.replacingOccurrences(of: "OTHER", with: try await fresh("globex")) }
                    let body = cell.body.map { $0.replacingOccurrences(of: "NAME", with: "t-\(caller.rawValue)-\(checked)") }
                    let response = try await client.execute(
                        uri: uri,
                        method: cell.method,
                        headers: [.authorization: "Bearer \(secrets[caller]!)", .contentType: "application/json"],
                        body: body.map { ByteBuffer(string: $0) }
                    )
                    #expect(Int(response.status.code) == expected, "\(cell.name) as \(caller.rawValue): \(String(buffer: response.body))")
                    if caller != .admin, (200..<300).contains(Int(response.status.code)), !["create other token", "audit"].contains(cell.name) {
                        // (The audit log shows a tenant admin its own calls, including ids it tried and was refused.)
                        let text = String(buffer: response.body)
                        for secret in hidden + otherTokens { #expect(!text.contains(secret), "\(cell.name) as \(caller.rawValue) shows \(secret)") }
                    }
                    checked += 1
                }
            }
            #expect(checked > 100)
            // No token, a wrong token, a revoked token: 401 everywhere but /health.
            for uri in ["/v1/jobs", "/v1/nodes", "/v1/tenants", "/v1/tokens", "/v1/audit", "/v1/agent/directive?node=n1"] {
                for headers: HTTPFields in [[:], [.authorization: "Bearer allot_wrong"], [.authorization: "Basic abc"]] {
                    let response = try await client.execute(uri: uri, method: .get, headers: headers)
                    #expect(response.status == .unauthorized, "\(uri) \(headers)")
                }
            }
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
        }
        // Every mutating call is in the audit log with who made it and how it ended; reads are not.
        await plane.flush()
        let audit = await store.audit(AuditQuery())
        let mutating = cells.filter { $0.method != .get && $0.uri != "/v1/agent/report" }.reduce(0) {
            $0 + $1.expected.filter { $0.key != .agent }.count
        }
        #expect(audit.count >= mutating)
        #expect(audit.allSatisfy { !$0.action.hasPrefix("GET ") && !$0.action.contains("/v1/agent/") })
        #expect(audit.contains { $0.role == "member" && $0.tenant == "acme" && $0.action == "POST /v1/jobs" && $0.status == 201 })
        #expect(audit.contains { $0.role == "viewer" && $0.action == "POST /v1/jobs" && $0.status == 403 })
        #expect(audit.contains { $0.role == "tenant-admin" && $0.action == "PATCH /v1/tenants/globex" && $0.status == 404 && $0.target == "globex" })
        #expect(zip(audit, audit.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
    }
}
