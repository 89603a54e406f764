import AllotCore
import Foundation

/// Where a job's data lives: a cloud and one of its regions, and how much of it there is.
public struct DataLocation: Sendable, Equatable, Codable {
    public var cloud: String
    public var region: String
    public var bytes: Int64

    public init(cloud: String, region: String, bytes: Int64) {
        self.cloud = cloud.lowercased()
        self.region = region
        self.bytes = bytes
    }

    /// Reads `{"cloud": "aws", "region": "us-east-1", "size": "5TB"}`; `size` may also be a number of bytes.
    public init(from decoder: any Decoder) throws {
        enum Keys: String, CodingKey { case cloud, region, size, bytes }
        let container = try decoder.container(keyedBy: Keys.self)
        cloud = try container.decode(String.self, forKey: .cloud).lowercased()
        region = try container.decode(String.self, forKey: .region)
        if let text = try? container.decode(String.self, forKey: .size) {  // a number instead is read below
            bytes = try Quantity.bytes(text, field: "inputs.size")
        } else if let number = try container.decodeIfPresent(Double.self, forKey: .size) {
            bytes = try Quantity.bytes(number, field: "inputs.size")
        } else {
            bytes = try container.decodeIfPresent(Int64.self, forKey: .bytes) ?? 0
        }
        guard bytes >= 0 else {
            throw DecodingError.dataCorruptedError(forKey: .size, in: container, debugDescription: "inputs.size: must not be negative")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        enum Keys: String, CodingKey { case cloud, region, bytes }
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(cloud, forKey: .cloud)
        try container.encode(region, forKey: .region)
        try container.encode(bytes, forKey: .bytes)
    }
}

/// What moving data out of a region costs, per GB (10^9 bytes), from the table that ships with Allot
/// (`Resources/egress.tsv`, sources in `SOURCE.md`): free within a region, the cloud's inter-region price to
/// another region of the same cloud, its internet price to anywhere else (another cloud included).
public struct EgressPrices: Sendable, Equatable {
    public struct Rates: Sendable, Equatable {
        public var internet: Double
        public var interRegion: Double

        public init(internet: Double, interRegion: Double) {
            self.internet = internet
            self.interRegion = interRegion
        }
    }

    /// By cloud, then region; `*` is the cloud's default.
    public var rates: [String: [String: Rates]]

    public init(rates: [String: [String: Rates]]) { self.rates = rates }

    /// Reads the tab-separated table: `cloud region internet_per_gb inter_region_per_gb`, `#` comments.
    public init(encoded text: String) throws(CatalogError) {
        var rates: [String: [String: Rates]] = [:]
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(separator: "\t").map(String.init)
            guard fields.count == 4, let internet = Double(fields[2]), let interRegion = Double(fields[3]), internet >= 0, interRegion >= 0
            else {
                throw CatalogError("egress table, line \(number + 1): expected cloud, region and two prices, tab-separated")
            }
            rates[fields[0].lowercased(), default: [:]][fields[1]] = Rates(internet: internet, interRegion: interRegion)
        }
        self.rates = rates
    }

    /// The table that ships with Allot.
    public static func bundled() throws(CatalogError) -> EgressPrices {
        guard let url = Bundle.module.url(forResource: "egress", withExtension: "tsv"), let data = FileManager.default.contents(atPath: url.path)
        else { throw CatalogError("the bundled egress table is missing") }
        return try EgressPrices(encoded: String(decoding: data, as: UTF8.self))
    }

    public var clouds: [String] { rates.keys.sorted() }

    /// USD per GB from `source` to a machine in `cloud`/`region`; `nil` when the source's cloud has no price.
    public func perGB(from source: DataLocation, toCloud cloud: String, region: String) -> Double? {
        if source.cloud == cloud.lowercased() && source.region == region { return 0 }
        guard let table = rates[source.cloud], let rate = table[source.region] ?? table["*"] else { return nil }
        return source.cloud == cloud.lowercased() ? rate.interRegion : rate.internet
    }

    /// What moving every input to `cloud`/`region` costs, once.
    public func cost(of inputs: [DataLocation], toCloud cloud: String, region: String) throws(CatalogError) -> Double {
        var total = 0.0
        for input in inputs where input.bytes > 0 {
            guard let price = perGB(from: input, toCloud: cloud, region: region) else {
                throw CatalogError("inputs: no egress price for \(input.cloud) (known: \(clouds.joined(separator: ", ")))")
            }
            total += Double(input.bytes) / 1e9 * price
        }
        return total
    }
}
