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
        Migration(
            name: "v3: a batch committed in one call",
            statements: [
                """
                CREATE PROCEDURE allot_commit(
                    fence BIGINT,
                    job_ids TEXT[], job_sequences BIGINT[], job_tenants TEXT[], job_states TEXT[], job_records TEXT[],
                    update_ids TEXT[], update_tenants TEXT[], update_states TEXT[], update_records TEXT[],
                    attempt_jobs TEXT[], attempt_numbers BIGINT[], attempt_from FLOAT8[], attempt_ended FLOAT8[], attempt_records TEXT[],
                    node_names TEXT[], node_records TEXT[],
                    billing_nodes TEXT[], billing_starts FLOAT8[], billing_ends FLOAT8[], billing_records TEXT[],
                    audit_tenants TEXT[], audit_records TEXT[]
                ) LANGUAGE plpgsql AS $$
                DECLARE
                    current_term BIGINT;
                    written TEXT[];
                    missing TEXT;
                BEGIN
                    IF fence IS NOT NULL THEN
                        SELECT term INTO current_term FROM leader WHERE id = 1 FOR SHARE;
                        IF current_term IS DISTINCT FROM fence THEN
                            RAISE EXCEPTION 'this server''s term % as leader is over (the term is now %): it no longer writes',
                                fence, COALESCE(current_term, -1) USING ERRCODE = 'AL001';
                        END IF;
                    END IF;
                    IF cardinality(job_ids) > 0 THEN
                        WITH inserted AS (
                            INSERT INTO job (id, sequence, tenant, state, record)
                            SELECT * FROM unnest(job_ids, job_sequences, job_tenants, job_states, job_records)
                            ON CONFLICT (id) DO NOTHING
                            RETURNING id)
                        SELECT array_agg(id) INTO written FROM inserted;
                        IF COALESCE(cardinality(written), 0) < cardinality(job_ids) THEN
                            -- The first of the batch not inserted: known before, or its second appearance in the batch.
                            SELECT j.id INTO missing FROM unnest(job_ids) WITH ORDINALITY AS j(id, n)
                            WHERE NOT (j.id = ANY(COALESCE(written, '{}')))
                               OR j.n > (SELECT min(k.n) FROM unnest(job_ids) WITH ORDINALITY AS k(id, n) WHERE k.id = j.id)
                            ORDER BY j.n LIMIT 1;
                            RAISE EXCEPTION 'job % already exists', missing USING ERRCODE = 'AL002';
                        END IF;
                    END IF;
                    IF cardinality(update_ids) > 0 THEN
                        WITH updated AS (
                            UPDATE job SET tenant = u.tenant, state = u.state, record = u.record
                            FROM unnest(update_ids, update_tenants, update_states, update_records) AS u(id, tenant, state, record)
                            WHERE job.id = u.id
                            RETURNING job.id)
                        SELECT array_agg(id) INTO written FROM updated;
                        IF COALESCE(cardinality(written), 0) < cardinality(update_ids) THEN
                            SELECT u.id INTO missing FROM unnest(update_ids) WITH ORDINALITY AS u(id, n)
                            WHERE NOT (u.id = ANY(COALESCE(written, '{}'))) ORDER BY u.n LIMIT 1;
                            RAISE EXCEPTION 'unknown job %', missing USING ERRCODE = 'AL003';
                        END IF;
                    END IF;
                    IF cardinality(attempt_jobs) > 0 THEN
                        -- NaN stands for an attempt that has not ended (arrays carry no nulls here).
                        INSERT INTO job_attempt (job, number, charged_from, ended_at, record)
                        SELECT job, number, charged_from, NULLIF(ended_at, 'NaN'), record
                        FROM unnest(attempt_jobs, attempt_numbers, attempt_from, attempt_ended, attempt_records)
                            AS a(job, number, charged_from, ended_at, record)
                        ON CONFLICT (job, number) DO UPDATE
                        SET charged_from = excluded.charged_from, ended_at = excluded.ended_at, record = excluded.record;
                    END IF;
                    IF cardinality(node_names) > 0 THEN
                        INSERT INTO node (name, record) SELECT * FROM unnest(node_names, node_records)
                        ON CONFLICT (name) DO UPDATE SET record = excluded.record;
                    END IF;
                    IF cardinality(billing_nodes) > 0 THEN
                        INSERT INTO node_billing (node, starts_at, ends_at, record)
                        SELECT node, starts_at, NULLIF(ends_at, 'NaN'), record
                        FROM unnest(billing_nodes, billing_starts, billing_ends, billing_records) AS b(node, starts_at, ends_at, record)
                        ON CONFLICT (node, starts_at) DO UPDATE SET ends_at = excluded.ends_at, record = excluded.record;
                    END IF;
                    IF cardinality(audit_records) > 0 THEN
                        -- Appenders take turns (see appendAudit); the insert, a statement of its own, reads the largest
                        -- number after the lock is held.
                        LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE;
                        INSERT INTO audit (sequence, tenant, record)
                        SELECT (SELECT COALESCE(MAX(sequence), 0) FROM audit) + e.n, e.tenant, e.record
                        FROM unnest(audit_tenants, audit_records) WITH ORDINALITY AS e(tenant, record, n);
                    END IF;
                    -- Durable before the call answers (an implicit transaction would commit only after it has).
                    COMMIT;
                END
                $$
                """
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
