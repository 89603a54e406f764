import Foundation

/// Prices for committing to a machine for a year: AWS 1-year standard reserved instances (no upfront, Linux)
/// per instance type and region, and GCP 1-year committed-use prices per vCPU and per GiB for the machine
/// families that have them.
public struct CommitmentPrices: Sendable, Equatable {
    /// `region|type` → USD per hour.
    public var awsReserved: [String: Double] = [:]
    /// `region|family` → USD per vCPU-hour and per GiB-hour.
    public var gcpCommitted: [String: (cpu: Double, memory: Double)] {
        get { gcpRates.mapValues { ($0[0], $0[1]) } }
        set { gcpRates = newValue.mapValues { [$0.cpu, $0.memory] } }
    }
    var gcpRates: [String: [Double]] = [:]

    public init() {}

    /// A committed hourly price for an instance, and what the commitment is.
    public func committed(
        cloud: String,
        region: String,
        instanceType: String,
        vCPUs: Double,
        memoryGiB: Double,
        gpus: Int
    )
        -> (hourly: Double, term: String)?
    {
        switch cloud {
        case "aws":
            return awsReserved["\(region)|\(instanceType)"].map { ($0, "1-year standard reserved instance, no upfront") }
        case "gcp":
            guard gpus == 0, let family = instanceType.split(separator: "-").first, let rates = gcpRates["\(region)|\(family)"] else {
                return nil
            }
            return (vCPUs * rates[0] + memoryGiB * rates[1], "1-year committed use discount (\(family) vCPUs and memory)")
        default:
            return nil
        }
    }

    // MARK: - Reading

    /// Reads `aws/gpu_instances_vantage.csv` and `libcloud/pricing.json` under a catalog directory (either may
    /// be missing).
    public static func importing(from directory: String) throws(CatalogError) -> CommitmentPrices {
        var prices = CommitmentPrices()
        if let data = FileManager.default.contents(atPath: directory + "/aws/gpu_instances_vantage.csv") {
            for record in CSVTable(String(decoding: data, as: UTF8.self)).records {
                guard let type = record["InstanceType"], let region = record["Region"], let text = record["Reserved1yrStdNoUpfrontUSDPerHour"],
                    let price = Double(text), price > 0
                else { continue }
                prices.awsReserved["\(region)|\(type)"] = price
            }
        }
        if let data = FileManager.default.contents(atPath: directory + "/libcloud/pricing.json") {
            guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let compute = root["compute"] as? [String: Any],
                let gce = compute["gce_instances"] as? [String: Any]
            else { throw CatalogError("libcloud/pricing.json: no compute.gce_instances") }
            for (family, value) in gce where !family.contains("_") {
                guard let parts = value as? [String: Any], let cpu = rates(parts["cpu"]), let memory = rates(parts["ram"]) else { continue }
                for (region, cpuPrice) in cpu {
                    guard let memoryPrice = memory[region] else { continue }
                    prices.gcpRates["\(region)|\(family)"] = [cpuPrice, memoryPrice]
                }
            }
        }
        return prices
    }

    /// `region → 1-year price` of one libcloud SKU group.
    private static func rates(_ value: Any?) -> [String: Double]? {
        guard let group = value as? [String: Any], let committed = group["1yr_commitment"] as? [String: Any], !committed.isEmpty else { return nil }
        var result: [String: Double] = [:]
        for (region, entry) in committed {
            if let price = (entry as? [String: Any])?["price"] as? Double, price > 0 { result[region] = price }
        }
        return result.isEmpty ? nil : result
    }

    // MARK: - The compact form

    /// One line per price: `aws<TAB>region<TAB>type<TAB>hourly` or `gcp<TAB>region<TAB>family<TAB>cpu<TAB>memory`.
    public func encoded(source: String) -> String {
        var lines = ["# Allot commitment prices: \(source)"]
        for key in awsReserved.keys.sorted() {
            let parts = key.split(separator: "|")
            lines.append("aws\t\(parts[0])\t\(parts[1])\t\(awsReserved[key]!)")
        }
        for key in gcpRates.keys.sorted() {
            let parts = key.split(separator: "|")
            lines.append("gcp\t\(parts[0])\t\(parts[1])\t\(gcpRates[key]![0])\t\(gcpRates[key]![1])")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public init(encoded text: String) throws(CatalogError) {
        for (number, line) in text.split(separator: "\n").enumerated() where !line.hasPrefix("#") {
            let fields = line.split(separator: "\t").map(String.init)
            switch (fields.first, fields.count) {
            case ("aws", 4):
                guard let price = Double(fields[3]) else { throw CatalogError("commitments line \(number + 1): bad price") }
                awsReserved["\(fields[1])|\(fields[2])"] = price
            case ("gcp", 5):
                guard let cpu = Double(fields[3]), let memory = Double(fields[4]) else {
                    throw CatalogError("commitments line \(number + 1): bad price")
                }
                gcpRates["\(fields[1])|\(fields[2])"] = [cpu, memory]
            default:
                throw CatalogError("commitments line \(number + 1): expected aws or gcp fields")
            }
        }
    }

    /// The commitment prices that ship with Allot.
    public static func bundled() throws(CatalogError) -> CommitmentPrices {
        guard let url = Bundle.module.url(forResource: "commitments", withExtension: "tsv"), let data = FileManager.default.contents(atPath: url.path)
        else { throw CatalogError("the bundled commitment prices are missing") }
        return try CommitmentPrices(encoded: String(decoding: data, as: UTF8.self))
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.awsReserved == rhs.awsReserved && lhs.gcpRates == rhs.gcpRates }
}
