import Foundation

/// What one waiting job needs from new machines: `replicas` copies of one shape.
public struct InstanceDemand: Sendable, Equatable {
    public var job: String
    public var replicas: Int
    public var vCPUs: Double
    public var memoryGiB: Double
    /// Whole devices per replica (a share of a device counts as one).
    public var gpus: Int
    public var gpuModel: String?
    public var gpuMemoryGiB: Double?
    /// May run on spot capacity (the job is preemptible).
    public var spotAllowed: Bool
    /// Where the job's inputs live: each replica stages them onto its machine, paying egress when they leave
    /// their region.
    public var data: [DataLocation]
    /// How long a replica is expected to run, to weigh hourly prices against the one-time egress.
    public var hours: Double

    public init(
        job: String,
        replicas: Int = 1,
        vCPUs: Double,
        memoryGiB: Double,
        gpus: Int = 0,
        gpuModel: String? = nil,
        gpuMemoryGiB: Double? = nil,
        spotAllowed: Bool = false,
        data: [DataLocation] = [],
        hours: Double = 1
    ) {
        self.job = job
        self.replicas = replicas
        self.vCPUs = vCPUs
        self.memoryGiB = memoryGiB
        self.gpus = gpus
        self.gpuModel = gpuModel
        self.gpuMemoryGiB = gpuMemoryGiB
        self.spotAllowed = spotAllowed
        self.data = data
        self.hours = hours
    }

    var shape: String {
        let places = data.map { "\($0.cloud)/\($0.region)/\($0.bytes)" }.joined(separator: ",")
        return
            "\(vCPUs)|\(memoryGiB)|\(gpus)|\(gpuModel?.lowercased() ?? "")|\(gpuMemoryGiB ?? 0)|\(spotAllowed)|\(places)|\(data.isEmpty ? 0 : hours)"
    }

    /// How many replicas of this shape one machine of `offer` holds.
    func replicas(on offer: CloudOffer) -> Int {
        if gpus > 0 {
            guard let model = offer.gpu, offer.gpuCount >= Double(gpus), !model.hasPrefix("tpu") else { return 0 }
            if let gpuModel, model.lowercased() != gpuModel.lowercased() { return 0 }
            if let gpuMemoryGiB, (offer.gpuMemoryGiB ?? 0) < gpuMemoryGiB { return 0 }
        }
        var fit = Int.max
        if vCPUs > 0 { fit = min(fit, Int((offer.vCPUs / vCPUs).rounded(.down))) }
        if memoryGiB > 0 { fit = min(fit, Int((offer.memoryGiB / memoryGiB).rounded(.down))) }
        if gpus > 0 { fit = min(fit, Int((offer.gpuCount / Double(gpus)).rounded(.down))) }
        return fit == Int.max ? 1 : max(0, fit)
    }
}

/// Where and what the autoscaler may buy.
public struct ScaleOutLimits: Sendable, Equatable {
    public var cloud: String
    public var regions: [String]
    /// Exact instance types allowed; with `families`, either admits a type. Both empty: any type.
    public var instanceTypes: [String]
    /// Families (`g5` admits `g5.xlarge`).
    public var families: [String]
    public var spot: Bool
    /// Machines that may still be added.
    public var nodesLeft: Int
    /// USD per hour that may still be added.
    public var spendLeft: Double

    public init(
        cloud: String,
        regions: [String],
        instanceTypes: [String] = [],
        families: [String] = [],
        spot: Bool = false,
        nodesLeft: Int,
        spendLeft: Double
    ) {
        self.cloud = cloud
        self.regions = regions
        self.instanceTypes = instanceTypes
        self.families = families
        self.spot = spot
        self.nodesLeft = nodesLeft
        self.spendLeft = spendLeft
    }

    func admits(_ offer: CloudOffer) -> Bool {
        guard offer.cloud == cloud, regions.contains(offer.region) else { return false }
        if instanceTypes.isEmpty && families.isEmpty { return true }
        let family = offer.instanceType.split(separator: ".").first.map(String.init) ?? offer.instanceType
        return instanceTypes.contains(offer.instanceType) || families.contains(family)
    }
}

/// One machine to buy, the jobs it is for, and the offers it beat.
public struct PlannedInstance: Sendable, Equatable, Codable {
    public var offer: PricedOffer
    public var jobs: [String]
    /// The next cheapest offers for the same work, per replica, for the record.
    public var alternatives: [PricedOffer]

    public init(offer: PricedOffer, jobs: [String], alternatives: [PricedOffer]) {
        self.offer = offer
        self.jobs = jobs
        self.alternatives = alternatives
    }
}

/// The machines to buy for waiting work, and why the rest gets none.
public struct ScaleOutPlan: Sendable, Equatable {
    public var instances: [PlannedInstance]
    /// Jobs left without a machine, with the reason.
    public var refused: [String: String]
    /// Fewest machines any choice of allowed offers could use for the planned work (a bound from the largest
    /// machine per shape).
    public var lowerBound: Int
}

