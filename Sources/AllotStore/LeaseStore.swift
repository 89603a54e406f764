/// A store several servers share, which says which of them leads: a lease with a term on the store's own
/// clock. Once a server leads, ``lead(term:)`` makes each of its writes check the term, so a deposed leader's
/// writes fail with ``StoreError/Code/fenced`` and change nothing.
public protocol LeaseStore: AllotStore {
    /// Takes the lease if it has expired (or was never taken); the new term, or `nil` while another holds it.
    func acquireLease(holder: String, address: String, for duration: Duration) async throws(StoreError) -> Int64?
    /// Extends the lease of this term; `false` when the term is over.
    func renewLease(term: Int64, holder: String, for duration: Duration) async throws(StoreError) -> Bool
    /// Gives the lease up at once, so another server need not wait for it to expire.
    func releaseLease(term: Int64, holder: String) async throws(StoreError)
    /// The lease as it stands.
    func currentLease() async throws(StoreError) -> LeaderLease
    /// From now on every write checks that `term` is still the leader's (`nil`: no check).
    func lead(term: Int64?)
}

/// Who leads: the term, the holder's id and address, and whether the lease is still held.
public struct LeaderLease: Sendable, Equatable {
    public var term: Int64
    /// Who holds it (a server's own id), empty before anyone has.
    public var holder: String
    /// Where the holder is reached (its advertised URL).
    public var address: String
    /// Whether it is still held now, on the store's clock.
    public var live: Bool

    public init(term: Int64, holder: String, address: String, live: Bool) {
        self.term = term
        self.holder = holder
        self.address = address
        self.live = live
    }
}
