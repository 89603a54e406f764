import AllotAPI
import AllotStore
import PostgresNIO

extension PostgresStore {
    /// Jobs matching a query, in sequence order (newest first when asked), from the `(state, sequence)` and
    /// `(tenant, sequence)` indexes.
    public func jobs(_ query: JobQuery) async throws(StoreError) -> [Job] {
        if let tenants = query.tenants, tenants.isEmpty { return [] }
        if let states = query.states, states.isEmpty { return [] }
        var binds = PostgresBindings()
        /// Adds a value and returns its placeholder.
        func bind(_ value: some PostgresDynamicTypeEncodable) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        var clauses: [String] = []
        if let tenant = query.tenant { clauses.append("tenant = \(bind(tenant))") }
        if let tenants = query.tenants { clauses.append("tenant = ANY(\(bind(tenants.sorted()))::text[])") }
        if let after = query.afterSequence { clauses.append("sequence > \(bind(after))") }
        if let before = query.beforeSequence { clauses.append("sequence < \(bind(before))") }
        let order = query.newestFirst ? " ORDER BY sequence DESC" : " ORDER BY sequence"
        let limit = query.limit.map { " LIMIT \(max(0, $0))" } ?? ""
        var sql: String
        if let states = query.states?.map(\.rawValue).sorted(), states.count > 1, !limit.isEmpty {
            // A page over several states: each state's first rows from its (state, sequence) index, merged; a
            // single `state = ANY(...)` would sort every matching row before the limit.
            let filter = clauses.isEmpty ? "" : " AND " + clauses.joined(separator: " AND ")
            let parts = states.map { state in
                "(SELECT sequence, record FROM job WHERE state = \(bind(state))\(filter)\(order)\(limit))"
            }
            sql = "SELECT record FROM (" + parts.joined(separator: " UNION ALL ") + ") AS page" + order + limit
        } else {
            if let states = query.states { clauses.insert("state = ANY(\(bind(states.map(\.rawValue).sorted()))::text[])", at: 0) }
            sql = "SELECT record FROM job"
            if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
            sql += order + limit
        }
        return try await records(Job.self, PostgresQuery(unsafeSQL: sql, binds: binds))
    }
}
