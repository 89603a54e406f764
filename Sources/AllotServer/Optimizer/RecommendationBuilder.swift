import AllotAPI
import AllotCore
import AllotLifecycle
import HTTPTypes
import Logging

/// Computes the optimizer's recommendations over a copy of the lifecycle (the scheduler, jobs, nodes and
/// billing periods as they were when it was taken), the nodes' idle times and the usage history, off the
/// control plane's actor.
struct RecommendationBuilder: Sendable {
    var lifecycle: Lifecycle
    let emptySince: [String: Double]
    let configuration: ServerConfiguration
    let recorder: UsageRecorder
    let logger: Logger

    var nodes: [String: NodeStatus] { lifecycle.nodes }
    var active: [JobID: Job] { lifecycle.active }
    var scheduler: Scheduler { lifecycle.scheduler }
    var openBilling: [String: NodeBillingPeriod] { lifecycle.openBilling }
    mutating func placedJobs(on node: String) -> [JobID] { lifecycle.placedJobs(on: node) }
}

extension RecommendationBuilder {
    /// What the optimizer suggests at `time`, as `identity` may see it: consolidation, drain and scale-down
    /// concern the whole cluster (admins only); idle and rightsizing concern tenants' jobs. Cost
    /// recommendations (cheaper offer, spot, commitment) are cluster-wide too. Not yet ranked or filtered by
    /// users' decisions (``Optimizer`` does that).
    mutating func all(at time: Double, for identity: Identity) async -> [Recommendation] {
        var result: [Recommendation] = []
        if identity.scope == nil {
            result += consolidations(at: time)
            result += drains()
            result += scaleDowns(at: time)
            result += costRecommendations(at: time)
        }
        result += await idleAllocations(at: time).filter { identity.sees($0.tenant ?? "") }
        result += await rightsizing(at: time).filter { identity.sees($0.tenant ?? "") }
        return result
    }

    // MARK: - Plans

    /// Plans for pending jobs that do not fit, oldest first (at most ten looked at).
    func consolidationPlans() -> [(target: Job, plan: ConsolidationPlan)] {
        let waiting = active.values.filter { $0.state == .pending && $0.cancelRequestedAt == nil }.sorted { $0.sequence < $1.sequence }
        return waiting.prefix(10).compactMap { job in scheduler.consolidationPlan(for: TaskID(job.id.rawValue)).map { (job, $0) } }
    }

    /// Plans that empty a lightly used node with the fewest moves (the three best).
    func drainPlans() -> [(target: Job?, plan: ConsolidationPlan)] {
        let report = scheduler.utilization()
        let light = report.nodes.filter { $0.overall < 0.5 }.map(\.node)
        let plans = light.compactMap { node in scheduler.drainPlan(node) }.filter { !$0.emptiedNodes.isEmpty }
        return plans.sorted { ($0.moves.count, $0.emptiedNodes.first?.rawValue ?? "") < ($1.moves.count, $1.emptiedNodes.first?.rawValue ?? "") }
            .prefix(3).map { (nil, $0) }
    }

    /// The same plan gets the same identifier: its kind, target and moves.
    static func identifier(of plan: ConsolidationPlan) -> String {
        let moves = plan.moves.map { "\($0.task)>\($0.to.map(\.node.rawValue).joined(separator: "+"))" }.joined(separator: ",")
        let kind = plan.target == nil ? "drain" : "consolidation"
        return "\(kind)-" + fingerprint("\(plan.target?.rawValue ?? plan.emptiedNodes.map(\.rawValue).joined(separator: "+"))|\(moves)")
    }

