import Foundation

/// One day's charge for one resource and service as a provider billed it: read from AWS Cost Explorer, a
/// FOCUS 1.0 export or GCP's billing export, and kept beside Allot's own estimate.
public struct BilledCost: Codable, Equatable, Sendable {
    /// Where it came from: `aws-cost-explorer`, `focus` or `gcp-billing-export`.
    public var source: String
    /// The UTC day charged, `YYYY-MM-DD`.
    public var day: String
    /// The resource as the bill names it (an instance id, a VM name or a full resource path); empty for charges
    /// that name none (support, taxes).
    public var resource: String
    /// The service or charge it is for; empty when the bill says nothing.
    public var service: String
    /// `aws`, `gcp`, `azure` or what the bill names.
    public var cloud: String
    /// What was billed, credits and discounts included.
    public var cost: Double
    public var currency: String

    public init(source: String, day: String, resource: String, service: String = "", cloud: String, cost: Double, currency: String = "USD") {
        self.source = source
        self.day = day
        self.resource = resource
        self.service = service
        self.cloud = cloud
        self.cost = cost
        self.currency = currency
    }

    /// What identifies a row: the same key imported again replaces it.
    public var key: String { [source, day, resource, service].joined(separator: "\u{1F}") }

    /// Sums rows that share a key (a provider's file repeats a resource once per usage type or hour).
    public static func merged(_ rows: [BilledCost]) -> [BilledCost] {
        var order: [String] = []
        var byKey: [String: BilledCost] = [:]
        for row in rows {
            if var known = byKey[row.key] {
                known.cost += row.cost
                byKey[row.key] = known
            } else {
                byKey[row.key] = row
                order.append(row.key)
            }
        }
        return order.map { byKey[$0]! }
    }
}

/// `POST /v1/billing/import`: billed rows, each key once (the client sums a file's repeats first).
public struct BillingImportRequest: Codable, Equatable, Sendable {
    public var rows: [BilledCost]

    public init(rows: [BilledCost]) { self.rows = rows }

    /// Bounds on one request.
    public static let maxRows = 1_000
}

/// What an import changed; importing the same rows again adds and changes nothing.
public struct BillingImportResult: Codable, Equatable, Sendable {
    public var added: Int
    public var changed: Int
    public var unchanged: Int
    /// Rows whose resource is one of Allot's nodes, and those that are not.
    public var matched: Int
    public var unmatched: Int

    public init(added: Int = 0, changed: Int = 0, unchanged: Int = 0, matched: Int = 0, unmatched: Int = 0) {
        self.added = added
        self.changed = changed
        self.unchanged = unchanged
        self.matched = matched
        self.unmatched = unmatched
    }

    public mutating func add(_ other: BillingImportResult) {
        added += other.added
        changed += other.changed
        unchanged += other.unchanged
        matched += other.matched
        unmatched += other.unmatched
    }
}

/// Which costs a report shows: Allot's estimate (list price × time), what the providers billed, or both side
/// by side.
public enum CostSource: String, Codable, Sendable, CaseIterable {
    case estimated, billed, both
}
