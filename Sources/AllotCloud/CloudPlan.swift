/// Several tasks to place in the clouds at once: each needs `count` machines that fit its request; tasks that
/// share a `group` must all land in one region of one cloud (a gang talking over the fabric).
public struct CloudPlanSpec: Sendable, Equatable, Codable {
    public struct Task: Sendable, Equatable, Codable {
        public var name: String
        /// Machines of this shape.
        public var count: Int
        /// Accelerators per machine: `A100:8`.
        public var gpus: String?
        public var cpu: String?
        public var memory: String?
        public var gpuMemory: String?
        /// Tasks with the same group share a cloud and region.
        public var group: String?
        /// The task's data and where it lives: moving it out of its region costs egress, charged once per task
        /// (copied to the chosen region, then read there).
        public var inputs: [DataLocation]

        public init(
            name: String,
            count: Int = 1,
            gpus: String? = nil,
            cpu: String? = nil,
            memory: String? = nil,
            gpuMemory: String? = nil,
            group: String? = nil,
            inputs: [DataLocation] = []
        ) {
            self.name = name
            self.count = count
            self.gpus = gpus
            self.cpu = cpu
            self.memory = memory
            self.gpuMemory = gpuMemory
            self.group = group
            self.inputs = inputs
        }

        enum CodingKeys: String, CodingKey { case name, count, gpus, cpu, memory, gpuMemory, group, inputs }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            count = try container.decodeIfPresent(Int.self, forKey: .count) ?? 1
            gpus = try container.decodeIfPresent(String.self, forKey: .gpus)
            cpu = try container.decodeIfPresent(String.self, forKey: .cpu)
            memory = try container.decodeIfPresent(String.self, forKey: .memory)
            gpuMemory = try container.decodeIfPresent(String.self, forKey: .gpuMemory)
            group = try container.decodeIfPresent(String.self, forKey: .group)
            inputs = try container.decodeIfPresent([DataLocation].self, forKey: .inputs) ?? []
        }
    }

    public var tasks: [Task]
    /// Whether spot capacity may be used (the cheaper of on-demand and spot per offer).
    public var spot: Bool
    /// How long the work runs; costs are for this many hours.
    public var hours: Double
    /// Only these clouds, when given.
    public var clouds: [String]?
    /// How many alternatives to list for failover.
    public var alternatives: Int

    /// Bounds on what one plan may ask for.
    public static let maxTasks = 1_000
    public static let maxCount = 100_000
    public static let maxHours = 87_600.0
    public static let maxAlternatives = 100

    public init(tasks: [Task], spot: Bool = false, hours: Double = 1, clouds: [String]? = nil, alternatives: Int = 3) {
        self.tasks = tasks
        self.spot = spot
        self.hours = hours
        self.clouds = clouds
        self.alternatives = alternatives
    }

    enum CodingKeys: String, CodingKey { case tasks, spot, hours, clouds, alternatives }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tasks = try container.decode([Task].self, forKey: .tasks)
        spot = try container.decodeIfPresent(Bool.self, forKey: .spot) ?? false
        hours = try container.decodeIfPresent(Double.self, forKey: .hours) ?? 1
        clouds = try container.decodeIfPresent([String].self, forKey: .clouds)
        alternatives = try container.decodeIfPresent(Int.self, forKey: .alternatives) ?? 3
    }
}

/// The chosen offers and what they cost.
public struct CloudPlan: Sendable, Equatable, Codable {
    public struct Choice: Sendable, Equatable, Codable {
        public var task: String
        public var count: Int
        public var offer: PricedOffer
        /// `count × hourly price × hours + egressCost`.
        public var cost: Double
        /// Moving the task's inputs to the offer's region.
        public var egressCost: Double
    }

    /// One way to place everything, cheapest first.
    public struct Option: Sendable, Equatable, Codable {
        public var choices: [Choice]
        public var hourlyCost: Double
        /// `hourlyCost × hours`.
        public var computeCost: Double
        public var egressCost: Double
        /// `computeCost + egressCost`.
        public var totalCost: Double
    }

    public var best: Option
    /// The next cheapest options, each moving one part (a group, or a task on its own) to its next region with
    /// the rest as in the best, for failover.
    public var alternatives: [Option]
    /// How the optimum was established.
    public var method: String
}

