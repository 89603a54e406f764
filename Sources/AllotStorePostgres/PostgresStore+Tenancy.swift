import AllotAPI
import AllotStore
import Foundation
import Logging
import PostgresNIO

/// Tenants, tokens and the append-only audit log.
extension PostgresStore {
    public func saveTenant(_ tenant: Tenant) async throws(StoreError) {
        let record = try Self.encode(tenant)
        try await write(
            "save a tenant",
            "INSERT INTO tenant (name, record) VALUES (\(tenant.name), \(record)) ON CONFLICT (name) DO UPDATE SET record = excluded.record"
        )
    }

    public func tenants() async throws(StoreError) -> [Tenant] {
        try await records(Tenant.self, #"SELECT record FROM tenant ORDER BY name COLLATE "C""#)
    }

    public func saveToken(_ token: APIToken) async throws(StoreError) {
        let record = try Self.encode(token)
        try await write(
            "save a token",
            """
            INSERT INTO token (id, secret_hash, created_at, record) VALUES (\(token.id), \(token.secretHash), \(token.createdAt), \(record))
            ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, record = excluded.record
            """
        )
    }

    public func tokens() async throws(StoreError) -> [APIToken] {
        try await records(APIToken.self, #"SELECT record FROM token ORDER BY created_at, id COLLATE "C""#)
    }

    public func appendAudit(_ entries: [AuditEntry]) async throws(StoreError) -> [AuditEntry] {
        let logger = logger
        return try await transaction("append to the audit log") { connection in try await Self.appendAudit(entries, connection, logger) }
    }

    /// Numbers the entries one past the largest stored and inserts them, in one statement after the table's lock:
    /// appenders take turns (readers go on), so numbers are dense and a reader paging by sequence never skips an
    /// entry that commits later with a smaller number. The number lives in its column; the stored record's own
    /// is replaced by it when read.
    static func appendAudit(_ entries: [AuditEntry], _ connection: PostgresConnection, _ logger: Logger) async throws -> [AuditEntry] {
        guard !entries.isEmpty else { return [] }
        try await connection.query("LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE", logger: logger)
        let records = try entries.map { entry throws(StoreError) in try encode(entry) }
        var first = Int64.max
        for try await value in try await connection.query(
            """
            INSERT INTO audit (sequence, tenant, record)
            SELECT (SELECT COALESCE(MAX(sequence), 0) FROM audit) + e.n, e.tenant, e.record
            FROM unnest(\(entries.map(\.tenant))::text[], \(records)::text[]) WITH ORDINALITY AS e(tenant, record, n)
            RETURNING sequence
            """,
            logger: logger
        ).decode(Int64.self) {
            first = min(first, value)
        }
        return entries.enumerated().map { index, entry in
            var numbered = entry
            numbered.sequence = first + Int64(index)
            return numbered
        }
    }

    public func audit(_ query: AuditQuery) async throws(StoreError) -> [AuditEntry] {
        let after = query.afterSequence ?? 0
        let limit = query.limit.map { Int64(max(0, $0)) }
        let sql: PostgresQuery
        if let tenants = query.tenants {
            sql =
                "SELECT sequence, record FROM audit WHERE sequence > \(after) AND tenant = ANY(\(tenants.sorted())::text[]) ORDER BY sequence LIMIT \(limit)"
        } else {
            sql = "SELECT sequence, record FROM audit WHERE sequence > \(after) ORDER BY sequence LIMIT \(limit)"
        }
        let rows = try await read("read the audit log") { client in
            var rows: [(Int64, String)] = []
            for try await row in try await client.query(sql).decode((Int64, String).self) { rows.append(row) }
            return rows
        }
        return try rows.map { sequence, text throws(StoreError) in
            var entry = try Self.decode(AuditEntry.self, text)
            entry.sequence = sequence
            return entry
        }
    }
}
