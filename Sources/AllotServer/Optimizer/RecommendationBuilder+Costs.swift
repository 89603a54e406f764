import AllotAPI
import AllotCloud
import AllotCore
import AllotLifecycle

extension RecommendationBuilder {
    static let hoursPerMonth = 730.0

    /// Cheaper ways to pay for the priced cloud nodes: the same machine elsewhere, spot for nodes that run only
    /// preemptible work, a commitment for nodes that run all the time.
    mutating func costRecommendations(at time: Double) -> [Recommendation] {
        guard case .success(let catalog) = BundledCatalog.shared else { return [] }
        let commitments = (try? BundledCatalog.commitments.get()) ?? CommitmentPrices()
        var result: [Recommendation] = []
        for name in nodes.keys.sorted() {
            guard let node = nodes[name], node.state == .ready, let pricing = node.inventory.pricing, let price = pricing.hourlyPrice, price > 0,
                pricing.cloud != "on-prem"
            else { continue }
            let spec = node.inventory.nodeSpec
            let cores = node.inventory.cpu.schedulableCores
            let memoryGiB = Double(node.inventory.memoryBytes) / Double(1 << 30)
            let evidence: [Recommendation.Evidence] = [
                .init(name: "hourly_price", value: price, unit: "usd"),
                .init(name: "node_gpus", value: Double(spec.gpus.count), unit: "gpus"),
                .init(name: "node_cores", value: cores, unit: "cores"),
            ]
            if let cheaper = cheaperOffer(catalog, pricing: pricing, price: price, cores: cores, memoryGiB: memoryGiB, spec: spec) {
                let savings = (price - cheaper.hourlyPrice) * Self.hoursPerMonth
                let place = "\(cheaper.offer.cloud) \(cheaper.offer.region) \(cheaper.offer.instanceType)"
                result.append(
                    Recommendation(
                        id: "cheaper-offer-" + Self.fingerprint("\(name)|\(place)|\(cheaper.hourlyPrice)"),
                        kind: .cheaperOffer,
                        title:
                            "Run \(name)'s work on \(place) at $\(CostCenter.dollars(cheaper.hourlyPrice))/h instead of $\(CostCenter.dollars(price))/h",
                        target: name,
                        evidence: evidence + [.init(name: "offer_hourly_price", value: cheaper.hourlyPrice, unit: "usd")],
                        effect: "about $\(CostCenter.dollars(savings)) a month less for the same GPUs, at least as many cores and as much memory",
                        monthlySavings: savings
                    )
                )
            }
            let jobs = placedJobs(on: name).compactMap { active[$0] }
            if pricing.capacity == "on-demand", !jobs.isEmpty, jobs.allSatisfy(\.task.preemptible), let type = pricing.instanceType,
                let region = pricing.region,
                let spot = catalog.price(cloud: pricing.cloud, region: region, zone: pricing.zone, instanceType: type, capacity: .spot)
            {
                let effective = spot * (1 + configuration.spotRestartOverhead)
                let savings = (price - effective) * Self.hoursPerMonth
                if savings > 0 {
                    result.append(
                        Recommendation(
                            id: "spot-" + Self.fingerprint("\(name)|\(spot)"),
                            kind: .spot,
                            title: "Use spot capacity for \(name): it runs only preemptible work",
                            target: name,
                            evidence: evidence + [
                                .init(name: "spot_hourly_price", value: spot, unit: "usd"),
                                .init(name: "restart_overhead", value: configuration.spotRestartOverhead, unit: "ratio"),
                                .init(name: "preemptible_jobs", value: Double(jobs.count), unit: "count"),
                            ],
                            effect:
                                "about $\(CostCenter.dollars(savings)) a month less, counting \(Int(configuration.spotRestartOverhead * 100)) % of the time lost to restarts after reclaims",
                            monthlySavings: savings
                        )
                    )
                }
            }
            if pricing.capacity == "on-demand", let open = openBilling[name], time - open.start >= configuration.commitmentBaselineSeconds,
                let type = pricing.instanceType, let region = pricing.region,
                let committed = commitments.committed(
                    cloud: pricing.cloud,
                    region: region,
                    instanceType: type,
                    vCPUs: Double(node.inventory.cpu.logicalCores),
                    memoryGiB: memoryGiB.rounded(),
                    gpus: spec.gpus.count
                ), committed.hourly < price
            {
                let savings = (price - committed.hourly) * Self.hoursPerMonth
                result.append(
                    Recommendation(
                        id: "commitment-" + Self.fingerprint("\(name)|\(committed.hourly)"),
                        kind: .commitment,
                        title: "Commit to \(name) (\(type)): it has run without a break for \(Int((time - open.start) / 86_400)) days",
                        target: name,
                        evidence: evidence + [
                            .init(name: "committed_hourly_price", value: committed.hourly, unit: "usd"),
                            .init(name: "billed_for", value: time - open.start, unit: "seconds"),
                        ],
                        effect: "\(committed.term): about $\(CostCenter.dollars(savings)) a month less while it keeps running",
                        monthlySavings: savings
                    )
                )
            }
        }
        return result
    }

    /// The cheapest offer elsewhere with the same GPUs (count, model, at least the memory of each; the catalog
    /// names memory variants apart, `A100` and `A100-80GB`) and at least the node's cores and memory, when it
    /// costs at least 5 % less.
    private func cheaperOffer(
        _ catalog: Catalog,
        pricing: NodePricing,
        price: Double,
        cores: Double,
        memoryGiB: Double,
        spec: NodeSpec
    ) -> PricedOffer? {
        var names: [String?] = [nil]
        var gpuMemoryGiB: AmountBound?
        if let gpu = spec.gpus.first {
            let gibibytes = Double(gpu.memoryBytes) / Double(1 << 30)
            names = [gpu.model, "\(gpu.model)-\(Int(gibibytes.rounded()))GB"]
            gpuMemoryGiB = AmountBound(gibibytes * 0.9, atLeast: true)
        }
        var best: PricedOffer?
        for name in names {
            var query = OfferQuery(
                gpu: name,
                gpuCount: spec.gpus.isEmpty ? nil : AmountBound(Double(spec.gpus.count), atLeast: false),
                cpus: AmountBound(cores, atLeast: true),
                // Discovered memory is a little under the nominal size.
                memoryGiB: AmountBound(memoryGiB * 0.9, atLeast: true),
                gpuMemoryGiB: gpuMemoryGiB,
                capacity: pricing.capacity == "spot" ? .spot : .onDemand,
                top: 5
            )
            query.cpuOnly = spec.gpus.isEmpty
            let found = catalog.search(query).first { offer in
                !(offer.offer.cloud == pricing.cloud && offer.offer.region == pricing.region && offer.offer.instanceType == pricing.instanceType)
            }
            if let found, found.hourlyPrice < best?.hourlyPrice ?? .infinity { best = found }
        }
        guard let best, best.hourlyPrice < price * 0.95 else { return nil }
        return best
    }

    /// The hourly price of a priced node, for savings estimates.
    func hourlyPrice(of node: String) -> Double? { nodes[node]?.inventory.pricing?.hourlyPrice }
}
