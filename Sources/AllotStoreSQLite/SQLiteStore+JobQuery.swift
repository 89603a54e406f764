import AllotAPI
import AllotStore
import Foundation
import GRDB

extension SQLiteStore {
    /// Jobs matching a query, in sequence order (newest first when asked), from the `(state, sequence)` and
    /// `(tenant, sequence)` indexes.
    public func jobs(_ query: JobQuery) async throws(StoreError) -> [Job] {
        var clauses: [String] = []
        var arguments = StatementArguments()
        if let tenant = query.tenant {
            clauses.append("tenant = ?")
            _ = arguments.append(contentsOf: [tenant])
        }
        if let tenants = query.tenants {
            guard !tenants.isEmpty else { return [] }
            clauses.append("tenant IN (\(tenants.map { _ in "?" }.joined(separator: ", ")))")
            for tenant in tenants.sorted() { _ = arguments.append(contentsOf: [tenant]) }
        }
        if let after = query.afterSequence {
            clauses.append("sequence > ?")
            _ = arguments.append(contentsOf: [after])
        }
        if let before = query.beforeSequence {
            clauses.append("sequence < ?")
            _ = arguments.append(contentsOf: [before])
        }
        let order = query.newestFirst ? " ORDER BY sequence DESC" : " ORDER BY sequence"
        let limit = query.limit.map { " LIMIT \(max(0, $0))" } ?? ""
        var sql: String
        var finalArguments = StatementArguments()
        if let states = query.states?.map(\.rawValue).sorted(), states.count > 1, !limit.isEmpty {
            // A page over several states: each state's first rows from its (state, sequence) index, merged; a
            // single `state IN (...)` would sort every matching row before the limit.
            let filter = clauses.isEmpty ? "" : " AND " + clauses.joined(separator: " AND ")
            let parts = states.map { _ in "SELECT * FROM (SELECT sequence, record FROM job WHERE state = ?\(filter)\(order)\(limit))" }
            sql = "SELECT record FROM (" + parts.joined(separator: " UNION ALL ") + ")" + order + limit
            for state in states {
                _ = finalArguments.append(contentsOf: [state])
                _ = finalArguments.append(contentsOf: arguments)
            }
        } else {
            if let states = query.states {
                guard !states.isEmpty else { return [] }
                clauses.insert("state IN (\(states.map { _ in "?" }.joined(separator: ", ")))", at: 0)
                for state in states.map(\.rawValue).sorted() { _ = finalArguments.append(contentsOf: [state]) }
            }
            _ = finalArguments.append(contentsOf: arguments)
            sql = "SELECT record FROM job"
            if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
            sql += order + limit
        }
        let finalSQL = sql
        let bound = finalArguments
        let records = try await read { db in try String.fetchAll(db, sql: finalSQL, arguments: bound) }
        return try records.map { text throws(StoreError) in try Self.decode(Job.self, text) }
    }
}
