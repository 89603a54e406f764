/// What `GET /v1/costs` groups by.
public enum CostGrouping: String, Codable, Sendable, CaseIterable {
    case tenant, job, node, cloud, region, day
}

/// One group's spend.
public struct CostRow: Codable, Equatable, Sendable {
    /// The tenant, job, node, cloud, region or day (`YYYY-MM-DD`); by tenant or job, `idle` for the time nodes
    /// were paid for and held by no job (shown to admins; by node, cloud, region or day idle time counts where it
    /// was).
    public var key: String
    /// USD, rounded to the cent so that the rows add up to the total exactly.
    public var cost: Double
    /// Hours charged (a job on two nodes counts both) and GPU-hours held.
    public var hours: Double
    public var gpuHours: Double
    /// With `source=both`: what the providers billed for this group, and `billed − cost`.
    public var billed: Double?
    public var difference: Double?

    public init(key: String, cost: Double, hours: Double, gpuHours: Double, billed: Double? = nil, difference: Double? = nil) {
        self.key = key
        self.cost = cost
        self.hours = hours
        self.gpuHours = gpuHours
        self.billed = billed
        self.difference = difference
    }
}

/// Spend over a window, grouped.
public struct CostReport: Codable, Equatable, Sendable {
    public var from: Double
    public var to: Double
    public var groupBy: CostGrouping
    public var currency: String
    /// USD: the sum of the rows.
    public var total: Double
    /// Largest first.
    public var rows: [CostRow]
    /// Which costs `cost` holds: Allot's estimate (the default) or the providers' bills; with `both`, `cost` is
    /// the estimate and each row carries `billed` and `difference`.
    public var source: CostSource?
    /// With `source=both`: the billed rows' sum.
    public var billedTotal: Double?

    public init(
        from: Double,
        to: Double,
        groupBy: CostGrouping,
        currency: String = "USD",
        total: Double,
        rows: [CostRow],
        source: CostSource? = nil,
        billedTotal: Double? = nil
    ) {
        self.from = from
        self.to = to
        self.groupBy = groupBy
        self.currency = currency
        self.total = total
        self.rows = rows
        self.source = source
        self.billedTotal = billedTotal
    }
}

/// One charge: a job's (or idle) cost on one node within one UTC day, with what identifies it.
public struct CostLine: Codable, Equatable, Sendable {
    /// `nil` for idle.
    public var job: String?
    public var tenant: String?
    public var node: String
    public var cloud: String
    public var region: String?
    public var zone: String?
    public var instanceType: String?
    public var capacity: String
    public var start: Double
    public var end: Double
    public var cost: Double
    public var hours: Double
    public var gpuHours: Double
    /// The node's hourly price.
    public var nodeHourlyPrice: Double

    public init(
        job: String?,
        tenant: String?,
        node: String,
        cloud: String,
        region: String?,
        zone: String?,
        instanceType: String?,
        capacity: String,
        start: Double,
        end: Double,
        cost: Double,
        hours: Double,
        gpuHours: Double,
        nodeHourlyPrice: Double
    ) {
        self.job = job
        self.tenant = tenant
        self.node = node
        self.cloud = cloud
        self.region = region
        self.zone = zone
        self.instanceType = instanceType
        self.capacity = capacity
        self.start = start
        self.end = end
        self.cost = cost
        self.hours = hours
        self.gpuHours = gpuHours
        self.nodeHourlyPrice = nodeHourlyPrice
    }
}