extension Catalog {
    /// The minimum-cost placement of `spec`. Exact: tasks without a group are independent, so each takes its
    /// cheapest offer; a group's cost in a region is the sum of its tasks' cheapest offers there, so the best
    /// region is found by visiting every region once. The total is the sum over independent parts. A task with
    /// inputs pays `egress` for moving them to each candidate region, so its data can keep it where it is.
    public func plan(_ spec: CloudPlanSpec, egress: EgressPrices? = nil) throws(CatalogError) -> CloudPlan {
        guard !spec.tasks.isEmpty else { throw CatalogError("tasks: at least one task is needed") }
        guard spec.tasks.count <= CloudPlanSpec.maxTasks else { throw CatalogError("tasks: at most \(CloudPlanSpec.maxTasks) tasks a plan") }
        guard spec.hours > 0, spec.hours <= CloudPlanSpec.maxHours else {
            throw CatalogError("hours: must be positive and at most \(Int(CloudPlanSpec.maxHours)) (ten years)")
        }
        guard (0...CloudPlanSpec.maxAlternatives).contains(spec.alternatives) else {
            throw CatalogError("alternatives: 0 to \(CloudPlanSpec.maxAlternatives)")
        }
        var queries: [OfferQuery] = []
        for task in spec.tasks {
            guard (1...CloudPlanSpec.maxCount).contains(task.count) else {
                throw CatalogError("tasks.\(task.name).count: must be 1 to \(CloudPlanSpec.maxCount) machines")
            }
            var parameters: [String: String] = [:]
            parameters["gpus"] = task.gpus
            parameters["cpu"] = task.cpu
            parameters["memory"] = task.memory
            parameters["gpuMemory"] = task.gpuMemory
            var query = try OfferQuery(parameters: parameters)
            query.clouds = spec.clouds.map { Set($0.map { $0.lowercased() }) }
            queries.append(query)
        }
        // Each task's cheapest offer per (cloud, region), at the cheaper capacity type allowed.
        var perRegion: [[String: PricedOffer]] = []
        for query in queries {
            var best: [String: PricedOffer] = [:]
            for priced in candidates(query, spot: spec.spot) {
                let key = priced.offer.cloud + "/" + priced.offer.region
                if let known = best[key], !Self.cheaper(priced, than: known) { continue }
                best[key] = priced
            }
            perRegion.append(best)
        }
        for (index, task) in spec.tasks.enumerated() where perRegion[index].isEmpty {
            throw CatalogError("tasks.\(task.name): no offer fits")
        }
        // Parts: each group, and each ungrouped task alone.
        var parts: [[Int]] = []
        var groupIndex: [String: Int] = [:]
        for (index, task) in spec.tasks.enumerated() {
            if let group = task.group {
                if let known = groupIndex[group] {
                    parts[known].append(index)
                    continue
                }
                groupIndex[group] = parts.count
            }
            parts.append([index])
        }
        // Each task's egress to each of its regions (none without inputs).
        var prices = egress ?? EgressPrices(rates: [:])
        if egress == nil, spec.tasks.contains(where: { !$0.inputs.isEmpty }) { prices = try EgressPrices.bundled() }
        var egressTo: [[String: Double]] = []
        for (index, task) in spec.tasks.enumerated() {
            var costs: [String: Double] = [:]
            if !task.inputs.isEmpty {
                for (key, priced) in perRegion[index] {
                    costs[key] = try prices.cost(of: task.inputs, toCloud: priced.offer.cloud, region: priced.offer.region)
                }
            }
            egressTo.append(costs)
        }
        // Per part, every region where all its tasks fit, ranked by what the work costs there over its hours.
        var ranked: [[(total: Double, region: String)]] = []
        for part in parts {
            var regions = Set(perRegion[part[0]].keys)
            for index in part.dropFirst() { regions.formIntersection(perRegion[index].keys) }
            guard !regions.isEmpty else {
                throw CatalogError("group \(spec.tasks[part[0]].group ?? spec.tasks[part[0]].name): no single region offers all of its tasks")
            }
            let costs = regions.map { region in
                (
                    total: part.reduce(0.0) {
                        $0 + Double(spec.tasks[$1].count) * perRegion[$1][region]!.hourlyPrice * spec.hours + (egressTo[$1][region] ?? 0)
                    },
                    region: region
                )
            }
            ranked.append(costs.sorted { ($0.total, $0.region) < ($1.total, $1.region) })
        }
        func option(_ picks: [Int]) -> CloudPlan.Option {
            var chosen: [(index: Int, choice: CloudPlan.Choice)] = []
            for (partIndex, part) in parts.enumerated() {
                let region = ranked[partIndex][picks[partIndex]].region
                for index in part {
                    let offer = perRegion[index][region]!
                    let count = spec.tasks[index].count
                    let moved = egressTo[index][region] ?? 0
                    let compute = Double(count) * offer.hourlyPrice * spec.hours
                    chosen.append((index, .init(task: spec.tasks[index].name, count: count, offer: offer, cost: compute + moved, egressCost: moved)))
                }
            }
            let choices = chosen.sorted { $0.index < $1.index }.map(\.choice)
            let hourly = choices.reduce(0) { $0 + Double($1.count) * $1.offer.hourlyPrice }
            let moved = choices.reduce(0) { $0 + $1.egressCost }
            return .init(
                choices: choices,
                hourlyCost: hourly,
                computeCost: hourly * spec.hours,
                egressCost: moved,
                totalCost: hourly * spec.hours + moved
            )
        }
        let best = option(Array(repeating: 0, count: parts.count))
        // Failover: for each part in turn, its next regions with the others at their best, cheapest first.
        var alternatives: [CloudPlan.Option] = []
        for (partIndex, part) in ranked.enumerated() where part.count > 1 {
            for pick in 1..<min(part.count, spec.alternatives + 1) {
                var picks = Array(repeating: 0, count: parts.count)
                picks[partIndex] = pick
                alternatives.append(option(picks))
            }
        }
        alternatives.sort { $0.totalCost < $1.totalCost }
        return CloudPlan(
            best: best,
            alternatives: Array(alternatives.prefix(spec.alternatives)),
            method: "exact: \(parts.count) independent part(s); each part's regions visited in full (\(ranked.map(\.count).reduce(0, +)) regions)"
        )
    }

    /// Every offer fitting `query`, at on-demand price, and at spot too when allowed.
    func candidates(_ query: OfferQuery, spot: Bool) -> [PricedOffer] {
        var result = matches(query)
        if spot {
            var spotQuery = query
            spotQuery.capacity = .spot
            result += matches(spotQuery)
        }
        return result
    }

    static func cheaper(_ left: PricedOffer, than right: PricedOffer) -> Bool {
        if left.hourlyPrice != right.hourlyPrice { return left.hourlyPrice < right.hourlyPrice }
        return (left.offer.zone ?? "", left.offer.instanceType, left.capacity.rawValue) < (
            right.offer.zone ?? "", right.offer.instanceType, right.capacity.rawValue
        )
    }
}
