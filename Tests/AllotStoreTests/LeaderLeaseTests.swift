import AllotAPI
import AllotStore
import AllotStorePostgres
import AllotTestSupport
import Foundation
import Testing

/// Several servers on one PostgreSQL database: one lease, terms that only rise, and writes fenced by term.
@Suite struct LeaderLeaseTests {
    func twoServers() async throws -> (PostgresStore, PostgresStore) {
        let url = try await PostgresTestDatabase.make()
        let timeout = PostgresTestDatabase.openTimeout
        return (try await PostgresStore.open(url, timeout: timeout), try await PostgresStore.open(url, timeout: timeout))
    }

    /// Ends the lease now, as if its time had run out (without waiting, which a loaded machine makes uncertain).
    func expire(_ store: PostgresStore) throws {
        try PostgresCluster.shared().psql("UPDATE leader SET expires_at = clock_timestamp() - interval '1 second'", database: store.url.database)
    }

    @Test func exactlyOneOfManyTakesAFreeLease() async throws {
        let (a, b) = try await twoServers()
        #expect(try await a.currentLease() == LeaderLease(term: 0, holder: "", address: "", live: false))
        let terms = try await withThrowingTaskGroup(of: Int64?.self) { group in
            for index in 0..<8 {
                let store = index % 2 == 0 ? a : b
                group.addTask { try await store.acquireLease(holder: "s\(index)", address: "https://s\(index):7070", for: .seconds(30)) }
            }
            return try await group.reduce(into: [Int64]()) { terms, term in if let term { terms.append(term) } }
        }
        #expect(terms == [1])
        let lease = try await b.currentLease()
        #expect(lease.term == 1 && lease.live && lease.address == "https://\(lease.holder):7070")
        #expect(try await a.renewLease(term: 1, holder: lease.holder, for: .seconds(30)))
        #expect(try await !a.renewLease(term: 1, holder: "someone-else", for: .seconds(30)))
    }

    @Test func aDeposedLeadersWritesFailAndChangeNothing() async throws {
        let (old, new) = try await twoServers()
        let first = try #require(try await old.acquireLease(holder: "old", address: "https://old", for: .seconds(60)))
        old.lead(term: first)
        try await old.insertJobs([job("a", sequence: 1)])
        #expect(try await new.acquireLease(holder: "new", address: "https://new", for: .seconds(30)) == nil)
        // Not renewed: the lease runs out and the other server takes it, with a higher term.
        try expire(old)
        let second = try #require(try await new.acquireLease(holder: "new", address: "https://new", for: .seconds(30)))
        #expect(second == first + 1)
        new.lead(term: second)

        await #expect {
            try await old.insertJobs([job("b", sequence: 2)])
        } throws: { error in
            (error as? StoreError)?.code == .fenced
        }
        await #expect(throws: StoreError.self) {
            _ = try await old.appendAudit([AuditEntry(at: 1, actor: "x", role: "admin", tenant: "t", action: "a", status: 200)])
        }
        await #expect(throws: StoreError.self) { try await old.setSetting("k", "old") }
        #expect(try await !old.renewLease(term: first, holder: "old", for: .seconds(30)))

        try await new.insertJobs([job("c", sequence: 2)])
        #expect(try await new.jobs(JobQuery()).map(\.id) == ["a", "c"])
        #expect(try await new.setting("k") == nil)
        #expect(try await new.audit(AuditQuery()).isEmpty)
    }

    @Test func aReleasedLeaseIsTakenAtOnce() async throws {
        let (a, b) = try await twoServers()
        let term = try #require(try await a.acquireLease(holder: "a", address: "https://a", for: .seconds(60)))
        try await a.releaseLease(term: term, holder: "a")
        #expect(try await b.acquireLease(holder: "b", address: "https://b", for: .seconds(60)) == term + 1)
        #expect(try await a.currentLease().holder == "b")
    }
}
