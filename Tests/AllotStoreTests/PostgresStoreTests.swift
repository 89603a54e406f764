import AllotAPI
import AllotStore
import AllotStorePostgres
import AllotTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What only the PostgreSQL store has: URLs, migrations, the database's own guard on the audit log, and clear,
/// bounded failures when the database is wrong or away. (The conformance suite runs against it too.)
@Suite struct PostgresStoreTests {
    @Test func urlsAreParsedAndTheirPasswordsNeverShown() throws {
        let url = try PostgresURL(parsing: "postgres://allot:s3cret@db.example:6432/allot?sslmode=require")
        #expect(url == PostgresURL(host: "db.example", port: 6432, user: "allot", password: "s3cret", database: "allot", tls: .require))
        #expect("\(url)" == "postgres://allot:***@db.example:6432/allot?sslmode=require")
        #expect(try PostgresURL(parsing: "postgresql://u@[::1]/d") == PostgresURL(host: "::1", user: "u", database: "d"))
        #expect(try PostgresURL(parsing: url.text) == url)
        for (text, says) in [
            ("mysql://u@h/d", "postgres://USER"),
            ("postgres://h:5432/d", "names no user"),
            ("postgres://u:pw@h:5432", "names no database"),
            ("postgres://u:pw@h/d?sslmode=maybe", "sslmode must be"),
            ("postgres://u:pw@h/d?pool=3", "unknown parameter pool"),
        ] {
            #expect {
                _ = try PostgresURL(parsing: text)
            } throws: { error in
                "\(error)".contains(says) && !"\(error)".contains(":pw@")
            }
        }
    }

    @Test func migrationsAreRecordedAndAppliedOnce() async throws {
        let cluster = try PostgresCluster.shared()
        let text = try cluster.makeDatabase()
        let url = try PostgresURL(parsing: text)
        let timeout = PostgresTestDatabase.openTimeout
        let first = try await PostgresStore.open(url, timeout: timeout)
        try await first.insertJobs([job("a", sequence: 1)])
        // Two more servers starting together on the same database: each finds the schema done.
        async let second = PostgresStore.open(url, timeout: timeout)
        async let third = PostgresStore.open(url, timeout: timeout)
        let (b, c) = try await (second, third)
        #expect(try await b.job("a") != nil)
        #expect(try await c.lastJobSequence() == 1)
        let names = try cluster.psql("SELECT name FROM allot_migration ORDER BY name", database: url.database)
        #expect(names.split(separator: "\n").map { $0.prefix(3) } == ["v1:", "v2:", "v3:"])
        await first.close()
    }

    /// The database itself refuses to change, delete or truncate audit entries, whoever connects.
    @Test func theAuditLogIsAppendOnlyInTheDatabase() async throws {
        let cluster = try PostgresCluster.shared()
        let url = try await PostgresTestDatabase.make()
        let store = try await PostgresStore.open(url, timeout: PostgresTestDatabase.openTimeout)
        _ = try await store.appendAudit([AuditEntry(at: 1, actor: "tok-1", role: "admin", tenant: "a", action: "DELETE /v1/jobs/{id}", status: 200)])
        for statement in ["UPDATE audit SET tenant = 'x'", "DELETE FROM audit", "TRUNCATE audit"] {
            #expect {
                try cluster.psql(statement, database: url.database)
            } throws: { error in
                "\(error)".contains("the audit log is append-only")
            }
        }
        #expect(try await store.audit(AuditQuery()).count == 1)
    }

    @Test func aWrongPasswordOrAMissingDatabaseSaysSo() async throws {
        let cluster = try PostgresCluster.shared()
        var wrong = try PostgresURL(parsing: cluster.url())
        wrong.password = "not-the-password"
        await #expect {
            _ = try await PostgresStore.open(wrong, timeout: PostgresTestDatabase.openTimeout)
        } throws: { error in
            "\(error)".contains("password authentication failed") && !"\(error)".contains("not-the-password")
        }
        let missing = try PostgresURL(parsing: cluster.url(database: "no_such_database"))
        await #expect {
            _ = try await PostgresStore.open(missing, timeout: PostgresTestDatabase.openTimeout)
        } throws: { error in
            "\(error)".contains("no_such_database") && "\(error)".contains("does not exist")
        }
    }

    @Test func nothingListeningIsAnErrorAtOnce() async throws {
        let url = PostgresURL(host: "127.0.0.1", port: try freePort(), user: "allot", database: "allot", tls: .disable)
        let started = ContinuousClock.now
        await #expect {
            _ = try await PostgresStore.open(url, timeout: .seconds(120))
        } throws: { error in
            "\(error)".contains("127.0.0.1:\(url.port)") && (error as? StoreError)?.code == .database
        }
        // Refused at once, not at the deadline (bounded loosely: a loaded machine stalls every test for seconds).
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    /// A peer that accepts the connection and never answers (a stopped database): an error at the deadline.
    @Test func aServerThatNeverAnswersFailsAtTheDeadline() async throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && listen(descriptor, 8) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        try #require(listening)
        let url = PostgresURL(host: "127.0.0.1", port: Int(UInt16(bigEndian: address.sin_port)), user: "allot", database: "allot", tls: .disable)
        let started = ContinuousClock.now
        await #expect {
            _ = try await PostgresStore.open(url, timeout: .seconds(2))
        } throws: { error in
            "\(error)".contains("did not answer within 2")
        }
        // Without the deadline the call would wait forever on the silent peer (bounded loosely: a loaded machine
        // stalls every test for seconds).
        #expect(ContinuousClock.now - started < .seconds(60))
    }
}
