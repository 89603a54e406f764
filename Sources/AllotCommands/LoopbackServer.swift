import AllotAPI
import AllotCLI
import AllotClient
import AllotServer
import AllotStore
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// A server on a free loopback port for the benchmarks: the control plane on `store`, the HTTP API, an
/// admin and an agent token; shut down gracefully when `body` returns.
struct LoopbackServer: Sendable {
    let port: Int
    let admin: String
    let agent: String

    var url: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// Sends an agent's report (a node joins with its first).
    func report(_ report: AgentReport) async throws { _ = try await AllotClient(server: url, token: agent).report(report) }

    static func run<Result: Sendable>(
        store: any AllotStore,
        configuration: ServerConfiguration,
        _ body: (LoopbackServer) async throws -> Result
    ) async throws -> Result {
        let plane = try await ControlPlane.start(store: store, configuration: configuration)
        let admin = Authenticator.newToken()
        let agent = Authenticator.newToken()
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "allot.bench")
        logger.logLevel = .critical
        let access = Directory(store: store, bootstrap: Authenticator(adminToken: admin, agentToken: agent))
        try await access.load()
        try await access.observeTenants { tenants throws(APIError) in try await plane.setTenants(tenants) }
        await access.sendAudit { entry in await plane.recordAudit(entry) }
        let app = try buildApplication(plane: plane, directory: access, port: 0, logger: logger) { port in
            continuation.yield(port)
            continuation.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigint], logger: logger))
        return try await withThrowingTaskGroup(of: Result?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            guard let port = await ports.first(where: { _ in true }) else { throw CommandFailure("the server did not start") }
            let result = try await body(LoopbackServer(port: port, admin: admin, agent: agent))
            await group.triggerGracefulShutdown()
            _ = try await tasks.next()
            return result
        }
    }
}
