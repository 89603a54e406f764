import AllotAPI
import AllotAgent
import AllotCLI
import AllotClient
import AllotCore
import AllotTLS
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `allot agent`: joins a machine to a server and runs the jobs placed on it.
public struct AgentCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Join this machine to a server: report its resources and run the jobs placed on it."
    )

    @Option(help: "The server URL, or several servers' on one store separated by commas (the agent follows the leader).")
    public var server: String

    @Option(help: "The agent join token the server printed.")
    public var token: String

    @Option(
        help: ArgumentHelp(
            "The certificate authority (PEM) an https:// server's certificate must chain to, such as the server's tls/ca.pem (default: $ALLOT_CA, or the system's authorities).",
            valueName: "file"
        )
    )
    public var ca: String?

    @Option(
        name: .customLong("ca-fingerprint"),
        help: ArgumentHelp(
            "Instead of --ca: the authority's SHA-256 fingerprint, as `allot server` prints it in the join line (default: $ALLOT_CA_FINGERPRINT).",
            valueName: "sha256"
        )
    )
    public var caFingerprint: String?

    @Option(help: "The node name (the host name when absent).")
    public var name: String?

    @Option(help: "Declared resources replacing discovery, e.g. cpu=8,memory=32GiB,gpus=2xA100:80GiB.")
    public var resources: String?

    @Option(
        help:
            "What this machine costs: cloud=aws,region=us-east-1,type=p4d.24xlarge[,capacity=spot][,price=USD/h] (the server looks up the price), or cloud=on-prem,price=USD/h (amortised)."
    )
    public var pricing: String?

    @Option(name: .customLong("disk"), help: "A path whose file system to report (repeatable; / when absent).")
    public var disks: [String] = []

    @Option(name: .customLong("data-dir"), help: "Where the agent keeps its state (process groups it started).")
    public var dataDirectory: String = "./.allot"

    @OptionGroup public var log: LogOptions

    public init() {}

    public func validate() throws {
        if case .failure(let error) = AllotClient.servers(server) { throw ValidationError("--server: \(error)") }
        if let resources {
            do { _ = try ResourceOverride.parse(resources) } catch {
                throw ValidationError("--\(error.field): invalid value \"\(error.value)\": \(error.reason)")
            }
        }
        if let pricing {
            do { _ = try NodePricing.parse(pricing) } catch { throw ValidationError("--\(error.description)") }
        }
    }

    public func run() async throws {
        log.bootstrap()
        let servers = try AllotClient.servers(server).get()
        let discovery = NodeDiscovery(name: name, diskPaths: disks.isEmpty ? ["/"] : disks)
        let inventory = try inventory(discovery)
        var trust = try ClientOptions.trust(ca: ca, fingerprint: caFingerprint)
        if servers.contains(where: { $0.scheme == "https" }) {
            trust = try await nodeIdentity(inventory.name, servers: servers, trust: trust)
        }
        let client = AllotClient(servers: servers, token: token, keepAlive: true, trust: trust)
        let service = try makeService(client: client, inventory: inventory, discovery: discovery)
        announce("allot agent \(service.name) reporting to \(server)")
        let group = ServiceGroup(
            configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: log.logger("allot.agent"))
        )
        try await group.run()
    }

    func makeService(client: AllotClient) throws -> AgentService {
        let discovery = NodeDiscovery(name: name, diskPaths: disks.isEmpty ? ["/"] : disks)
        return try makeService(client: client, inventory: try inventory(discovery), discovery: discovery)
    }

    /// What the machine has, with `--resources` and `--pricing` applied.
    func inventory(_ discovery: NodeDiscovery) throws -> NodeInventory {
        var inventory = discovery.inventory()
        if let resources { inventory = try ResourceOverride.parse(resources).apply(to: inventory) }
        if let pricing { inventory.pricing = try NodePricing.parse(pricing) }
        return inventory
    }

    /// The trust for an `https://` server, presenting this node's own certificate (mutual TLS): the one in the
    /// data directory, or one the server issues now for the join token (once; a node that already holds one
    /// cannot be taken over with the join token). A server that issues none (it serves a certificate of your own)
    /// leaves the join token alone to authenticate the agent.
    func nodeIdentity(_ node: String, servers: [URL], trust: ClientTrust) async throws -> ClientTrust {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let certificate = absolutePath(dataDirectory + "/node-\(node).pem")
        let key = absolutePath(dataDirectory + "/node-\(node)-key.pem")
        let manager = FileManager.default
        if manager.fileExists(atPath: certificate) && manager.fileExists(atPath: key) { return trust.presenting(certificate: certificate, key: key) }
        let logger = log.logger("allot.agent")
        let (keyPEM, requestPEM) = try NodeCertificates.request(node: node)
        let issued: IssuedNodeCertificate
        do {
            issued = try await AllotClient(servers: servers, token: token, trust: trust).nodeCertificate(
                NodeCertificateRequest(node: node, request: requestPEM)
            )
        } catch let error where error.status == 404 {
            logger.notice("the server issues no node certificates (it serves one of your own): the join token authenticates this agent")
            return trust
        } catch let error where error.status == 409 || error.code == .badServer {
            throw CommandFailure(error.description)
        } catch {
            logger.warning(
                "no node certificate yet (the join token authenticates this agent until a restart gets one)",
                metadata: ["error": "\(error)"]
            )
            return trust
        }
        // The key first, readable by its owner only: a certificate is never on disk without its key.
        guard manager.createFile(atPath: key, contents: Data(keyPEM.utf8), attributes: [.posixPermissions: 0o600]),
            manager.createFile(atPath: certificate, contents: Data(issued.pem.utf8), attributes: [.posixPermissions: 0o644])
        else { throw CommandFailure("cannot write the node's certificate and key under \(dataDirectory)") }
        logger.notice("node certificate issued", metadata: ["node": "\(node)", "fingerprint": "\(issued.fingerprint)"])
        return trust.presenting(certificate: certificate, key: key)
    }

    func makeService(client: AllotClient, inventory: NodeInventory, discovery: NodeDiscovery) throws -> AgentService {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return AgentService(
            client: client,
            inventory: inventory,
            discovery: discovery,
            stateFile: dataDirectory + "/agent-\(inventory.name).json",
            logger: log.logger("allot.agent")
        )
    }
}
