import AllotStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// One server among several on a shared store: how long its lease lasts and how it is known to the others.
public struct ReplicaIdentity: Sendable {
    /// This process's own id in the lease (new at every start).
    public var holder: String
    /// The URL clients and agents reach this server at.
    public var address: String
    /// How long a lease lasts without renewal; the leader renews every third of it.
    public var lease: Duration

    public init(holder: String = UUID().uuidString.lowercased(), address: String, lease: Duration) {
        self.holder = holder
        self.address = address
        self.lease = lease
    }

    /// How often a follower tries to take the lease, and a leader renews it.
    public var checkInterval: Duration { lease / 3 }
}

/// Why a leader stopped leading.
public struct LeadershipLost: Error, CustomStringConvertible {
    public var description: String
}

/// Waits, as a follower, until this server takes the lease: tries at once, then every check interval. Returns the
/// term, or `nil` when graceful shutdown came first. Store errors are logged and tried again.
public func waitForLease(store: any LeaseStore, identity: ReplicaIdentity, logger: Logger) async -> Int64? {
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
        do {
            if let term = try await store.acquireLease(holder: identity.holder, address: identity.address, for: identity.lease) {
                return term
            }
        } catch {
            logger.warning("cannot reach the store to take the lease", metadata: ["error": "\(error.message)"])
        }
        // Woken early only by shutdown, which the loop's condition then ends.
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: identity.checkInterval) }
    }
    return nil
}

/// Keeps the leader's lease: renews it every check interval and throws ``LeadershipLost`` (ending the service
/// group, and so the server) when another server has taken it or when no renewal succeeded for 80 % of the lease,
/// which is before any other server may take it (the lease counts from the database's clock at a renewal, which
/// comes after the moment counted here). At graceful shutdown it gives the lease up, so a follower takes over
/// at once.
public struct LeaseKeeper: Service {
    let store: any LeaseStore
    let identity: ReplicaIdentity
    let term: Int64
    let logger: Logger

    public init(store: any LeaseStore, identity: ReplicaIdentity, term: Int64, logger: Logger) {
        self.store = store
        self.identity = identity
        self.term = term
        self.logger = logger
    }

    public func run() async throws {
        let clock = ContinuousClock()
        let renewed = LastRenewal(clock.now)
        let limit = identity.lease * 0.8
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // The watchdog: a store that hangs cannot keep a stale leader dispatching.
                while !Task.isCancelled {
                    try await Task.sleep(for: .milliseconds(50))
                    let last = renewed.instant
                    if clock.now - last > limit {
                        throw LeadershipLost(
                            description: "no renewal of the lease for \(clock.now - last) (limit \(limit)): this server stops leading"
                        )
                    }
                }
            }
            group.addTask {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: identity.checkInterval) }
                    if Task.isShuttingDownGracefully || Task.isCancelled { break }
                    let started = clock.now
                    do {
                        guard try await store.renewLease(term: term, holder: identity.holder, for: identity.lease) else {
                            throw LeadershipLost(description: "another server took the lease (this server's term \(term) is over)")
                        }
                        renewed.instant = started
                    } catch let error as StoreError {
                        logger.warning("cannot renew the lease", metadata: ["error": "\(error.message)", "term": "\(term)"])
                    }
                }
            }
            // The renewer ends at graceful shutdown; the watchdog only by throwing or being cancelled.
            try await group.next()
            group.cancelAll()
        }
        if Task.isShuttingDownGracefully {
            try? await store.releaseLease(term: term, holder: identity.holder)  // else it expires after the lease
            logger.notice("gave up the lease", metadata: ["term": "\(term)"])
        }
    }
}

/// When the lease was last renewed (the moment the renewal was sent).
private final class LastRenewal: Sendable {
    private let stored: Mutex<ContinuousClock.Instant>

    init(_ instant: ContinuousClock.Instant) { stored = Mutex(instant) }

    var instant: ContinuousClock.Instant {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}
