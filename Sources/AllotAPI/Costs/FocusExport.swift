import AllotCore
import Foundation

/// Charges written in the FinOps Open Cost and Usage Specification (FOCUS 1.0) columns, one row per job (or
/// idle) per node per UTC day, with Allot's own dimensions in `x_` columns as the specification allows.
///
/// Allot prices at list (catalog or declared) prices with no discounts, so BilledCost, EffectiveCost,
/// ListCost and ContractedCost are the same amount. SubAccountId is the tenant (`idle` for time no job held).
public enum FocusExport {
    public static let columns = [
        "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
        "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd",
        "ChargePeriodStart", "CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName",
        "CommitmentDiscountStatus", "CommitmentDiscountType", "ConsumedQuantity", "ConsumedUnit", "ContractedCost",
        "ContractedUnitPrice", "EffectiveCost", "InvoiceIssuerName", "ListCost", "ListUnitPrice", "PricingCategory",
        "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "RegionId", "RegionName", "ResourceId",
        "ResourceName", "ResourceType", "ServiceCategory", "ServiceName", "SkuId", "SkuPriceId", "SubAccountId",
        "SubAccountName", "Tags", "x_AllotJob", "x_AllotNode", "x_GpuHours",
    ]

    public static func csv(_ lines: [CostLine], billingAccount: String) -> String {
        var text = columns.joined(separator: ",") + "\r\n"
        for line in lines {
            let provider = providerName(line.cloud)
            let month = CostDates.month(line.start)
            let amount = format(line.cost)
            let share = line.nodeHourlyPrice > 0 ? line.cost / line.nodeHourlyPrice : 0
            var tags: [(String, String)] = [("allot/node", line.node), ("allot/capacity", line.capacity)]
            if let job = line.job { tags.append(("allot/job", job)) }
            if let tenant = line.tenant { tags.append(("allot/tenant", tenant)) }
            if line.job == nil { tags.append(("allot/idle", "true")) }
            let description =
                line.job.map { "\($0) share of \(line.instanceType ?? line.node)" } ?? "idle time of \(line.instanceType ?? line.node)"
            let values: [String?] = [
                line.zone,
                amount,
                billingAccount,
                billingAccount,
                "USD",
                CostDates.timestamp(month.end),
                CostDates.timestamp(month.start),
                "Usage",
                nil,
                description,
                "Usage-Based",
                CostDates.timestamp(line.end),
                CostDates.timestamp(line.start),
                nil, nil, nil, nil, nil,
                format(line.hours),
                "Hours",
                amount,
                format(line.nodeHourlyPrice),
                amount,
                provider,
                amount,
                format(line.nodeHourlyPrice),
                line.capacity == "spot" ? "Dynamic" : "Standard",
                format(share),
                "Hours",
                provider,
                provider,
                line.region,
                line.region,
                line.node,
                line.node,
                line.instanceType.map { _ in "Virtual Machine" } ?? "Machine",
                "Compute",
                serviceName(line.cloud),
                line.instanceType,
                line.instanceType.map { "\($0)/\(line.region ?? "-")/\(line.capacity)" },
                line.tenant ?? "idle",
                line.tenant ?? "idle",
                "{" + tags.map { "\"\($0.0)\":\"\(escapeJSON($0.1))\"" }.joined(separator: ",") + "}",
                line.job,
                line.node,
                format(line.gpuHours),
            ]
            text += values.map { CSVField.quote($0 ?? "") }.joined(separator: ",") + "\r\n"
        }
        return text
    }

    public static func providerName(_ cloud: String) -> String {
        switch cloud {
        case "aws": return "AWS"
        case "gcp": return "Google Cloud"
        case "azure": return "Microsoft Azure"
        case "lambda": return "Lambda"
        case "vast": return "Vast.ai"
        case "alicloud": return "Alibaba Cloud"
        case "huaweicloud": return "Huawei Cloud"
        case "on-prem": return "On-premises"
        default: return cloud
        }
    }

    static func serviceName(_ cloud: String) -> String {
        switch cloud {
        case "aws": return "Amazon Elastic Compute Cloud"
        case "gcp": return "Compute Engine"
        case "azure": return "Virtual Machines"
        case "on-prem": return "On-premises compute"
        default: return "\(providerName(cloud)) compute"
        }
    }

    /// Enough digits for sub-cent charges (FOCUS amounts are decimals, not rounded to the cent).
    static func format(_ value: Double) -> String {
        // Ten decimals, trailing zeros dropped, never an exponent.
        let scaled = (abs(value) * 1e10).rounded()
        guard scaled.isFinite, scaled < 9e18 else { return String(value) }
        let units = Int64(scaled)
        let whole = units / 10_000_000_000
        var fraction = String(units % 10_000_000_000)
        fraction = String(repeating: "0", count: 10 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        let sign = value < 0 && units > 0 ? "-" : ""
        return sign + String(whole) + (fraction.isEmpty ? "" : "." + fraction)
    }

    static func escapeJSON(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
