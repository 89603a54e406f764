import AllotAPI
import AllotStore
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Allot's state in PostgreSQL (postgres-nio's connection pool). Rows keep their searchable fields in columns and
/// the whole record as JSON text, as in the SQLite store; each call is one transaction, committed (and so durable,
/// under the server's `synchronous_commit`) before it returns. Every call has a deadline: a database that stops
/// answering is an error after ``timeout``, never a hang.
public final class PostgresStore: AllotStore {
    public let url: PostgresURL
    let client: PostgresClient
    let logger: Logger
    /// How long one call may take before it fails.
    public let timeout: Duration
    private let running: Task<Void, Never>
    /// The term every write must still hold, once this server leads (see ``lead(term:)``).
    let fence = Mutex<Int64?>(nil)

    private init(url: PostgresURL, client: PostgresClient, timeout: Duration, logger: Logger) {
        self.url = url
        self.client = client
        self.timeout = timeout
        self.logger = logger
        running = Task { await client.run() }
    }

    deinit { running.cancel() }

    /// Connects, checks the database answers, applies pending migrations and opens the connection pool. A URL
    /// that cannot be reached, a wrong password or a missing database fails here with the server's reason.
    public static func open(
        _ url: PostgresURL,
        timeout: Duration = .seconds(10),
        connections: Int = 8,
        logger: Logger = Logger(label: "allot.store.postgres")
    ) async throws(StoreError) -> PostgresStore {
        let configuration = try url.connectionConfiguration()
        try await Deadline.run(timeout, "PostgreSQL at \(url)") {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
            do {
                let applied = try await PostgresMigrations.migrate(connection, logger: logger)
                for name in applied { logger.notice("applied migration \(name)") }
            } catch {
                try? await connection.close()  // the error that matters is the migration's
                throw error
            }
            try await connection.close()
        }
        var clientConfiguration = url.clientConfiguration
        clientConfiguration.options.maximumConnections = connections
        clientConfiguration.options.connectTimeout = timeout
        return PostgresStore(
            url: url,
            client: PostgresClient(configuration: clientConfiguration, backgroundLogger: logger),
            timeout: timeout,
            logger: logger
        )
    }

    /// Runs administrative statements (one at a time, outside a transaction) on the URL's database.
    public static func administer(_ url: PostgresURL, _ statements: [String], timeout: Duration = .seconds(30)) async throws(StoreError) {
        let configuration = try url.connectionConfiguration()
        let logger = Logger(label: "allot.store.postgres")
        try await Deadline.run(timeout, "PostgreSQL at \(url)") {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
            do {
                for statement in statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
            } catch {
                try? await connection.close()  // the error that matters is the statement's
                throw error
            }
            try await connection.close()
        }
    }

    /// Closes the pool: calls still running fail.
    public func close() async {
        running.cancel()
        await running.value
    }

    // MARK: - Jobs

