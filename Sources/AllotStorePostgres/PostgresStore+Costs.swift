import AllotAPI
import AllotStore
import Foundation
import PostgresNIO

/// Cost accounting's records: attempts and billing periods by time, billed rows, budgets, feedback.
extension PostgresStore {
    public func attempts(overlapping from: Double, _ to: Double) async throws(StoreError) -> [JobAttempt] {
        try await records(
            JobAttempt.self,
            """
            SELECT record FROM job_attempt WHERE charged_from < \(to) AND (ended_at IS NULL OR ended_at > \(from))
            ORDER BY job COLLATE "C", number
            """
        )
    }

    public func billingPeriods(overlapping from: Double, _ to: Double) async throws(StoreError) -> [NodeBillingPeriod] {
        try await records(
            NodeBillingPeriod.self,
            """
            SELECT record FROM node_billing WHERE starts_at < \(to) AND (ends_at IS NULL OR ends_at > \(from))
            ORDER BY node COLLATE "C", starts_at
            """
        )
    }

    public func saveBilledCosts(_ rows: [BilledCost]) async throws(StoreError) {
        let latest = Self.lastOfEach(rows, key: \.key)
        guard !latest.isEmpty else { return }
        let records = try latest.map { row throws(StoreError) in try Self.encode(row) }
        try await write(
            "save billed costs",
            """
            INSERT INTO billed_cost (key, day, record)
            SELECT * FROM unnest(\(latest.map(\.key))::text[], \(latest.map(\.day))::text[], \(records)::text[])
            ON CONFLICT (key) DO UPDATE SET day = excluded.day, record = excluded.record
            """
        )
    }

    public func billedCosts(fromDay: String, toDay: String) async throws(StoreError) -> [BilledCost] {
        try await records(
            BilledCost.self,
            #"SELECT record FROM billed_cost WHERE day >= \#(fromDay) AND day <= \#(toDay) ORDER BY day COLLATE "C", key COLLATE "C""#
        )
    }

    public func saveBudget(_ budget: Budget) async throws(StoreError) {
        let record = try Self.encode(budget)
        try await write(
            "save a budget",
            "INSERT INTO budget (name, record) VALUES (\(budget.name), \(record)) ON CONFLICT (name) DO UPDATE SET record = excluded.record"
        )
    }

    public func deleteBudget(_ name: String) async throws(StoreError) {
        try await write("delete a budget", "DELETE FROM budget WHERE name = \(name)")
    }

    public func budgets() async throws(StoreError) -> [Budget] {
        try await records(Budget.self, #"SELECT record FROM budget ORDER BY name COLLATE "C""#)
    }

    public func appendFeedback(_ entry: FeedbackEntry) async throws(StoreError) -> FeedbackEntry {
        let logger = logger
        return try await transaction("append feedback") { connection in
            try await connection.query("LOCK TABLE feedback IN SHARE ROW EXCLUSIVE MODE", logger: logger)
            var stored = entry
            stored.sequence = 1
            for try await value in try await connection.query("SELECT COALESCE(MAX(sequence), 0)::bigint + 1 FROM feedback", logger: logger)
                .decode(Int64.self)
            {
                stored.sequence = value
            }
            let record = try Self.encode(stored)
            try await connection.query(
                "INSERT INTO feedback (sequence, tenant, record) VALUES (\(stored.sequence), \(stored.tenant), \(record))",
                logger: logger
            )
            return stored
        }
    }

    public func feedback(tenants: Set<String>?) async throws(StoreError) -> [FeedbackEntry] {
        if let tenants {
            return try await records(
                FeedbackEntry.self,
                "SELECT record FROM feedback WHERE tenant = ANY(\(tenants.sorted())::text[]) ORDER BY sequence"
            )
        }
        return try await records(FeedbackEntry.self, "SELECT record FROM feedback ORDER BY sequence")
    }
}
