import Foundation

/// A bound on an amount: exactly `value`, or at least it (written `8+`).
public struct AmountBound: Sendable, Equatable {
    public var value: Double
    public var atLeast: Bool

    public init(_ value: Double, atLeast: Bool) {
        self.value = value
        self.atLeast = atLeast
    }

    func admits(_ amount: Float) -> Bool { atLeast ? amount >= Float(value) - 1e-6 : abs(amount - Float(value)) < 1e-6 }

    /// `8`, `8+`, `0.5+`; with `bytes`, `32GiB`, `32GiB+`, `512MiB` (a plain number is GiB), read as GiB.
    public static func parse(_ text: String, field: String, bytes: Bool = false) throws(CatalogError) -> AmountBound {
        var body = Substring(text.trimmingCharacters(in: .whitespaces))
        let atLeast = body.hasSuffix("+")
        if atLeast { body = body.dropLast() }
        if bytes {
            for (unit, scale) in [("TiB", 1024.0), ("GiB", 1), ("MiB", 1.0 / 1024), ("TB", 1e12 / 1_073_741_824), ("GB", 1e9 / 1_073_741_824)]
            where body.hasSuffix(unit) {
                if let value = Double(body.dropLast(unit.count)), value >= 0 { return AmountBound(value * scale, atLeast: atLeast) }
            }
        }
        guard let value = Double(body), value >= 0, value.isFinite else {
            throw CatalogError("\(field): invalid value \"\(text)\": expected a number\(bytes ? " with a unit (32GiB)" : ""), or at least one with +")
        }
        return AmountBound(value, atLeast: atLeast)
    }
}

/// What an offer search asks for.
public struct OfferQuery: Sendable, Equatable {
    /// Accelerator name (case-insensitive) and count.
    public var gpu: String?
    public var gpuCount: AmountBound?
    /// Only machines without accelerators (`gpus=0` or `gpus=none`).
    public var cpuOnly = false
    public var cpus: AmountBound?
    public var memoryGiB: AmountBound?
    /// Memory of each accelerator.
    public var gpuMemoryGiB: AmountBound?
    public var capacity: CapacityType
    public var clouds: Set<String>?
    public var region: String?
    public var maxPrice: Double?
    public var top: Int

    public init(
        gpu: String? = nil,
        gpuCount: AmountBound? = nil,
        cpus: AmountBound? = nil,
        memoryGiB: AmountBound? = nil,
        gpuMemoryGiB: AmountBound? = nil,
        capacity: CapacityType = .onDemand,
        clouds: Set<String>? = nil,
        region: String? = nil,
        maxPrice: Double? = nil,
        top: Int = 10
    ) {
        self.gpu = gpu
        self.gpuCount = gpuCount
        self.cpus = cpus
        self.memoryGiB = memoryGiB
        self.gpuMemoryGiB = gpuMemoryGiB
        self.capacity = capacity
        self.clouds = clouds
        self.region = region
        self.maxPrice = maxPrice
        self.top = top
    }