    /// One call of the `allot_commit` procedure (migration v3): one round trip to the database for the whole
    /// batch, which checks the leader's term, writes everything and commits before it answers. A known job id
    /// (or one twice in the batch) or an unknown one to update fails the whole batch and changes nothing.
    public func commit(_ batch: WriteBatch) async throws(StoreError) {
        let inserts = try batch.insertJobs.map { job throws(StoreError) in (job, try Self.encode(job)) }
        let updates = try Self.lastOfEach(batch.updateJobs, key: \.id.rawValue).map { job throws(StoreError) in (job, try Self.encode(job)) }
        let attempts = try Self.lastOfEach(batch.attempts, key: { "\($0.job.rawValue)\u{0}\($0.number)" }).map { attempt throws(StoreError) in
            (attempt, try Self.encode(attempt))
        }
        let nodes = try Self.lastOfEach(batch.nodes, key: \.name).map { node throws(StoreError) in (node.name, try Self.encode(node)) }
        let billing = try Self.lastOfEach(batch.billing, key: { "\($0.node)\u{0}\($0.start)" }).map { period throws(StoreError) in
            (period, try Self.encode(period))
        }
        let audit = try batch.audit.map { entry throws(StoreError) in (entry.tenant, try Self.encode(entry)) }
        let term = fence.withLock { $0 }
        // NaN stands for "not ended" (arrays carry no nulls here); the procedure turns it back into NULL.
        let call: PostgresQuery = """
            CALL allot_commit(
                \(term)::bigint,
                \(inserts.map(\.0.id.rawValue))::text[], \(inserts.map(\.0.sequence))::bigint[], \(inserts.map(\.0.tenant))::text[],
                \(inserts.map(\.0.state.rawValue))::text[], \(inserts.map(\.1))::text[],
                \(updates.map(\.0.id.rawValue))::text[], \(updates.map(\.0.tenant))::text[], \(updates.map(\.0.state.rawValue))::text[],
                \(updates.map(\.1))::text[],
                \(attempts.map(\.0.job.rawValue))::text[], \(attempts.map { Int64($0.0.number) })::bigint[],
                \(attempts.map(\.0.chargedFrom))::float8[], \(attempts.map { $0.0.endedAt ?? .nan })::float8[], \(attempts.map(\.1))::text[],
                \(nodes.map(\.0))::text[], \(nodes.map(\.1))::text[],
                \(billing.map(\.0.node))::text[], \(billing.map(\.0.start))::float8[], \(billing.map { $0.0.end ?? .nan })::float8[],
                \(billing.map(\.1))::text[],
                \(audit.map(\.0))::text[], \(audit.map(\.1))::text[])
            """
        let client = client
        let logger = logger
        try await Deadline.run(timeout, "PostgreSQL (commit)") {
            for try await _ in try await client.query(call, logger: logger) {}
        }
    }

    public func insertJobs(_ jobs: [Job]) async throws(StoreError) { try await commit(WriteBatch(insertJobs: jobs)) }

    public func updateJobs(_ jobs: [Job]) async throws(StoreError) { try await commit(WriteBatch(updateJobs: jobs)) }

    public func job(_ id: JobID) async throws(StoreError) -> Job? {
        try await records(Job.self, "SELECT record FROM job WHERE id = \(id.rawValue)").first
    }

    public func jobCounts(tenants: Set<String>?) async throws(StoreError) -> [JobState: Int] {
        let rows = try await read("job counts") { client in
            var rows: [(String, String, Int64)] = []
            for try await row in try await client.query("SELECT state, tenant, COUNT(*) FROM job GROUP BY state, tenant").decode(
                (String, String, Int64).self
            ) {
                rows.append(row)
            }
            return rows
        }
        var counts: [JobState: Int] = [:]
        for (state, tenant, count) in rows where tenants?.contains(tenant) ?? true {
            if let state = JobState(rawValue: state) { counts[state, default: 0] += Int(count) }
        }
        return counts
    }

    public func lastJobSequence() async throws(StoreError) -> Int64 {
        try await read("the last job sequence") { client in
            var last: Int64 = 0
            for try await value in try await client.query("SELECT COALESCE(MAX(sequence), 0)::bigint FROM job").decode(Int64.self) {
                last = value
            }
            return last
        }
    }

    // MARK: - Nodes

    public func saveNode(_ node: NodeStatus) async throws(StoreError) { try await commit(WriteBatch(nodes: [node])) }

    public func removeNode(_ name: String) async throws(StoreError) {
        try await write("remove node", "DELETE FROM node WHERE name = \(name)")
    }

    public func node(_ name: String) async throws(StoreError) -> NodeStatus? {
        try await records(NodeStatus.self, "SELECT record FROM node WHERE name = \(name)").first
    }

