import AllotStore
import Logging
import PostgresNIO

/// Named, append-only migrations: never edit one that has shipped, add the next. Each runs in its own
/// transaction and is recorded in `allot_migration`; replicas starting together take turns on an advisory lock.
enum PostgresMigrations {
    struct Migration {
        var name: String
        var statements: [String]
    }

    /// The advisory lock key the migrations hold (the bytes of "allotmig").
    static let lockKey: Int64 = 0x616c_6c6f_746d_6967

    static let all: [Migration] = [
        Migration(
            name: "v1: jobs, nodes, attempts, logs, settings, tenants, tokens, audit, billing, budgets, feedback, billed costs",
            statements: [
                """
                CREATE TABLE job (
                    id TEXT PRIMARY KEY, sequence BIGINT NOT NULL UNIQUE, tenant TEXT NOT NULL, state TEXT NOT NULL,
                    record TEXT NOT NULL)
                """,
                "CREATE INDEX job_by_state ON job (state, sequence)",
                "CREATE INDEX job_by_tenant ON job (tenant, sequence)",
                "CREATE TABLE node (name TEXT PRIMARY KEY, record TEXT NOT NULL)",
                """
                CREATE TABLE job_attempt (
                    job TEXT NOT NULL, number BIGINT NOT NULL, charged_from DOUBLE PRECISION, ended_at DOUBLE PRECISION,
                    record TEXT NOT NULL, PRIMARY KEY (job, number))
                """,
                "CREATE INDEX job_attempt_by_time ON job_attempt (charged_from)",
                """
                CREATE TABLE job_log (
                    job TEXT NOT NULL, position BIGINT NOT NULL, stream TEXT NOT NULL, text TEXT NOT NULL,
                    PRIMARY KEY (job, position))
                """,
                "CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
                "CREATE TABLE tenant (name TEXT PRIMARY KEY, record TEXT NOT NULL)",
                """
                CREATE TABLE token (
                    id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL UNIQUE, created_at DOUBLE PRECISION NOT NULL,
                    record TEXT NOT NULL)
                """,
                "CREATE TABLE audit (sequence BIGINT PRIMARY KEY, tenant TEXT NOT NULL, record TEXT NOT NULL)",
                "CREATE INDEX audit_by_tenant ON audit (tenant, sequence)",
                """
                CREATE FUNCTION allot_audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'the audit log is append-only';
                END
                $$
                """,
                """
                CREATE TRIGGER audit_no_update_or_delete BEFORE UPDATE OR DELETE ON audit
                FOR EACH ROW EXECUTE FUNCTION allot_audit_is_append_only()
                """,
                """
                CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
                FOR EACH STATEMENT EXECUTE FUNCTION allot_audit_is_append_only()
                """,
                """
                CREATE TABLE node_billing (
                    node TEXT NOT NULL, starts_at DOUBLE PRECISION NOT NULL, ends_at DOUBLE PRECISION,
                    record TEXT NOT NULL, PRIMARY KEY (node, starts_at))
                """,
                "CREATE INDEX node_billing_by_start ON node_billing (starts_at)",
                "CREATE TABLE budget (name TEXT PRIMARY KEY, record TEXT NOT NULL)",
                "CREATE TABLE feedback (sequence BIGINT PRIMARY KEY, tenant TEXT NOT NULL, record TEXT NOT NULL)",
                "CREATE TABLE billed_cost (key TEXT PRIMARY KEY, day TEXT NOT NULL, record TEXT NOT NULL)",
                "CREATE INDEX billed_cost_by_day ON billed_cost (day)",
            ]
        ),
        Migration(
            name: "v2: the leader's lease",
            statements: [
                """
                CREATE TABLE leader (
                    id INTEGER PRIMARY KEY CHECK (id = 1), term BIGINT NOT NULL, holder TEXT NOT NULL, address TEXT NOT NULL,
                    expires_at TIMESTAMPTZ NOT NULL)
                """,
                "INSERT INTO leader (id, term, holder, address, expires_at) VALUES (1, 0, '', '', '-infinity')",
            ]
        ),
    ]

    /// Applies the migrations not yet recorded, in order, each in one transaction; returns the names applied.
    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await connection.query("SELECT pg_advisory_lock(\(lockKey))", logger: logger)
        do {
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS allot_migration (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                logger: logger
            )
            var applied: Set<String> = []
            for try await name in try await connection.query("SELECT name FROM allot_migration", logger: logger).decode(String.self) {
                applied.insert(name)
            }
            var done: [String] = []
            for migration in all where !applied.contains(migration.name) {
                try await connection.withTransaction(logger: logger) { connection in
                    for statement in migration.statements {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query("INSERT INTO allot_migration (name) VALUES (\(migration.name))", logger: logger)
                }
                done.append(migration.name)
            }
            try await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
            return done
        } catch {
            _ = try? await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)  // the session's end frees it anyway
            throw error
        }
    }
}
