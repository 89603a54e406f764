import AllotAgent
import AllotCLI
import AllotClient
import AllotServer
import AllotTLS
import ArgumentParser
import Foundation
import ServiceLifecycle
import UnixSignals

/// `allot dev`: everything in one process — the HTTP API, the embedded SQLite store, and an agent for this machine.
public struct DevCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run a whole Allot on this machine: API server, embedded store and a local agent."
    )

    @OptionGroup public var options: ServeOptions

    @Option(help: "Declared resources for the local node instead of discovery, e.g. cpu=8,memory=32GiB,gpus=2xA100:80GiB.")
    public var resources: String?

    @Option(help: "What the local machine costs: cloud=aws,region=us-east-1,type=g5.xlarge, or cloud=on-prem,price=USD/h.")
    public var pricing: String?

    @Option(help: "The local node's name (the host name when absent).")
    public var name: String?

    @Flag(help: "Serve HTTPS with a certificate from an authority made under DATA-DIR/tls/ (default: plain HTTP, meant for loopback).")
    public var tls = false

    public init() {}

    public func run() async throws {
        options.log.bootstrap()
        let (plane, directory, admin, agentToken) = try await options.open()
        guard let agentToken else {
            throw CommandFailure("the agent token is missing from \(options.dataDirectory)/agent-token; remove the data directory to start afresh")
        }
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let serverLogger = options.log.logger("allot.dev")
        let authority = options.dataDirectory + "/tls/ca.pem"
        let certificate: ServerCertificate?
        do {
            let names =
                ["localhost", "127.0.0.1", "::1", ProcessInfo.processInfo.hostName]
                + (["0.0.0.0", "::"].contains(options.host) ? [] : [options.host])
            certificate = tls ? try ServerCertificate(.generated(directory: options.dataDirectory + "/tls", names: names)) : nil
        } catch {
            throw CommandFailure("--tls: \(error)")
        }
        let app = try buildApplication(
            plane: plane,
            directory: directory,
            host: options.host,
            port: options.port,
            tls: certificate,
            logger: serverLogger
        ) { port in
            continuation.yield(port)
            continuation.finish()
        }
        var agent = AgentCommand()
        let scheme = tls ? "https" : "http"
        agent.server = "\(scheme)://\(options.host):\(options.port)"
        agent.token = agentToken
        agent.name = name
        agent.resources = resources
        agent.pricing = pricing
        agent.dataDirectory = options.dataDirectory
        agent.disks = []
        agent.log = options.log
        let host = options.host
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await ServiceGroup(
                    configuration: ServiceGroupConfiguration(
                        services: [ControlPlaneService(plane: plane), app, ControlPlaneShutdown(plane: plane)]
                            + (certificate.map { [CertificateReloader(certificate: $0, logger: serverLogger)] } ?? []),
                        gracefulShutdownSignals: [.sigterm, .sigint],
                        logger: serverLogger
                    ).bounded()
                )
                .run()
            }
            guard let port = await stream.first(where: { _ in true }) else { return }
            let url = "\(scheme)://\(host):\(port)"
            announce("allot dev running at \(url)")
            if let certificate { announce("TLS: \(certificate.summary)") }
            announce(
                admin.map { "admin token: \($0) (shown once; saved for the CLI in \(ClientOptions.credentialsPath))" } ?? ServerCommand.adminTokenKept
            )
            let trust: ClientTrust = certificate == nil ? .system : .authority(authority)
            if let admin { try? ClientOptions.save(server: url, token: admin, ca: certificate == nil ? nil : authority) }
            let service = try agent.makeService(client: AllotClient(server: URL(string: url)!, token: agentToken, keepAlive: true, trust: trust))
            group.addTask {
                try await ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: serverLogger))
                    .run()
            }
            try await group.waitForAll()
        }
    }
}
