import Foundation

/// Every offer of every cloud, indexed for search, with the date of its data.
///
/// The file form (`catalog.tsv`) is compact: machine types once (`T` lines: cloud, type, vCPUs, memory GiB,
/// accelerator, count, accelerator memory GiB, architecture), then per region (`R` lines) one line per offer
/// (type number, zone, on-demand and spot USD/h, empty when not offered).
public struct Catalog: Sendable {
    public let offers: [CloudOffer]
    /// Where the data came from and when, as the file says.
    public let source: String

    // Search indexes, one entry per offer.
    let clouds: [String]
    let cloudOf: [UInt8]
    let vCPUs: [Float]
    let memoryGiB: [Float]
    let gpuCount: [Float]
    let gpuMemoryGiB: [Float]
    let onDemand: [Float]
    let spot: [Float]
    let byGPU: [String: [Int32]]

    public init(offers: [CloudOffer], source: String) {
        self.offers = offers
        self.source = source
        let clouds = Array(Set(offers.map(\.cloud))).sorted()
        let cloudIndex = Dictionary(uniqueKeysWithValues: clouds.enumerated().map { ($1, UInt8($0)) })
        self.clouds = clouds
        cloudOf = offers.map { cloudIndex[$0.cloud]! }
        vCPUs = offers.map { Float($0.vCPUs) }
        memoryGiB = offers.map { Float($0.memoryGiB) }
        gpuCount = offers.map { Float($0.gpuCount) }
        gpuMemoryGiB = offers.map { Float($0.gpuMemoryGiB ?? 0) }
        onDemand = offers.map { $0.price.map(Float.init) ?? .nan }
        spot = offers.map { $0.spotPrice.map(Float.init) ?? .nan }
        var byGPU: [String: [Int32]] = [:]
        var keys: [String: String] = [:]
        for (index, offer) in offers.enumerated() {
            let name = offer.gpu ?? ""
            let key = keys[name] ?? name.lowercased()
            keys[name] = key
            byGPU[key, default: []].append(Int32(index))
        }
        self.byGPU = byGPU
    }

    // MARK: - File form

    /// The catalog as text.
    public func encoded() -> String {
        var lines = ["# allot cloud catalog v1", "# source: \(source)"]
        var typeIDs: [String: Int] = [:]
        var typeLines: [String] = []
        var byRegion: [String: [String]] = [:]
        var regionOrder: [String] = []
        for offer in offers {
            let key = [offer.cloud, offer.instanceType, offer.gpu ?? "", Self.number(offer.gpuCount)].joined(separator: "\t")
            let id: Int
            if let known = typeIDs[key] {
                id = known
            } else {
                id = typeLines.count
                typeIDs[key] = id
                typeLines.append(
                    [
                        "T", offer.cloud, offer.instanceType, Self.number(offer.vCPUs), Self.number(offer.memoryGiB), offer.gpu ?? "",
                        Self.number(offer.gpuCount), offer.gpuMemoryGiB.map(Self.number) ?? "", offer.arch,
                    ].joined(separator: "\t")
                )
            }
            let region = offer.cloud + "\t" + offer.region
            if byRegion[region] == nil { regionOrder.append(region) }
            byRegion[region, default: []].append(
                [String(id), offer.zone ?? "", offer.price.map(Self.number) ?? "", offer.spotPrice.map(Self.number) ?? ""].joined(separator: "\t")
            )
        }
        lines += typeLines
        for region in regionOrder {
            lines.append("R\t" + region)
            lines += byRegion[region]!
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads what ``encoded()`` wrote, byte by byte (a start-up cost: about 100,000 offers).
    public init(encoded text: String) throws(CatalogError) {
        var text = text
        let parsed = text.withUTF8 { bytes in
            Result { () throws(CatalogError) in
                var parser = CatalogParser(bytes)
                return try parser.parse()
            }
        }
        let (offers, source) = try parsed.get()
        self.init(offers: offers, source: source)
    }

    /// The shortest decimal form that reads back the same.
    public static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    // MARK: - Building

    /// Reads every cloud's files under `directory` with ``CatalogReaders/all``; a cloud whose file is absent is
    /// skipped and named in `skipped`.
    public static func importing(
        from directory: String,
        source: String
    ) throws(CatalogError) -> (catalog: Catalog, counts: [String: Int], skipped: [String]) {
        var offers: [CloudOffer] = []
        var counts: [String: Int] = [:]
        var skipped: [String] = []
        for reader in CatalogReaders.all {
            let path = directory + "/" + reader.file
            guard let data = FileManager.default.contents(atPath: path) else {
                skipped.append(reader.file)
                continue
            }
            let read = try reader.offers(from: data)
            counts[reader.cloud] = read.count
            offers += read
        }
        return (Catalog(offers: offers, source: source), counts, skipped)
    }

    /// The catalog that ships with Allot.
    public static func bundled() throws(CatalogError) -> Catalog {
        guard let url = Bundle.module.url(forResource: "catalog", withExtension: "tsv"), let data = FileManager.default.contents(atPath: url.path)
        else {
            throw CatalogError("the bundled catalog is missing")
        }
        return try Catalog(encoded: String(decoding: data, as: UTF8.self))
    }
}

extension Catalog {
    /// The hourly price of an instance type in a region (the cheapest of its zones unless one is named).
    public func price(cloud: String, region: String, zone: String? = nil, instanceType: String, capacity: CapacityType) -> Double? {
        var best: Double?
        for offer in offers where offer.instanceType == instanceType && offer.cloud == cloud && offer.region == region {
            if let zone, offer.zone != zone { continue }
            guard let price = capacity == .spot ? offer.spotPrice : offer.price else { continue }
            best = min(best ?? price, price)
        }
        return best
    }
}
