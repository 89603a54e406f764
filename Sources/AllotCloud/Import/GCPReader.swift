import Foundation

/// GCP in the SkyPilot schema, where GPUs are priced apart from the VM: rows with an empty instance type are
/// accelerators (per zone, one row per count, the price for that many). A GPU VM costs its host plus its
/// GPUs: A2/A3/A4/G2 hosts come with a fixed set (named in the type), N1 hosts take T4, V100, P100 or P4 in
/// counts GCP allows for their vCPUs. TPU rows are offers of their own.
struct GCPReader: CatalogReader {
    let cloud = "gcp"
    var file: String { "gcp/vms.csv" }

    /// vCPUs an N1 host may have with `count` GPUs of a model (GCP's documented N1 limits).
    static let n1Limits: [String: [Double: Double]] = [
        "T4": [1: 48, 2: 48, 4: 96],
        "V100": [1: 12, 2: 24, 4: 48, 8: 96],
        "P100": [1: 16, 2: 32, 4: 96],
        "P4": [1: 24, 2: 48, 4: 96],
    ]

    /// The accelerators a host comes with, from its type name.
    static func builtIn(_ type: String) -> (gpu: String, count: Double)? {
        let parts = type.split(separator: "-")
        func count() -> Double? { parts.count >= 3 ? Double(parts[2].dropLast()) : nil }
        switch (parts.first, parts.count > 1 ? parts[1] : "") {
        case ("a2", "highgpu"): return count().map { ("A100", $0) }
        case ("a2", "megagpu"): return ("A100", 16)
        case ("a2", "ultragpu"): return count().map { ("A100-80GB", $0) }
        case ("a3", "highgpu"), ("a3", "edgegpu"): return count().map { ("H100", $0) }
        case ("a3", "megagpu"): return ("H100-MEGA", 8)
        case ("a3", "ultragpu"): return ("H200", 8)
        case ("a4", "highgpu"): return ("B200", 8)
        case ("g2", "standard"):
            guard parts.count == 3, let vcpus = Double(parts[2]) else { return nil }
            let gpus: [Double: Double] = [4: 1, 8: 1, 12: 1, 16: 1, 32: 1, 24: 2, 48: 4, 96: 8]
            return gpus[vcpus].map { ("L4", $0) }
        default: return nil
        }
    }

    func offers(from data: Data) throws(CatalogError) -> [CloudOffer] {
        let table = CSVTable(String(decoding: data, as: UTF8.self))
        for column in ["InstanceType", "AcceleratorName", "AcceleratorCount", "Region", "AvailabilityZone", "Price"]
        where !table.header.contains(column) {
            throw CatalogError("\(file): no \(column) column")
        }
        struct Accelerator {
            var price: Double?
            var spot: Double?
            var memory: Double?
        }
        var accelerators: [String: Accelerator] = [:]
        var byZone: [String: [(name: String, count: Double)]] = [:]
        var hosts: [[String: String]] = []
        var tpuOffers: [CloudOffer] = []
        for row in table.records {
            if let type = row["InstanceType"], !type.isEmpty {
                hosts.append(row)
                continue
            }
            guard let name = row["AcceleratorName"], !name.isEmpty, let count = Double(row["AcceleratorCount"] ?? ""),
                let region = row["Region"], let zone = row["AvailabilityZone"]
            else { continue }
            let key = "\(zone)|\(name)|\(count)"
            accelerators[key] = Accelerator(
                price: SkyPilotRow.positive(row["Price"]),
                spot: SkyPilotRow.positive(row["SpotPrice"]),
                memory: SkyPilotRow.gpuMemory(info: row["GpuInfo"] ?? "", name: name)
            )
            byZone[zone, default: []].append((name, count))
            if name.hasPrefix("tpu-") {
                // A TPU slice is rented on its own.
                let offer = CloudOffer(
                    cloud: cloud,
                    region: region,
                    zone: zone,
                    instanceType: name,
                    vCPUs: 0,
                    memoryGiB: 0,
                    gpu: name,
                    gpuCount: count,
                    price: SkyPilotRow.positive(row["Price"]),
                    spotPrice: SkyPilotRow.positive(row["SpotPrice"])
                )
                if offer.price != nil || offer.spotPrice != nil { tpuOffers.append(offer) }
            }
        }
        var offers: [CloudOffer] = []
        for row in hosts {
            // A4 hosts are listed at 0 with the whole price on their B200 rows: a zero host price is real there.
            let builtIn = Self.builtIn(row["InstanceType"] ?? "") != nil
            guard var host = SkyPilotRow.offer(row, cloud: cloud, zoned: true, zeroPriceAllowed: builtIn), let zone = host.zone else {
                continue
            }
            if let (gpu, count) = Self.builtIn(host.instanceType) {
                // The host's price excludes its GPUs: add them, or drop the host where they are not sold.
                guard let attached = accelerators["\(zone)|\(gpu)|\(count)"] else { continue }
                host.gpu = gpu
                host.gpuCount = count
                host.gpuMemoryGiB = attached.memory
                host.price = sum(host.price, attached.price)
                host.spotPrice = sum(host.spotPrice, attached.spot)
                if host.price != nil || host.spotPrice != nil { offers.append(host) }
                continue
            }
            offers.append(host)
            guard host.instanceType.hasPrefix("n1-") else { continue }
            for (gpu, count) in byZone[zone] ?? [] {
                guard let limit = Self.n1Limits[gpu]?[count], host.vCPUs <= limit, let attached = accelerators["\(zone)|\(gpu)|\(count)"] else {
                    continue
                }
                var combined = host
                combined.gpu = gpu
                combined.gpuCount = count
                combined.gpuMemoryGiB = attached.memory
                combined.price = sum(host.price, attached.price)
                combined.spotPrice = sum(host.spotPrice, attached.spot)
                if combined.price != nil || combined.spotPrice != nil { offers.append(combined) }
            }
        }
        return offers + tpuOffers
    }

    private func sum(_ host: Double?, _ gpus: Double?) -> Double? {
        guard let host, let gpus else { return nil }
        return host + gpus
    }
}
