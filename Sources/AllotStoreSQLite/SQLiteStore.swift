import AllotAPI
import AllotStore
import Foundation
import GRDB

/// The embedded store: SQLite through GRDB, in WAL mode with `synchronous = FULL`, so every committed
/// transaction is on disk before the call returns. Rows keep their searchable fields in columns and the
/// whole record as JSON text; the SQL is plain enough to carry over to PostgreSQL.
public final class SQLiteStore: AllotStore {
    private let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    public init(path: String) throws(StoreError) {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA busy_timeout = 5000")
        }
        PrivateFiles.prepare(database: path)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            throw StoreError(.database, "cannot open the database at \(path): \(error)")
        }
    }

    /// Named, append-only migrations: never edit one that has shipped, add the next.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: jobs, nodes, attempts, logs, settings") { db in
            try db.execute(
                sql: """
                    CREATE TABLE job (
                        id TEXT PRIMARY KEY NOT NULL,
                        sequence INTEGER NOT NULL UNIQUE,
                        tenant TEXT NOT NULL,
                        state TEXT NOT NULL,
                        record TEXT NOT NULL
                    );
                    CREATE INDEX job_by_state ON job (state, sequence);
                    CREATE INDEX job_by_tenant ON job (tenant, sequence);
                    CREATE TABLE node (
                        name TEXT PRIMARY KEY NOT NULL,
                        record TEXT NOT NULL
                    );
                    CREATE TABLE job_attempt (
                        job TEXT NOT NULL,
                        number INTEGER NOT NULL,
                        record TEXT NOT NULL,
                        PRIMARY KEY (job, number)
                    );
                    CREATE TABLE job_log (
                        job TEXT NOT NULL,
                        position INTEGER NOT NULL,
                        stream TEXT NOT NULL,
                        text TEXT NOT NULL,
                        PRIMARY KEY (job, position)
                    );
                    CREATE TABLE setting (
                        key TEXT PRIMARY KEY NOT NULL,
                        value TEXT NOT NULL
                    );
                    """
            )
        }
        migrator.registerMigration("v2: tenants, tokens, audit") { db in
            try db.execute(
                sql: """
                    CREATE TABLE tenant (
                        name TEXT PRIMARY KEY NOT NULL,
                        record TEXT NOT NULL
                    );
                    CREATE TABLE token (
                        id TEXT PRIMARY KEY NOT NULL,
                        secret_hash TEXT NOT NULL UNIQUE,
                        created_at REAL NOT NULL,
                        record TEXT NOT NULL
                    );
                    CREATE TABLE audit (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                        tenant TEXT NOT NULL,
                        record TEXT NOT NULL
                    );
                    CREATE INDEX audit_by_tenant ON audit (tenant, sequence);
                    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    """
            )
        }
        migrator.registerMigration("v3: attempt times, node billing, budgets, feedback") { db in
            try db.execute(
                sql: """
                    ALTER TABLE job_attempt ADD COLUMN charged_from REAL;
                    ALTER TABLE job_attempt ADD COLUMN ended_at REAL;
                    UPDATE job_attempt SET
                        charged_from = COALESCE(json_extract(record, '$.allocatedAt'), json_extract(record, '$.startedAt')),
                        ended_at = json_extract(record, '$.endedAt');
                    CREATE INDEX job_attempt_by_time ON job_attempt (charged_from);
                    CREATE TABLE node_billing (
                        node TEXT NOT NULL,
                        start REAL NOT NULL,
                        end REAL,
                        record TEXT NOT NULL,
                        PRIMARY KEY (node, start)
                    );
                    CREATE INDEX node_billing_by_start ON node_billing (start);
                    CREATE TABLE budget (
                        name TEXT PRIMARY KEY NOT NULL,
                        record TEXT NOT NULL
                    );
                    CREATE TABLE feedback (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                        tenant TEXT NOT NULL,
                        record TEXT NOT NULL
                    );
                    """
            )
        }
        migrator.registerMigration("v4: billed costs") { db in
            try db.execute(
                sql: """
                    CREATE TABLE billed_cost (
                        key TEXT PRIMARY KEY NOT NULL,
                        day TEXT NOT NULL,
                        record TEXT NOT NULL
                    );
                    CREATE INDEX billed_cost_by_day ON billed_cost (day);
                    """
            )
        }
        return migrator
    }

    // MARK: - Jobs

    public func commit(_ batch: WriteBatch) async throws(StoreError) {
        let inserts = try batch.insertJobs.map { job throws(StoreError) in (job, try Self.encode(job)) }
        let updates = try batch.updateJobs.map { job throws(StoreError) in (job, try Self.encode(job)) }
        let attempts = try batch.attempts.map { attempt throws(StoreError) in (attempt, try Self.encode(attempt)) }
        let nodes = try batch.nodes.map { node throws(StoreError) in (node, try Self.encode(node)) }
        let billing = try batch.billing.map { period throws(StoreError) in (period, try Self.encode(period)) }
        try await write { db in
            try Self.insert(inserts, db)
            try Self.update(updates, db)
            for (attempt, record) in attempts { try Self.upsertAttempt(attempt, record, db) }
            for (node, record) in nodes { try Self.upsertNode(node, record, db) }
            for (period, record) in billing {
                try db.execute(
                    sql: """
                        INSERT INTO node_billing (node, start, end, record) VALUES (?, ?, ?, ?)
                        ON CONFLICT (node, start) DO UPDATE SET end = excluded.end, record = excluded.record
                        """,
                    arguments: [period.node, period.start, period.end, record]
                )
            }
            if !batch.audit.isEmpty { _ = try Self.appendAudit(batch.audit, db) }
        }
    }

    private static func insert(_ rows: [(Job, String)], _ db: Database) throws {
        let statement = try db.cachedStatement(sql: "INSERT INTO job (id, sequence, tenant, state, record) VALUES (?, ?, ?, ?, ?)")
        for (job, record) in rows {
            do {
                try statement.execute(arguments: [job.id, job.sequence, job.tenant, job.state.rawValue, record])
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw StoreError(.duplicateJob, "job \(job.id) already exists")
            }
        }
    }

    private static func update(_ rows: [(Job, String)], _ db: Database) throws {
        let statement = try db.cachedStatement(sql: "UPDATE job SET tenant = ?, state = ?, record = ? WHERE id = ?")
        for (job, record) in rows {
            try statement.execute(arguments: [job.tenant, job.state.rawValue, record, job.id])
            if db.changesCount == 0 { throw StoreError(.unknownJob, "unknown job \(job.id)") }
        }
    }

    private static func upsertAttempt(_ attempt: JobAttempt, _ record: String, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO job_attempt (job, number, record, charged_from, ended_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (job, number) DO UPDATE SET record = excluded.record, charged_from = excluded.charged_from, ended_at = excluded.ended_at
                """,
            arguments: [attempt.job, attempt.number, record, attempt.chargedFrom, attempt.endedAt]
        )
    }

    private static func upsertNode(_ node: NodeStatus, _ record: String, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO node (name, record) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET record = excluded.record",
            arguments: [node.name, record]
        )
    }

    public func insertJobs(_ jobs: [Job]) async throws(StoreError) { try await commit(WriteBatch(insertJobs: jobs)) }

    public func updateJobs(_ jobs: [Job]) async throws(StoreError) { try await commit(WriteBatch(updateJobs: jobs)) }

    public func job(_ id: JobID) async throws(StoreError) -> Job? {
        let record = try await read { db in try String.fetchOne(db, sql: "SELECT record FROM job WHERE id = ?", arguments: [id]) }
        return try record.map { text throws(StoreError) in try Self.decode(Job.self, text) }
    }

    public func jobCounts(tenants: Set<String>?) async throws(StoreError) -> [JobState: Int] {
        let rows = try await read { db in
            try Row.fetchAll(db, sql: "SELECT state, tenant, COUNT(*) AS n FROM job GROUP BY state, tenant").map { row in
                (row["state"] as String, row["tenant"] as String, row["n"] as Int)
            }
        }
        var counts: [JobState: Int] = [:]
        for (state, tenant, count) in rows where tenants?.contains(tenant) ?? true {
            if let state = JobState(rawValue: state) { counts[state, default: 0] += count }
        }
        return counts
    }

    public func lastJobSequence() async throws(StoreError) -> Int64 {
        try await read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(sequence), 0) FROM job") ?? 0 }
    }

    // MARK: - Nodes

    public func saveNode(_ node: NodeStatus) async throws(StoreError) { try await commit(WriteBatch(nodes: [node])) }

    public func removeNode(_ name: String) async throws(StoreError) {
        try await write { db in try db.execute(sql: "DELETE FROM node WHERE name = ?", arguments: [name]) }
    }

    public func node(_ name: String) async throws(StoreError) -> NodeStatus? {
        let record = try await read { db in try String.fetchOne(db, sql: "SELECT record FROM node WHERE name = ?", arguments: [name]) }
        return try record.map { text throws(StoreError) in try Self.decode(NodeStatus.self, text) }
    }

    public func nodes() async throws(StoreError) -> [NodeStatus] {
        let records = try await read { db in try String.fetchAll(db, sql: "SELECT record FROM node ORDER BY name") }
        return try records.map { text throws(StoreError) in try Self.decode(NodeStatus.self, text) }
    }

    // MARK: - Attempts and logs

    public func recordAttempt(_ attempt: JobAttempt) async throws(StoreError) { try await commit(WriteBatch(attempts: [attempt])) }

    public func attempts(job: JobID) async throws(StoreError) -> [JobAttempt] {
        let records = try await read { db in
            try String.fetchAll(db, sql: "SELECT record FROM job_attempt WHERE job = ? ORDER BY number", arguments: [job])
        }
        return try records.map { text throws(StoreError) in try Self.decode(JobAttempt.self, text) }
    }

    public func appendLog(job: JobID, stream: LogChunk.Stream, text: String) async throws(StoreError) -> LogChunk {
        try await write { db in
            let next = (try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(position), 0) + 1 FROM job_log WHERE job = ?", arguments: [job])) ?? 1
            try db.execute(
                sql: "INSERT INTO job_log (job, position, stream, text) VALUES (?, ?, ?, ?)",
                arguments: [job, next, stream.rawValue, text]
            )
            return LogChunk(job: job, offset: next, stream: stream, text: text)
        }
    }

    public func logs(job: JobID, after offset: Int64, limit: Int) async throws(StoreError) -> [LogChunk] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT position, stream, text FROM job_log WHERE job = ? AND position > ? ORDER BY position LIMIT ?",
                arguments: [job, offset, max(0, limit)]
            ).map { row in
                LogChunk(job: job, offset: row["position"], stream: LogChunk.Stream(rawValue: row["stream"]) ?? .stdout, text: row["text"])
            }
        }
    }

    // MARK: - Settings

    public func setting(_ key: String) async throws(StoreError) -> String? {
        try await read { db in try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [key]) }
    }

    public func setSetting(_ key: String, _ value: String) async throws(StoreError) {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                arguments: [key, value]
            )
        }
    }

    // MARK: - Helpers

    // MARK: - Tenants, tokens, audit

    public func saveTenant(_ tenant: Tenant) async throws(StoreError) {
        let record = try Self.encode(tenant)
        try await write { db in
            try db.execute(
                sql: "INSERT INTO tenant (name, record) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET record = excluded.record",
                arguments: [tenant.name, record]
            )
        }
    }

    public func tenants() async throws(StoreError) -> [Tenant] {
        let records = try await read { db in try String.fetchAll(db, sql: "SELECT record FROM tenant ORDER BY name") }
        return try records.map { text throws(StoreError) in try Self.decode(Tenant.self, text) }
    }

    public func saveToken(_ token: APIToken) async throws(StoreError) {
        let record = try Self.encode(token)
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO token (id, secret_hash, created_at, record) VALUES (?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, record = excluded.record
                    """,
                arguments: [token.id, token.secretHash, token.createdAt, record]
            )
        }
    }

    public func tokens() async throws(StoreError) -> [APIToken] {
        let records = try await read { db in try String.fetchAll(db, sql: "SELECT record FROM token ORDER BY created_at, id") }
        return try records.map { text throws(StoreError) in try Self.decode(APIToken.self, text) }
    }

    public func appendAudit(_ entries: [AuditEntry]) async throws(StoreError) -> [AuditEntry] {
        try await write { db in try Self.appendAudit(entries, db) }
    }

    private static func appendAudit(_ entries: [AuditEntry], _ db: Database) throws -> [AuditEntry] {
        // Writers are serialized and nothing is ever deleted, so the next number is one past the largest.
        var next = (try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(sequence), 0) + 1 FROM audit")) ?? 1
        let statement = try db.cachedStatement(sql: "INSERT INTO audit (sequence, tenant, record) VALUES (?, ?, ?)")
        var stored: [AuditEntry] = []
        for entry in entries {
            var numbered = entry
            numbered.sequence = next
            next += 1
            let record = String(decoding: try JSONEncoder().encode(numbered), as: UTF8.self)
            try statement.execute(arguments: [numbered.sequence, numbered.tenant, record])
            stored.append(numbered)
        }
        return stored
    }

    public func audit(_ query: AuditQuery) async throws(StoreError) -> [AuditEntry] {
        var conditions = ["sequence > ?"]
        var arguments: [any DatabaseValueConvertible] = [query.afterSequence ?? 0]
        if let tenants = query.tenants {
            conditions.append("tenant IN (\(tenants.map { _ in "?" }.joined(separator: ",")))")
            arguments.append(contentsOf: tenants.sorted())
        }
        let sql = "SELECT record FROM audit WHERE \(conditions.joined(separator: " AND ")) ORDER BY sequence LIMIT ?"
        arguments.append(query.limit ?? -1)
        let bound = StatementArguments(arguments.map(\.databaseValue))
        let records = try await read { db in try String.fetchAll(db, sql: sql, arguments: bound) }
        return try records.map { text throws(StoreError) in try Self.decode(AuditEntry.self, text) }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.write(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.database, "database write failed: \(error)")
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw StoreError(.database, "database read failed: \(error)")
        }
    }

    static func encode<T: Encodable>(_ value: T) throws(StoreError) -> String { try StoredRecord.encode(value) }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws(StoreError) -> T { try StoredRecord.decode(type, text) }
}

/// Job ids are stored as their text.
extension JobID: DatabaseValueConvertible {}