    static func fingerprint(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    func moves(_ plan: ConsolidationPlan) -> [Recommendation.Move] {
        plan.moves.map { Recommendation.Move(job: $0.task.rawValue, from: $0.from.map(\.node.rawValue), to: $0.to.map(\.node.rawValue)) }
    }

    private func consolidations(at time: Double) -> [Recommendation] {
        consolidationPlans().map { job, plan in
            let gpus = job.task.requests.deviceCount * job.task.gang
            return Recommendation(
                id: Self.identifier(of: plan),
                kind: .consolidation,
                title: "Move \(plan.moves.count) preemptible job\(plan.moves.count == 1 ? "" : "s") so that \(job.id) can start",
                target: job.id.rawValue,
                tenant: job.tenant,
                evidence: [
                    .init(name: "queued_gpus", value: Double(gpus), unit: "gpus"),
                    .init(name: "waiting", value: max(0, time - job.submittedAt), unit: "seconds"),
                    .init(name: "free_gpus", value: Double(plan.freeGPUsBefore), unit: "gpus"),
                    .init(name: "moves", value: Double(plan.moves.count), unit: "count"),
                ],
                effect:
                    "\(job.id) starts now on \(Set(plan.targetPlacements.map(\.node.rawValue)).sorted().joined(separator: ", ")) instead of waiting; "
                    + "\(plan.moves.count) job\(plan.moves.count == 1 ? "" : "s") restart elsewhere after a \(Quantity.format(configuration.gracePeriodSeconds)) s grace period",
                freesNodes: plan.emptiedNodes.count,
                moves: moves(plan),
                startsOn: plan.targetPlacements.map(\.node.rawValue)
            )
        }
    }

    private func drains() -> [Recommendation] {
        drainPlans().map { _, plan in
            let node = plan.emptiedNodes.first?.rawValue ?? ""
            let inventory = nodes[node]?.inventory
            return Recommendation(
                id: Self.identifier(of: plan),
                kind: .drain,
                title: "Move \(plan.moves.count) job\(plan.moves.count == 1 ? "" : "s") off \(node) so that it can be released",
                target: node,
                evidence: [
                    .init(name: "moves", value: Double(plan.moves.count), unit: "count"),
                    .init(name: "node_gpus", value: Double(inventory?.gpus.count ?? 0), unit: "gpus"),
                    .init(name: "node_cores", value: Double(inventory?.cpu.logicalCores ?? 0), unit: "cores"),
                ],
                effect: "\(node) runs nothing and can be released (cordon it first so nothing new lands there)",
                freesGPUs: Double(inventory?.gpus.count ?? 0),
                freesNodes: 1,
                freesCPUCores: Double(inventory?.cpu.logicalCores ?? 0),
                freesMemoryBytes: Double(inventory?.memoryBytes ?? 0),
                moves: moves(plan),
                monthlySavings: hourlyPrice(of: node).map { $0 * Self.hoursPerMonth }
            )
        }
    }

    private func scaleDowns(at time: Double) -> [Recommendation] {
        emptySince.filter { time - $0.value >= configuration.scaleDownAfterSeconds }.sorted { $0.key < $1.key }.compactMap { name, since in
            guard let node = nodes[name], node.state == .ready else { return nil }
            return Recommendation(
                id: "scale-down-" + Self.fingerprint("\(name)|\(since)"),
                kind: .scaleDown,
                title: "Release \(name): it has run nothing for \(Int((time - since) / 60)) minutes",
                target: name,
                evidence: [
                    .init(name: "empty_for", value: time - since, unit: "seconds"),
                    .init(name: "node_gpus", value: Double(node.inventory.gpus.count), unit: "gpus"),
                    .init(name: "node_cores", value: Double(node.inventory.cpu.logicalCores), unit: "cores"),
                ],
                effect: "one node fewer with no work lost",
                freesGPUs: Double(node.inventory.gpus.count),
                freesNodes: 1,
                freesCPUCores: Double(node.inventory.cpu.logicalCores),
                freesMemoryBytes: Double(node.inventory.memoryBytes),
                monthlySavings: hourlyPrice(of: name).map { $0 * Self.hoursPerMonth }
            )
        }
    }

    // MARK: - From the usage history

    private func idleAllocations(at time: Double) async -> [Recommendation] {
        var rule = configuration.idle
        // Three missed reports are a gap; fewer are not (the agent reports every scan interval).
        rule.maxGap = max(rule.maxGap, 3 * configuration.scanIntervalSeconds)
        var result: [Recommendation] = []
        let running = active.values.filter { $0.state == .running && $0.task.requests.deviceCount > 0 }.sorted { $0.sequence < $1.sequence }
        for job in running {
            let from = time - rule.window - rule.maxGap
            let tier = configuration.history.tier(covering: from, now: time)
            guard let points = await historyPoints(SeriesName.job(job.id.rawValue, "gpu.utilization"), tier: tier, from: from, to: time),
                let finding = UsageDetectors.idle(points, now: time, rule: rule)
            else { continue }
            let gpus = Double(job.task.requests.deviceCount * job.task.gang)
            result.append(
                Recommendation(
                    id: "idle-" + Self.fingerprint("\(job.id)|\(job.attempt)"),
                    kind: .idle,
                    title: "\(job.id) holds \(Int(gpus)) GPU\(gpus == 1 ? "" : "s") that stay under \(ControlPlane.percent(rule.threshold)) busy",
                    target: job.id.rawValue,
                    tenant: job.tenant,
                    evidence: [
                        .init(name: "idle_for", value: time - finding.since, unit: "seconds"),
                        .init(name: "mean_utilization", value: finding.mean, unit: "ratio"),
                        .init(name: "max_utilization", value: finding.max, unit: "ratio"),
                        .init(name: "samples", value: Double(finding.samples), unit: "count"),
                    ],
                    effect: "stopping or shrinking it frees \(Int(gpus)) GPU\(gpus == 1 ? "" : "s") for queued work",
                    freesGPUs: gpus,
                    monthlySavings: gpuShareCost(job).map { $0 * Self.hoursPerMonth }
                )
            )
        }
        return result
    }

    /// Per tenant and job name (or id): requests against the p95 of what the jobs used over the window.
    private func rightsizing(at time: Double) async -> [Recommendation] {
        let window = configuration.rightsizingWindowSeconds
        let from = time - window
        let tier = configuration.history.tier(covering: from, now: time)
        var groups: [String: [Job]] = [:]
        for job in active.values where job.state == .running { groups["\(job.tenant)/\(job.name ?? job.id.rawValue)", default: []].append(job) }
        var result: [Recommendation] = []
        for key in groups.keys.sorted() {
            let jobs = groups[key]!.sorted { $0.sequence < $1.sequence }
            let task = jobs[0].task
            var used: [String: [Double]] = [:]
            for job in jobs {
                for metric in ["cpu.cores", "memory.used_bytes", "gpu.memory.used_bytes"] {
                    let points = await historyPoints(SeriesName.job(job.id.rawValue, metric), tier: tier, from: from, to: time) ?? []
                    used[metric, default: []] += points.map { tier == 0 ? $0.mean : $0.max }
                }
            }
            let wholeGPU = jobs[0].placements?.first.flatMap { placement in
                nodes[placement.node.rawValue]?.inventory.gpus.first { $0.index == placement.gpuIndices.first }?.memoryTotalBytes
            }
            let checks: [(metric: String, name: String, requested: Double?, step: Double, unit: String)] = [
                ("cpu.cores", "cpu", Double(task.requests.resources.cpuMillis) / 1000, 0.25, "cores"),
                ("memory.used_bytes", "memory", Double(task.requests.resources.memoryBytes), 256 * 1_048_576, "bytes"),
                ("gpu.memory.used_bytes", "gpu_memory", (task.requests.gpuMemoryBytes ?? wholeGPU).map(Double.init), 1_073_741_824, "bytes"),
            ]
            var evidence: [Recommendation.Evidence] = []
            var changes: [String] = []
            var cores = 0.0
            var bytes = 0.0
            for check in checks {
                guard let requested = check.requested, task.requests.deviceCount > 0 || check.name != "gpu_memory",
                    let finding = UsageDetectors.rightsize(requested: requested, used: used[check.metric] ?? [], step: check.step)
                else { continue }
                evidence += [
                    .init(name: "\(check.name)_requested", value: requested, unit: check.unit),
                    .init(name: "\(check.name)_p95", value: finding.p95, unit: check.unit),
                    .init(name: "\(check.name)_suggested", value: finding.suggested, unit: check.unit),
                ]
                let replicas = Double(jobs.reduce(0) { $0 + $1.task.gang })
                switch check.name {
                case "cpu":
                    changes.append("cpu \(Quantity.format(requested)) → \(Quantity.format(finding.suggested))")
                    cores += (requested - finding.suggested) * replicas
                case "memory":
                    changes.append("memory \(Quantity.formatBytes(Int64(requested))) → \(Quantity.formatBytes(Int64(finding.suggested)))")
                    bytes += (requested - finding.suggested) * replicas
                default:
                    changes.append(
                        "gpuMemory \(Quantity.formatBytes(Int64(requested))) → \(Quantity.formatBytes(Int64(finding.suggested))) per GPU (shares a GPU)"
                    )
                }
            }
            guard !changes.isEmpty else { continue }
            let samples = (used["cpu.cores"]?.count ?? 0) + (used["memory.used_bytes"]?.count ?? 0) + (used["gpu.memory.used_bytes"]?.count ?? 0)
            evidence.append(.init(name: "jobs", value: Double(jobs.count), unit: "count"))
            evidence.append(.init(name: "samples", value: Double(samples), unit: "count"))
            result.append(
                Recommendation(
                    id: "rightsizing-" + Self.fingerprint("\(key)|\(changes.joined(separator: ";"))"),
                    kind: .rightsizing,
                    title: "Lower the requests of \(key): \(changes.joined(separator: ", "))",
                    target: key,
                    tenant: jobs[0].tenant,
                    evidence: evidence,
                    effect:
                        "p95 use over the last \(DurationText.format(window)) plus 20 %; frees \(Quantity.format(cores)) cores and \(Quantity.formatBytes(Int64(bytes))) of memory for other work",
                    freesCPUCores: cores,
                    freesMemoryBytes: bytes
                )
            )
        }
        return result
    }

    /// What a job's GPUs cost per hour: each node's price times the job's share of its GPUs.
    func gpuShareCost(_ job: Job) -> Double? {
        var total = 0.0
        for placement in job.placements ?? [] {
            guard let price = hourlyPrice(of: placement.node.rawValue), let gpus = nodes[placement.node.rawValue]?.inventory.gpus.count, gpus > 0
            else { return nil }
            total += price * Double(placement.gpuIndices.count) / Double(gpus)
        }
        return total
    }

    /// A series' points for a recommendation; a history that cannot be read leaves the recommendation out.
    func historyPoints(_ series: String, tier: Int, from: Double, to: Double) async -> [HistoryPoint]? {
        do { return try await recorder.points(series, tier: tier, from: from, to: to) } catch {
            logger.warning("usage history not read", metadata: ["series": "\(series)", "error": "\(error.message)"])
            return nil
        }
    }
}
