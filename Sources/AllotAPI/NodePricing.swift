import Foundation

/// What a node costs per hour and where it runs: a cloud instance (looked up in the price catalog when only
/// its type is given) or an on-premises machine with an amortised price.
public struct NodePricing: Codable, Equatable, Sendable {
    /// `aws`, `gcp`, `azure`, … or `on-prem`.
    public var cloud: String
    public var region: String?
    public var zone: String?
    public var instanceType: String?
    /// The cloud's id for the machine (`i-0123…`), which ties a node to the instance the autoscaler bought.
    public var instanceId: String?
    /// `on-demand` or `spot`.
    public var capacity: String
    /// USD per hour; filled from the catalog when absent.
    public var hourlyPrice: Double?
    /// `declared` (given by the agent) or `catalog` (looked up by the server).
    public var priceSource: String?

    public init(
        cloud: String,
        region: String? = nil,
        zone: String? = nil,
        instanceType: String? = nil,
        instanceId: String? = nil,
        capacity: String = "on-demand",
        hourlyPrice: Double? = nil,
        priceSource: String? = nil
    ) {
        self.cloud = cloud
        self.region = region
        self.zone = zone
        self.instanceType = instanceType
        self.instanceId = instanceId
        self.capacity = capacity
        self.hourlyPrice = hourlyPrice
        self.priceSource = priceSource
    }

    /// Parses `cloud=aws,region=us-east-1,type=p4d.24xlarge[,zone=Z][,instance=ID][,capacity=spot][,price=21.96]`, or
    /// `cloud=on-prem,price=3.2`.
    public static func parse(_ text: String) throws(InputError) -> NodePricing {
        var fields: [String: String] = [:]
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, !pair[1].isEmpty else { throw InputError(path: "pricing", "expected KEY=VALUE, got \"\(part)\"") }
            guard ["cloud", "region", "zone", "type", "instance", "capacity", "price"].contains(pair[0]) else {
                throw InputError(path: "pricing.\(pair[0])", "unknown key (use cloud, region, zone, type, instance, capacity, price)")
            }
            fields[pair[0]] = pair[1]
        }
        guard let cloud = fields["cloud"] else { throw InputError(path: "pricing.cloud", "required") }
        var pricing = NodePricing(
            cloud: cloud.lowercased(),
            region: fields["region"],
            zone: fields["zone"],
            instanceType: fields["type"],
            instanceId: fields["instance"]
        )
        if let capacity = fields["capacity"] {
            guard capacity == "on-demand" || capacity == "spot" else { throw InputError(path: "pricing.capacity", "use on-demand or spot") }
            pricing.capacity = capacity
        }
        if let price = fields["price"] {
            guard let value = Double(price), value >= 0, value.isFinite else { throw InputError(path: "pricing.price", "expected USD per hour") }
            pricing.hourlyPrice = value
            pricing.priceSource = "declared"
        }
        if pricing.hourlyPrice == nil && (pricing.instanceType == nil || pricing.region == nil) {
            throw InputError(path: "pricing", "give a price, or a cloud, region and type to look up")
        }
        return pricing
    }
}