extension Catalog {
    /// The cheapest machines for `demands`, oldest first: per shape, the offer with the lowest price per replica
    /// takes full machines and the cheapest offer holding the remainder takes the rest; spot only for jobs that
    /// allow it. Stops adding machines at `limits.nodesLeft` or `limits.spendLeft`, naming the limit on each job
    /// left over. Jobs with inputs weigh each offer by its price over the job's hours plus the egress of moving
    /// the inputs to the offer's region (`egress`; data in a cloud it has no price for moves at no charge, the
    /// same everywhere), so a job can stay beside its data.
    public func scaleOut(_ demands: [InstanceDemand], limits: ScaleOutLimits, egress: EgressPrices? = nil) -> ScaleOutPlan {
        let candidates = offers.filter(limits.admits)
        var plan = ScaleOutPlan(instances: [], refused: [:], lowerBound: 0)
        var nodesLeft = limits.nodesLeft
        var spendLeft = limits.spendLeft
        var groups: [(shape: String, demands: [InstanceDemand])] = []
        var index: [String: Int] = [:]
        for demand in demands {
            if let at = index[demand.shape] {
                groups[at].demands.append(demand)
            } else {
                index[demand.shape] = groups.count
                groups.append((demand.shape, [demand]))
            }
        }
        for group in groups {
            let sample = group.demands[0]
            // (priced offer, replicas per machine), cheapest per replica first.
            var priced: [(PricedOffer, Int)] = []
            for offer in candidates {
                let fit = sample.replicas(on: offer)
                guard fit > 0 else { continue }
                if let price = offer.price { priced.append((PricedOffer(offer: offer, capacity: .onDemand, hourlyPrice: price), fit)) }
                if limits.spot, sample.spotAllowed, let spot = offer.spotPrice {
                    priced.append((PricedOffer(offer: offer, capacity: .spot, hourlyPrice: spot), fit))
                }
            }
            // Per replica: the machine's share over the job's hours, plus moving the job's inputs there.
            func weight(_ entry: (PricedOffer, Int)) -> Double {
                let (cloud, region) = (entry.0.offer.cloud, entry.0.offer.region)
                let moved = egress.flatMap { try? $0.cost(of: sample.data, toCloud: cloud, region: region) } ?? 0  // unpriced: 0
                return entry.0.hourlyPrice * (sample.data.isEmpty ? 1 : sample.hours) / Double(entry.1) + moved
            }
            priced.sort { lhs, rhs in
                let (left, right) = (weight(lhs), weight(rhs))
                if left != right { return left < right }
                if lhs.0.hourlyPrice != rhs.0.hourlyPrice { return lhs.0.hourlyPrice < rhs.0.hourlyPrice }
                return (lhs.0.offer.region, lhs.0.offer.instanceType) < (rhs.0.offer.region, rhs.0.offer.instanceType)
            }
            guard let best = priced.first else {
                for demand in group.demands {
                    plan.refused[demand.job] =
                        "no allowed \(limits.cloud) instance type in \(limits.regions.joined(separator: ", ")) fits \(Self.describe(demand))"
                }
                continue
            }
            // Replicas, oldest job first; each machine takes up to its fit.
            var queue: [String] = group.demands.flatMap { Array(repeating: $0.job, count: max(1, $0.replicas)) }
            let largest = priced.map(\.1).max() ?? 1
            plan.lowerBound += (queue.count + largest - 1) / largest
            while !queue.isEmpty {
                var choice = best
                if queue.count < best.1 {
                    // The cheapest machine that holds the remainder whole.
                    let count = queue.count
                    choice = priced.filter { $0.1 >= count }.min { weight(($0.0, count)) < weight(($1.0, count)) } ?? best
                }
                let taken = Array(queue.prefix(choice.1))
                var problem: String?
                if nodesLeft < 1 {
                    problem = "the autoscaler's max nodes is reached"
                } else if choice.0.hourlyPrice > spendLeft + 1e-9 {
                    let left = String(format: "%.4f", max(0, spendLeft))
                    let price = String(format: "%.4f", choice.0.hourlyPrice)
                    problem =
                        "the autoscaler's max spend per hour leaves $\(left)/h; the cheapest fit, \(choice.0.offer.instanceType) in \(choice.0.offer.region), costs $\(price)/h"
                }
                if let problem {
                    for job in queue where plan.refused[job] == nil { plan.refused[job] = problem }
                    break
                }
                nodesLeft -= 1
                spendLeft -= choice.0.hourlyPrice
                var jobs: [String] = []
                for job in taken where !jobs.contains(job) { jobs.append(job) }
                let others = priced.lazy.filter { $0.0 != choice.0 }.prefix(3).map(\.0)
                plan.instances.append(PlannedInstance(offer: choice.0, jobs: jobs, alternatives: Array(others)))
                queue.removeFirst(taken.count)
            }
        }
        // A gang split by a limit holds nothing useful: its machines are not bought.
        let refusedJobs = Set(plan.refused.keys)
        plan.instances = plan.instances.filter { $0.jobs.allSatisfy { !refusedJobs.contains($0) } }
        return plan
    }

    static func describe(_ demand: InstanceDemand) -> String {
        var parts = ["\(Self.number(demand.vCPUs)) vCPUs", "\(Self.number(demand.memoryGiB)) GiB"]
        if demand.gpus > 0 {
            parts.append("\(demand.gpus) × \(demand.gpuModel ?? "GPU")" + (demand.gpuMemoryGiB.map { " of \(Self.number($0)) GiB" } ?? ""))
        }
        return parts.joined(separator: ", ")
    }

}