    public func nodes() async throws(StoreError) -> [NodeStatus] {
        try await records(NodeStatus.self, #"SELECT record FROM node ORDER BY name COLLATE "C""#)
    }

    // MARK: - Attempts and logs

    public func recordAttempt(_ attempt: JobAttempt) async throws(StoreError) { try await commit(WriteBatch(attempts: [attempt])) }

    public func attempts(job: JobID) async throws(StoreError) -> [JobAttempt] {
        try await records(JobAttempt.self, "SELECT record FROM job_attempt WHERE job = \(job.rawValue) ORDER BY number")
    }

    public func appendLog(job: JobID, stream: LogChunk.Stream, text: String) async throws(StoreError) -> LogChunk {
        let logger = logger
        let position = try await transaction("append to a log") { connection in
            // Appenders to one job's log take turns; others go on.
            try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\("log:" + job.rawValue), 0))", logger: logger)
            var next: Int64 = 1
            for try await value in try await connection.query(
                "SELECT COALESCE(MAX(position), 0)::bigint + 1 FROM job_log WHERE job = \(job.rawValue)",
                logger: logger
            ).decode(Int64.self) {
                next = value
            }
            try await connection.query(
                "INSERT INTO job_log (job, position, stream, text) VALUES (\(job.rawValue), \(next), \(stream.rawValue), \(text))",
                logger: logger
            )
            return next
        }
        return LogChunk(job: job, offset: position, stream: stream, text: text)
    }

    public func logs(job: JobID, after offset: Int64, limit: Int) async throws(StoreError) -> [LogChunk] {
        let limit = Int64(max(0, limit))
        let rows = try await read("a job's log") { client in
            var rows: [(Int64, String, String)] = []
            for try await row in try await client.query(
                "SELECT position, stream, text FROM job_log WHERE job = \(job.rawValue) AND position > \(offset) ORDER BY position LIMIT \(limit)"
            ).decode((Int64, String, String).self) {
                rows.append(row)
            }
            return rows
        }
        return rows.map { LogChunk(job: job, offset: $0.0, stream: LogChunk.Stream(rawValue: $0.1) ?? .stdout, text: $0.2) }
    }

    // MARK: - Settings

    public func setting(_ key: String) async throws(StoreError) -> String? {
        try await read("a setting") { client in try await Self.strings(client.query("SELECT value FROM setting WHERE key = \(key)")).first }
    }

    public func setSetting(_ key: String, _ value: String) async throws(StoreError) {
        try await write(
            "save a setting",
            "INSERT INTO setting (key, value) VALUES (\(key), \(value)) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )
    }

    // MARK: - Helpers

    /// Runs one transaction on a pooled connection within the deadline. Once this server leads, the transaction
    /// first checks (and holds, until it ends) the leader's term: a write of a deposed leader fails with
    /// ``StoreError/Code/fenced`` and changes nothing.
    func transaction<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        let client = client
        let logger = logger
        let term = fence.withLock { $0 }
        return try await Deadline.run(timeout, "PostgreSQL (\(what))") {
            try await client.withTransaction(logger: logger) { connection in
                if let term { try await Self.checkTerm(term, connection, logger) }
                return try await body(connection)
            }
        }
    }

    /// Runs one statement in its own transaction within the deadline.
    func write(_ what: String, _ query: PostgresQuery) async throws(StoreError) {
        let logger = logger
        try await transaction(what) { connection in _ = try await connection.query(query, logger: logger) }
    }

    /// Runs reads on the pool within the deadline.
    func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgresClient) async throws -> T) async throws(StoreError) -> T {
        let client = client
        return try await Deadline.run(timeout, "PostgreSQL (\(what))") { try await body(client) }
    }

    /// Decodes the JSON records a query returns.
    func records<T: Decodable>(_ type: T.Type, _ query: PostgresQuery) async throws(StoreError) -> [T] {
        let texts = try await read("read \(T.self)") { client in try await Self.strings(client.query(query)) }
        return try texts.map { text throws(StoreError) in try Self.decode(type, text) }
    }

    static func strings(_ rows: PostgresRowSequence) async throws -> [String] {
        var values: [String] = []
        for try await value in rows.decode(String.self) { values.append(value) }
        return values
    }

    /// The last element for each key, in the order of their first appearance (one row per key in a statement).
    static func lastOfEach<T>(_ elements: [T], key: (T) -> String) -> [T] {
        var index: [String: Int] = [:]
        var result: [T] = []
        for element in elements {
            let k = key(element)
            if let at = index[k] {
                result[at] = element
            } else {
                index[k] = result.count
                result.append(element)
            }
        }
        return result
    }

    static func encode<T: Encodable>(_ value: T) throws(StoreError) -> String { try StoredRecord.encode(value) }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws(StoreError) -> T { try StoredRecord.decode(type, text) }
}
