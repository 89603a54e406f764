import AllotAPI
import AllotStore
import Foundation
import GRDB

/// Cost accounting's records: attempts and billing periods by time, budgets, feedback.
extension SQLiteStore {
    public func attempts(overlapping from: Double, _ to: Double) async throws(StoreError) -> [JobAttempt] {
        let records = try await read { db in
            try String.fetchAll(
                db,
                sql: "SELECT record FROM job_attempt WHERE charged_from < ? AND (ended_at IS NULL OR ended_at > ?) ORDER BY job, number",
                arguments: [to, from]
            )
        }
        return try records.map { text throws(StoreError) in try Self.decode(JobAttempt.self, text) }
    }

    public func billingPeriods(overlapping from: Double, _ to: Double) async throws(StoreError) -> [NodeBillingPeriod] {
        let records = try await read { db in
            try String.fetchAll(
                db,
                sql: "SELECT record FROM node_billing WHERE start < ? AND (end IS NULL OR end > ?) ORDER BY node, start",
                arguments: [to, from]
            )
        }
        return try records.map { text throws(StoreError) in try Self.decode(NodeBillingPeriod.self, text) }
    }

    // MARK: - Billed costs

    public func saveBilledCosts(_ rows: [BilledCost]) async throws(StoreError) {
        let records = try rows.map { row throws(StoreError) in (row, try Self.encode(row)) }
        try await write { db in
            for (row, record) in records {
                try db.execute(
                    sql: "INSERT INTO billed_cost (key, day, record) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET record = excluded.record",
                    arguments: [row.key, row.day, record]
                )
            }
        }
    }

    public func billedCosts(fromDay: String, toDay: String) async throws(StoreError) -> [BilledCost] {
        let records = try await read { db in
            try String.fetchAll(db, sql: "SELECT record FROM billed_cost WHERE day >= ? AND day <= ? ORDER BY day, key", arguments: [fromDay, toDay])
        }
        return try records.map { text throws(StoreError) in try Self.decode(BilledCost.self, text) }
    }

    // MARK: - Budgets and feedback

    public func saveBudget(_ budget: Budget) async throws(StoreError) {
        let record = try Self.encode(budget)
        try await write { db in
            try db.execute(
                sql: "INSERT INTO budget (name, record) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET record = excluded.record",
                arguments: [budget.name, record]
            )
        }
    }

    public func deleteBudget(_ name: String) async throws(StoreError) {
        try await write { db in try db.execute(sql: "DELETE FROM budget WHERE name = ?", arguments: [name]) }
    }

    public func budgets() async throws(StoreError) -> [Budget] {
        let records = try await read { db in try String.fetchAll(db, sql: "SELECT record FROM budget ORDER BY name") }
        return try records.map { text throws(StoreError) in try Self.decode(Budget.self, text) }
    }

    public func appendFeedback(_ entry: FeedbackEntry) async throws(StoreError) -> FeedbackEntry {
        try await write { db in
            let next = (try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(sequence), 0) + 1 FROM feedback")) ?? 1
            var stored = entry
            stored.sequence = next
            let record = String(decoding: try JSONEncoder().encode(stored), as: UTF8.self)
            try db.execute(sql: "INSERT INTO feedback (sequence, tenant, record) VALUES (?, ?, ?)", arguments: [next, stored.tenant, record])
            return stored
        }
    }

    public func feedback(tenants: Set<String>?) async throws(StoreError) -> [FeedbackEntry] {
        let rows = try await read { db in
            try Row.fetchAll(db, sql: "SELECT tenant, record FROM feedback ORDER BY sequence").map { row in
                (row["tenant"] as String, row["record"] as String)
            }
        }
        return try rows.filter { row in tenants.map { $0.contains(row.0) } ?? true }
            .map { row throws(StoreError) in try Self.decode(FeedbackEntry.self, row.1) }
    }
}