    /// A query from named parameters, as the CLI's flags and the API's query string give them: `gpus`, `cpu`,
    /// `memory`, `gpuMemory`, `spot` (`true`), `cloud` (comma-separated), `region`, `maxPrice`, `top`.
    public init(parameters: [String: String]) throws(CatalogError) {
        self.init()
        if let gpus = parameters["gpus"] { try setGPUs(gpus) }
        if let cpu = parameters["cpu"] { cpus = try AmountBound.parse(cpu, field: "cpu") }
        if let memory = parameters["memory"] { memoryGiB = try AmountBound.parse(memory, field: "memory", bytes: true) }
        if let memory = parameters["gpuMemory"] { gpuMemoryGiB = try AmountBound.parse(memory, field: "gpuMemory", bytes: true) }
        if let spot = parameters["spot"] {
            guard let value = Bool(spot) else { throw CatalogError("spot: invalid value \"\(spot)\": expected true or false") }
            capacity = value ? .spot : .onDemand
        }
        if let cloud = parameters["cloud"] {
            clouds = Set(cloud.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
        }
        region = parameters["region"]
        if let text = parameters["maxPrice"] {
            guard let value = Double(text), value >= 0, value.isFinite else {
                throw CatalogError("maxPrice: invalid value \"\(text)\": expected USD per hour")
            }
            maxPrice = value
        }
        if let text = parameters["top"] {
            guard let value = Int(text), (1...1000).contains(value) else { throw CatalogError("top: invalid value \"\(text)\": expected 1 to 1000") }
            top = value
        }
    }

    /// `A100`, `A100:8`, `A100:8+` (a name alone means one); `0` or `none` for machines without accelerators.
    public mutating func setGPUs(_ text: String) throws(CatalogError) {
        if text == "0" || text.lowercased() == "none" {
            cpuOnly = true
            gpu = nil
            gpuCount = nil
            return
        }
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let name = parts.first, !name.isEmpty else { throw CatalogError("gpus: invalid value \"\(text)\": expected NAME[:COUNT[+]]") }
        gpu = name
        gpuCount = parts.count == 2 ? try AmountBound.parse(parts[1], field: "gpus") : AmountBound(1, atLeast: false)
    }
}

extension Catalog {
    /// The feasible offers, cheapest first; equal prices are ordered by cloud, region, zone, instance type.
    public func search(_ query: OfferQuery) -> [PricedOffer] {
        let limit = max(0, query.top)
        guard limit > 0 else { return [] }
        var best: [(price: Float, index: Int32)] = []
        forEachMatch(query) { index, price in
            if best.count == limit, let last = best.last, !precedes((price, index), last) { return }
            // Keep the best `limit` in order (insertion: `limit` is small).
            var position = best.count
            while position > 0 && precedes((price, index), best[position - 1]) { position -= 1 }
            best.insert((price, index), at: position)
            if best.count > limit { best.removeLast() }
        }
        return best.map { priced(Int($0.index), query.capacity) }
    }

    /// Every feasible offer, in catalog order (the query's `top` is not applied).
    public func matches(_ query: OfferQuery) -> [PricedOffer] {
        var result: [PricedOffer] = []
        forEachMatch(query) { index, price in
            result.append(priced(Int(index), query.capacity))
        }
        return result
    }

    /// The offer at its exact price (the search compares 32-bit copies).
    private func priced(_ index: Int, _ capacity: CapacityType) -> PricedOffer {
        let offer = offers[index]
        return PricedOffer(offer: offer, capacity: capacity, hourlyPrice: (capacity == .spot ? offer.spotPrice : offer.price) ?? .nan)
    }

    private func forEachMatch(_ query: OfferQuery, _ body: (Int32, Float) -> Void) {
        let prices = query.capacity == .spot ? spot : onDemand
        let allowed: [Bool]? = query.clouds.map { wanted in clouds.map { wanted.contains($0) } }
        let wantsGPU = query.gpu != nil
        func consider(_ index: Int32) {
            let i = Int(index)
            let price = prices[i]
            guard !price.isNaN else { return }
            if let maxPrice = query.maxPrice, Double(price) > maxPrice + 1e-9 { return }
            if let allowed, !allowed[Int(cloudOf[i])] { return }
            if let bound = query.cpus, !bound.admits(vCPUs[i]) { return }
            if let bound = query.memoryGiB, !bound.admits(memoryGiB[i]) { return }
            if wantsGPU, let bound = query.gpuCount, !bound.admits(gpuCount[i]) { return }
            if let bound = query.gpuMemoryGiB, !(gpuCount[i] > 0 && bound.admits(gpuMemoryGiB[i])) { return }
            if let region = query.region, offers[i].region != region { return }
            body(index, price)
        }
        if let gpu = query.gpu ?? (query.cpuOnly ? "" : nil) {
            for index in byGPU[gpu.lowercased()] ?? [] { consider(index) }
        } else {
            for index in 0..<Int32(offers.count) { consider(index) }
        }
    }

    private func precedes(_ left: (price: Float, index: Int32), _ right: (price: Float, index: Int32)) -> Bool {
        if left.price != right.price { return left.price < right.price }
        let (a, b) = (offers[Int(left.index)], offers[Int(right.index)])
        return (a.cloud, a.region, a.zone ?? "", a.instanceType, left.index) < (b.cloud, b.region, b.zone ?? "", b.instanceType, right.index)
    }
}
