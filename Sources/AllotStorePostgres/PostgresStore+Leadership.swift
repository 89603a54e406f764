import AllotStore
import Logging
import PostgresNIO
import Synchronization

// Which of several servers on one database leads: a lease row with a term and an expiry on the database's
// clock (so the servers' clocks need not agree). A server takes the lease only when it has expired, which raises
// the term; the leader renews it well before it runs out. Every write of the leader checks the term in its own
// transaction, holding the row shared until it commits, so a server that took over is never overwritten by the
// one before it: that one's next write fails with `StoreError.Code.fenced`.
extension PostgresStore: LeaseStore {
    /// Takes the lease if it has expired (or was never taken); returns the new term, or `nil` while another holds it.
    public func acquireLease(holder: String, address: String, for duration: Duration) async throws(StoreError) -> Int64? {
        let milliseconds = Self.milliseconds(duration)
        return try await read("take the leader's lease") { client in
            var term: Int64?
            for try await value in try await client.query(
                """
                UPDATE leader SET term = term + 1, holder = \(holder), address = \(address),
                    expires_at = clock_timestamp() + make_interval(secs => \(milliseconds)::double precision / 1000)
                WHERE id = 1 AND expires_at < clock_timestamp()
                RETURNING term
                """
            ).decode(Int64.self) {
                term = value
            }
            return term
        }
    }

    /// Extends the lease of this term; `false` when the term is over (another server took the lease).
    public func renewLease(term: Int64, holder: String, for duration: Duration) async throws(StoreError) -> Bool {
        let milliseconds = Self.milliseconds(duration)
        return try await read("renew the leader's lease") { client in
            var renewed = false
            for try await _ in try await client.query(
                """
                UPDATE leader SET expires_at = clock_timestamp() + make_interval(secs => \(milliseconds)::double precision / 1000)
                WHERE id = 1 AND term = \(term) AND holder = \(holder)
                RETURNING term
                """
            ).decode(Int64.self) {
                renewed = true
            }
            return renewed
        }
    }

    /// Gives the lease up at once (a leader shutting down), so another need not wait for it to expire.
    public func releaseLease(term: Int64, holder: String) async throws(StoreError) {
        _ = try await read("release the leader's lease") { client in
            try await client.query("UPDATE leader SET expires_at = '-infinity' WHERE id = 1 AND term = \(term) AND holder = \(holder)")
        }
    }

    /// The lease as it stands.
    public func currentLease() async throws(StoreError) -> LeaderLease {
        try await read("read the leader's lease") { client in
            var lease = LeaderLease(term: 0, holder: "", address: "", live: false)
            for try await (term, holder, address, live) in try await client.query(
                "SELECT term, holder, address, expires_at > clock_timestamp() FROM leader WHERE id = 1"
            ).decode((Int64, String, String, Bool).self) {
                lease = LeaderLease(term: term, holder: holder, address: address, live: live)
            }
            return lease
        }
    }

    /// From now on every write checks that `term` is still the leader's (`nil`: no check, as a lone server).
    public func lead(term: Int64?) {
        fence.withLock { $0 = term }
    }

    /// Fails the transaction unless `term` is still the leader's; holds the lease row shared until the transaction
    /// ends, so the term cannot change under a write in flight.
    static func checkTerm(_ term: Int64, _ connection: PostgresConnection, _ logger: Logger) async throws {
        var current: Int64 = -1
        for try await value in try await connection.query("SELECT term FROM leader WHERE id = 1 FOR SHARE", logger: logger).decode(Int64.self) {
            current = value
        }
        guard current == term else {
            throw StoreError(.fenced, "this server's term \(term) as leader is over (the term is now \(current)): it no longer writes")
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
