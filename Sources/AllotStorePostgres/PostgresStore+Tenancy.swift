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

    /// Numbers the entries one past the largest stored and inserts them. Appenders take turns on the table's
    /// lock (readers go on), so numbers are dense and a reader paging by sequence never skips an entry that
    /// commits later with a smaller number.
    static func appendAudit(_ entries: [AuditEntry], _ connection: PostgresConnection, _ logger: Logger) async throws -> [AuditEntry] {
        guard !entries.isEmpty else { return [] }
        try await connection.query("LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE", logger: logger)
        var next: Int64 = 1
        for try await value in try await connection.query("SELECT COALESCE(MAX(sequence), 0)::bigint + 1 FROM audit", logger: logger).decode(
            Int64.self
        ) {
            next = value
        }
        var stored: [AuditEntry] = []
        var records: [String] = []
        for entry in entries {
            var numbered = entry
            numbered.sequence = next
            next += 1
            records.append(try encode(numbered))
            stored.append(numbered)
        }
        try await connection.query(
            """
            INSERT INTO audit (sequence, tenant, record)
            SELECT * FROM unnest(\(stored.map(\.sequence))::bigint[], \(stored.map(\.tenant))::text[], \(records)::text[])
            """,
            logger: logger
        )
        return stored
    }

    public func audit(_ query: AuditQuery) async throws(StoreError) -> [AuditEntry] {
        let after = query.afterSequence ?? 0
        let limit = query.limit.map { Int64(max(0, $0)) }
        let sql: PostgresQuery
        if let tenants = query.tenants {
            sql = "SELECT record FROM audit WHERE sequence > \(after) AND tenant = ANY(\(tenants.sorted())::text[]) ORDER BY sequence LIMIT \(limit)"
        } else {
            sql = "SELECT record FROM audit WHERE sequence > \(after) ORDER BY sequence LIMIT \(limit)"
        }
        return try await records(AuditEntry.self, sql)
    }
}
