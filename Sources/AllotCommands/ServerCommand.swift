import AllotAPI
import AllotCloud
import AllotServer
import ArgumentParser
import Foundation
import Hummingbird
import ServiceLifecycle
import UnixSignals

/// `allot server`: the control plane alone; agents join with the printed join token.
public struct ServerCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the control plane (HTTP API + embedded SQLite store, or PostgreSQL); agents join over the network."
    )

    @OptionGroup public var options: ServeOptions

    @Option(
        name: .customLong("store"),
        help: ArgumentHelp(
            "Keep the state in PostgreSQL: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require] (also ALLOT_STORE; default: SQLite under --data-dir).",
            valueName: "url"
        )
    )
    public var store: String?

    /// `--store`, or `ALLOT_STORE` when it is not given.
    var storeURL: String? {
        store ?? ProcessInfo.processInfo.environment["ALLOT_STORE"].flatMap { $0.isEmpty ? nil : $0 }
    }

    public init() {}

    static let adminTokenKept = "admin token: shown at the first start only (`allot token list` lists it; `allot token rotate-admin` replaces it)"

    public func run() async throws {
        options.log.bootstrap()
        let (plane, access, admin, agent) = try await options.open(store: storeURL)
        let host = options.host
        let directory = options.dataDirectory
        let logger = options.log.logger("allot.server")
        let app = buildApplication(plane: plane, directory: access, host: host, port: options.port, logger: logger) { port in
            announce("allot server listening on http://\(host):\(port)")
            announce(admin.map { "admin token: \($0) (shown once: keep it; `allot token rotate-admin` replaces it)" } ?? Self.adminTokenKept)
            announce("agent join token: \(agent ?? "(see \(directory)/agent-token)")")
        }
        var services: [any Service] = [ControlPlaneService(plane: plane), app]
        if let autoscaler = try options.autoscalerConfiguration() {
            guard let agent else { throw CommandFailure("--autoscale: no agent join token in \(directory)/agent-token to give the machines") }
            let scaler = try Autoscaler(
                configuration: autoscaler,
                provider: try cloudProvider(named: autoscaler.provider),
                catalog: try Catalog.bundled(),
                plane: plane,
                ledgerPath: directory + "/autoscaler-intents.json",
                joinToken: agent,
                logger: options.log.logger("allot.autoscaler")
            )
            services.append(AutoscalerService(autoscaler: scaler))
            announce("autoscaler: \(autoscaler.provider) in \(autoscaler.regions.joined(separator: ", ")), at most \(autoscaler.maxNodes) nodes")
        }
        services.append(ControlPlaneShutdown(plane: plane))
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}
