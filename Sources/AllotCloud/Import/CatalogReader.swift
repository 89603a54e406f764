import Foundation

/// A failure to read catalog files, naming the file.
public struct CatalogError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// Reads one cloud's price files into offers. Adding a cloud is adding a reader to ``CatalogReaders/all``.
public protocol CatalogReader: Sendable {
    var cloud: String { get }
    /// The file, relative to the catalog directory, this reader needs.
    var file: String { get }
    func offers(from data: Data) throws(CatalogError) -> [CloudOffer]
}

public enum CatalogReaders {
    /// Every reader, in the order offers are stored.
    public static let all: [any CatalogReader] = [
        SkyPilotReader(cloud: "aws", zoned: false),
        GCPReader(),
        SkyPilotReader(cloud: "azure", zoned: false),
        SkyPilotReader(cloud: "lambda", zoned: false),
        // Vast's `SizeInMiB` is the offer's total (8 × H100 reads 652,472 MiB).
        SkyPilotReader(cloud: "vast", zoned: false, gpuMemoryIsTotal: true),
        SkyPilotReader(cloud: "alicloud", zoned: true),
        HuaweiReader(),
    ]
}

/// The SkyPilot catalog schema (`vms.csv`), read by column name since each cloud orders them its own way.
struct SkyPilotReader: CatalogReader {
    let cloud: String
    /// Whether rows are per availability zone.
    let zoned: Bool
    /// Whether `GpuInfo`'s memory is for all the offer's accelerators together.
    var gpuMemoryIsTotal = false
    var file: String { "\(cloud)/vms.csv" }

    func offers(from data: Data) throws(CatalogError) -> [CloudOffer] {
        let table = CSVTable(String(decoding: data, as: UTF8.self))
        for column in ["InstanceType", "vCPUs", "MemoryGiB", "Price", "Region"] where !table.header.contains(column) {
            throw CatalogError("\(file): no \(column) column")
        }
        return table.records.compactMap { row in
            guard var offer = SkyPilotRow.offer(row, cloud: cloud, zoned: zoned) else { return nil }
            if gpuMemoryIsTotal, offer.gpuCount > 1, let total = offer.gpuMemoryGiB { offer.gpuMemoryGiB = total / offer.gpuCount }
            return offer
        }
    }
}

/// Reading one SkyPilot row, shared by the readers.
enum SkyPilotRow {
    /// The offer a row describes; `nil` without a type, a region or a price. With `zeroPriceAllowed` a price of
    /// exactly 0 is kept (a GCP host whose whole price sits in its accelerator rows).
    static func offer(_ row: [String: String], cloud: String, zoned: Bool, zeroPriceAllowed: Bool = false) -> CloudOffer? {
        guard let type = row["InstanceType"], !type.isEmpty, let region = row["Region"], !region.isEmpty else { return nil }
        let price = zeroPriceAllowed ? nonNegative(row["Price"]) : positive(row["Price"])
        let spot = zeroPriceAllowed ? nonNegative(row["SpotPrice"]) : positive(row["SpotPrice"])
        guard price != nil || spot != nil else { return nil }
        let gpu = row["AcceleratorName"].flatMap { $0.isEmpty ? nil : $0 }
        return CloudOffer(
            cloud: cloud,
            region: region,
            zone: zoned ? row["AvailabilityZone"].flatMap { $0.isEmpty ? nil : $0 } : nil,
            instanceType: type,
            vCPUs: Double(row["vCPUs"] ?? "") ?? 0,
            memoryGiB: Double(row["MemoryGiB"] ?? "") ?? 0,
            gpu: gpu,
            gpuCount: gpu == nil ? 0 : Double(row["AcceleratorCount"] ?? "") ?? 1,
            gpuMemoryGiB: gpu.flatMap { gpuMemory(info: row["GpuInfo"] ?? "", name: $0) },
            arch: architecture(row["Arch"]),
            price: price,
            spotPrice: spot
        )
    }

    static func positive(_ text: String?) -> Double? {
        guard let text, let value = Double(text), value > 0, value.isFinite else { return nil }
        return value
    }

    static func nonNegative(_ text: String?) -> Double? {
        guard let text, let value = Double(text), value >= 0, value.isFinite else { return nil }
        return value
    }

    static func architecture(_ text: String?) -> String {
        switch (text ?? "").lowercased() {
        case "arm64", "arm", "aarch64": return "arm64"
        default: return "x86_64"
        }
    }

    /// Per-accelerator memory: `'SizeInMiB': N` in SkyPilot's dict (AWS, GCP, Lambda, Vast), `16GB` in
    /// Alibaba's text, else the public spec of the model (Azure gives only the name).
    static func gpuMemory(info: String, name: String) -> Double? {
        if let range = info.range(of: "'SizeInMiB': ") {
            let digits = info[range.upperBound...].prefix { $0.isNumber || $0 == "." }
            if let mib = Double(digits), mib > 0 { return mib / 1024 }
        }
        if let range = info.range(of: #"[0-9.]+GB"#, options: .regularExpression), let gb = Double(info[range].dropLast(2)), gb > 0 {
            return gb
        }
        return specMemoryGiB[name]
    }

    /// Memory per accelerator in GiB from the vendors' public specifications, for rows that do not carry it.
    static let specMemoryGiB: [String: Double] = [
        "A10": 24, "A10G": 24, "A100": 40, "A100-80GB": 80, "A30": 24, "A6000": 48, "B200": 180, "GH200": 96, "H100": 80,
        "H100-MEGA": 80, "H200": 141, "K80": 12, "L4": 24, "L40S": 48, "M60": 8, "MI25": 16, "MI300X": 192, "P100": 16, "P4": 8,
        "RTX6000": 24, "T4": 16, "V100": 16, "V100-32GB": 32,
    ]
}

/// Huawei Cloud's one-region JSON price list (`huaweicloud/ecs_pricing.json`): CPU flavors, each listed twice
/// (`.linux` and `.byol` at one price); the Linux one is kept.
struct HuaweiReader: CatalogReader {
    let cloud = "huaweicloud"
    var file: String { "huaweicloud/ecs_pricing.json" }

    private struct File: Decodable {
        struct Flavor: Decodable {
            var name: String
            var vcpus: Double
            var ram_gb: Double
            var hourly: Double
        }

        var region: String
        var flavors: [Flavor]
    }

    func offers(from data: Data) throws(CatalogError) -> [CloudOffer] {
        let decoded: File
        do { decoded = try JSONDecoder().decode(File.self, from: data) } catch { throw CatalogError("\(file): \(error)") }
        return decoded.flavors.filter { $0.name.hasSuffix(".linux") && $0.hourly > 0 }.map { flavor in
            CloudOffer(
                cloud: cloud,
                region: decoded.region,
                instanceType: String(flavor.name.dropLast(".linux".count)),
                vCPUs: flavor.vcpus,
                memoryGiB: flavor.ram_gb,
                price: flavor.hourly
            )
        }
    }
}
