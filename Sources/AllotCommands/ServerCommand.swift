import AllotAPI
import AllotCLI
import AllotCloud
import AllotServer
import AllotStore
import AllotStorePostgres
import AllotTLS
import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// `allot server`: the control plane alone; agents join with the printed join token. On PostgreSQL (`--store`)
/// any number of servers may run against one database: one leads (schedules, runs the lifecycle, talks to agents),
/// the others follow, redirecting calls to it, and take over when its lease runs out.
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

    @Option(help: "With --store: the URL other servers, agents and clients reach this server at (default: http://HOST:PORT).")
    public var advertise: String?

    @Option(help: "With --store: seconds a leader's lease lasts without renewal; a follower takes over within it plus a third.")
    public var lease: Double = 3

    @Flag(
        inversion: .prefixedNo,
        help:
            "Serve HTTPS (the default) with a certificate from this server's own authority, made at the first start under DATA-DIR/tls/ (agents and clients pin tls/ca.pem or the printed fingerprint); --no-tls serves plain HTTP, tokens in clear text."
    )
    public var tls = true

    @Option(
        name: .customLong("tls-cert"),
        help: ArgumentHelp("Serve HTTPS with your own certificate chain (PEM; with --tls-key).", valueName: "file")
    )
    public var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("The private key of --tls-cert (PEM).", valueName: "file"))
    public var tlsKey: String?

    @Option(
        name: .customLong("tls-san"),
        help: ArgumentHelp("With --tls: one more DNS name or IP address for the server certificate (repeat the option for more).", valueName: "name")
    )
    public var tlsNames: [String] = []

    public init() {}

    static let adminTokenKept = "admin token: shown at the first start only (`allot token list` lists it; `allot token rotate-admin` replaces it)"

    /// `--store`, or `ALLOT_STORE` when it is not given.
    var storeURL: String? {
        store ?? ProcessInfo.processInfo.environment["ALLOT_STORE"].flatMap { $0.isEmpty ? nil : $0 }
    }

    public func validate() throws {
        guard lease >= 0.3, lease.isFinite else { throw ValidationError("--lease: must be at least 0.3 seconds") }
        guard (tlsCertificate == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key: give both or neither") }
        if !tls && tlsCertificate != nil {
            throw ValidationError("--no-tls serves plain HTTP; --tls-cert brings a certificate for HTTPS: give one of them")
        }
        if !tlsNames.isEmpty && (!tls || tlsCertificate != nil) {
            throw ValidationError("--tls-san: names the generated certificate, so it goes neither with --no-tls nor with --tls-cert")
        }
        if let advertise {
            guard let url = URL(string: advertise), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw ValidationError("--advertise: invalid value \"\(advertise)\": expected a URL such as http://10.0.0.1:7070")
            }
        }
    }

    public func run() async throws {
        options.log.bootstrap()
        // Made (or checked) once, whether this server leads at once or follows first.
        let tls = try serverTLS()
        guard let storeURL else { return try await serve(store: nil, leading: nil, tls: tls) }
        let url: PostgresURL
        let store: PostgresStore
        do {
            url = try PostgresURL(parsing: storeURL)
            store = try await PostgresStore.open(url, logger: options.log.logger("allot.store"))
        } catch {
            throw CommandFailure("--store: \(error.description)")
        }
        let logger = options.log.logger("allot.server")
        logger.notice("store: PostgreSQL at \(url)")
        let identity = ReplicaIdentity(
            address: advertise ?? "\(scheme)://\(options.host):\(options.port)",
            lease: .milliseconds(Int64((lease * 1000).rounded()))
        )
        guard let term = try await follow(store: store, identity: identity, tls: tls, logger: logger) else { return }
        store.lead(term: term)
        announce("allot server leads (term \(term)) as \(identity.address)")
        try await serve(store: store, leading: (identity, term), tls: tls)
    }

    /// Serves as a follower until this server takes the lease (its term) or is asked to stop (`nil`).
    func follow(store: PostgresStore, identity: ReplicaIdentity, tls: ServerCertificate?, logger: Logger) async throws -> Int64? {
        // A store that fails here is tried again by the follower's loop, which says so.
        if let term = try? await store.acquireLease(holder: identity.holder, address: identity.address, for: identity.lease) {
            return term
        }
        let host = options.host
        let scheme = scheme
        let follower = try buildFollowerApplication(
            host: host,
            port: options.port,
            tls: tls,
            leader: { try? await store.currentLease() },  // a store away: no leader known, 503
            reads: FollowerReads(store: store),
            logger: logger,
            onServerRunning: { port in
                let lease = try? await store.currentLease()  // only for the line printed
                announce("allot server following on \(scheme)://\(host):\(port) (leader: \(lease.map(\.address) ?? "unknown"))")
            }
        )
        let waiter = LeaseWaiter(store: store, identity: identity, logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: follower),
                    .init(service: waiter, successTerminationBehavior: .gracefullyShutdownGroup),
                ] + (tls.map { [.init(service: CertificateReloader(certificate: $0, logger: logger))] } ?? []),
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            ).bounded()
        )
        try await group.run()
        return waiter.term.value
    }

    /// Runs the control plane: on `store` (SQLite under the data directory without one), as the leader of
    /// several when `leading` says so; over HTTPS with `tls`.
    func serve(store: (any LeaseStore)?, leading: (identity: ReplicaIdentity, term: Int64)?, tls: ServerCertificate?) async throws {
        let (plane, access, admin, agent) = try await options.open(
            store: store,
            advertisedLeader: leading?.identity.address,
            leaderTerm: leading?.term
        )
        let host = options.host
        let directory = options.dataDirectory
        let logger = options.log.logger("allot.server")
        let scheme = scheme
        let advertised = advertise
        let joinHost = joinHost
        let app = try buildApplication(plane: plane, directory: access, host: host, port: options.port, tls: tls, logger: logger) {
            port in
            announce("allot server listening on \(scheme)://\(host):\(port)")
            Self.announceTLS(tls, url: advertised ?? "\(scheme)://\(joinHost):\(port)", joinToken: agent)
            announce(admin.map { "admin token: \($0) (shown once: keep it; `allot token rotate-admin` replaces it)" } ?? Self.adminTokenKept)
            announce("agent join token: \(agent ?? "(see \(directory)/agent-token)")")
        }
        var services: [any Service] = []
        if let store, let leading {
            // First in the group, so it stops last: the lease is given up after the last write.
            services.append(LeaseKeeper(store: store, identity: leading.identity, term: leading.term, logger: logger))
        }
        services += [ControlPlaneService(plane: plane), app]
        if let tls { services.append(CertificateReloader(certificate: tls, logger: logger)) }
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
            configuration: ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            ).bounded()
        )
        do {
            try await group.run()
        } catch let lost as LeadershipLost {
            throw CommandFailure("stopped leading: \(lost.description)")
        }
    }
}

/// A follower's wait for the lease, as a service: it ends (and with it the follower's group) once this server
/// holds the lease, or at graceful shutdown.
struct LeaseWaiter: Service {
    let store: any LeaseStore
    let identity: ReplicaIdentity
    let logger: Logger
    let term = Box()

    final class Box: Sendable {
        private let stored = Mutex<Int64?>(nil)
        var value: Int64? { stored.withLock { $0 } }
        func set(_ value: Int64?) { stored.withLock { $0 = value } }
    }

    func run() async throws {
        term.set(await waitForLease(store: store, identity: identity, logger: logger))
    }
}
