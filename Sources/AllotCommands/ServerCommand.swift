import AllotServer
import ArgumentParser
import Hummingbird
import ServiceLifecycle
import UnixSignals

/// `allot server`: the control plane alone; agents join with the printed join token.
public struct ServerCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the control plane (HTTP API + embedded SQLite store); agents join over the network."
    )

    @OptionGroup public var options: ServeOptions

    public init() {}

    static let adminTokenKept = "admin token: shown at the first start only (`allot token list` lists it; `allot token rotate-admin` replaces it)"

    public func run() async throws {
        options.log.bootstrap()
        let (plane, access, admin, agent) = try await options.open()
        let host = options.host
        let directory = options.dataDirectory
        let logger = options.log.logger("allot.server")
        let app = buildApplication(plane: plane, directory: access, host: host, port: options.port, logger: logger) { port in
            announce("allot server listening on http://\(host):\(port)")
            announce(admin.map { "admin token: \($0) (shown once: keep it; `allot token rotate-admin` replaces it)" } ?? Self.adminTokenKept)
            announce("agent join token: \(agent ?? "(see \(directory)/agent-token)")")
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [ControlPlaneService(plane: plane), app, ControlPlaneShutdown(plane: plane)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}
