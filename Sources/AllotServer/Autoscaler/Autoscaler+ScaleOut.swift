import AllotAPI
import AllotCloud
import AllotCore
import Foundation
import Logging

extension Autoscaler {
    /// Plans machines for the jobs that have waited past the delay for capacity no node has, within the file's
    /// limits; records the intents durably, then launches them.
    func scaleOut() async {
        let time = now()
        let waiting = await plane.jobsWaitingForCapacity(submittedBefore: time - configuration.pendingSeconds)
        let waitingIDs = Set(waiting.map(\.id))
        decisions = decisions.filter { waitingIDs.contains($0.key) }
        // Jobs a machine is on its way for, or joined for in the last minute, wait for it.
        let covered = Set(
            intents.values.filter { intent in
                [.launching, .booting].contains(intent.state) || (intent.state == .joined && time - (intent.joinedAt ?? 0) < 60)
            }
            .flatMap(\.jobs)
        )
        let demands = waiting.filter { !covered.contains($0.id.rawValue) }.map { Self.demand($0, configuration: configuration) }
        guard !demands.isEmpty else { return }
        let live = intents.values.filter { $0.state.isLive }
        let limits = ScaleOutLimits(
            cloud: provider.name,
            regions: configuration.regions,
            instanceTypes: configuration.instanceTypes,
            families: configuration.instanceFamilies,
            spot: configuration.spot,
            nodesLeft: configuration.maxNodes - live.count,
            spendLeft: configuration.maxSpendPerHour - live.map(\.hourlyPrice).reduce(0, +)
        )
        let plan = catalog.scaleOut(demands, limits: limits, egress: egress)
        for (job, reason) in plan.refused { decisions[JobID(job)] = "no machine bought: \(reason)" }
        guard !plan.instances.isEmpty else { return }
        var planned: [LaunchIntent] = []
        for instance in plan.instances {
            let offer = instance.offer
            let intent = LaunchIntent(
                id: "intent-" + UUID().uuidString.lowercased(),
                state: .launching,
                provider: provider.name,
                region: offer.offer.region,
                instanceType: offer.offer.instanceType,
                spot: offer.capacity == .spot,
                hourlyPrice: offer.hourlyPrice,
                jobs: instance.jobs,
                alternatives: instance.alternatives.map {
                    "\($0.offer.instanceType) \($0.capacity == .spot ? "spot " : "")\($0.offer.region) " + String(format: "$%.4f/h", $0.hourlyPrice)
                },
                createdAt: time
            )
            intents[intent.id] = intent
            planned.append(intent)
            for job in instance.jobs { decisions[JobID(job)] = "launching \(intent.instanceType) for it (\(intent.id))" }
        }
        // Durable before the cloud hears of it.
        saveLedger()
        await withTaskGroup(of: Void.self) { group in
            for intent in planned { group.addTask { await self.launch(intent) } }
        }
    }

    /// Calls `RunInstances` for a recorded intent and records the outcome. An outcome that cannot be known
    /// (the call failed in flight) leaves the intent `launching` and the autoscaler unreconciled: the next pass
    /// looks for the instance by its tag before trying again.
    func launch(_ recorded: LaunchIntent) async {
        var intent = recorded
        let request: LaunchRequest
        do {
            request = try await launchRequest(for: intent)
        } catch {
            return fail(&intent, error)
        }
        do {
            let instances = try await provider.launch(request)
            guard let instance = instances.first else {
                return fail(&intent, CloudProviderError(code: "NoInstance", message: "RunInstances answered without an instance"))
            }
            intent.state = .booting
            intent.instanceID = instance.id
            intent.launchedAt = now()
            record(intent, "launched \(instance.id) \(intent.why)")
            saveLedger()
            for job in intent.jobs { decisions[JobID(job)] = "bought \(instance.id) \(intent.why)" }
            await audit("launch", instance.id, intent.why)
        } catch  where error.retryable {
            reconciled = false
            for job in intent.jobs { decisions[JobID(job)] = "launching \(intent.instanceType): \(error); checking the cloud before retrying" }
            logger.warning("autoscaler: launch of \(intent.id) uncertain: \(error)")
        } catch {
            fail(&intent, error)
        }
    }

    private func fail(_ intent: inout LaunchIntent, _ error: CloudProviderError) {
        intent.state = .failed
        intent.endedAt = now()
        intent.reason = "\(provider.name) refused: \(error)"
        record(intent, intent.reason!)
        saveLedger()
        for job in intent.jobs {
            decisions[JobID(job)] = "launch of \(intent.instanceType) in \(intent.region) refused by \(provider.name): \(error)"
        }
    }

    func launchRequest(for intent: LaunchIntent) async throws(CloudProviderError) -> LaunchRequest {
        let image: String
        if let configured = configuration.image {
            image = configured
        } else if let known = images[intent.region] {
            image = known
        } else {
            let arch = catalog.offers.first { $0.instanceType == intent.instanceType }?.arch ?? "x86_64"
            image = try await provider.defaultImage(region: intent.region, arch: arch)
            images[intent.region] = image
        }
        return LaunchRequest(
            region: intent.region,
            instanceType: intent.instanceType,
            image: image,
            subnet: configuration.subnet,
            securityGroups: configuration.securityGroups,
            spot: intent.spot,
            count: 1,
            userData: BootScript.render(intent: intent, configuration: configuration, joinToken: joinToken),
            tags: [ProvisioningTags.cluster: cluster, ProvisioningTags.intent: intent.id, ProvisioningTags.name: "allot-\(cluster)"],
            clientToken: intent.id
        )
    }

    /// What a waiting job asks of a new machine.
    /// What a job needs from a new machine; its inputs in known places (`dataLocations`) come with their size
    /// and its estimate (an hour without one), so egress is weighed against the machine's price.
    static func demand(_ job: Job, configuration: AutoscalerConfiguration) -> InstanceDemand {
        let requests = job.task.requests
        let gib = Double(1 << 30)
        let data = (job.inputs ?? []).compactMap { input in
            configuration.location(of: input.url).map { DataLocation(cloud: $0.cloud, region: $0.region, bytes: input.bytes ?? 0) }
        }
        return InstanceDemand(
            job: job.id.rawValue,
            replicas: job.task.gang,
            vCPUs: Double(requests.resources.cpuMillis) / 1000,
            memoryGiB: Double(requests.resources.memoryBytes) / gib,
            gpus: requests.deviceCount,
            gpuModel: requests.gpuModel,
            gpuMemoryGiB: requests.gpuMemoryBytes.map { Double($0) / gib },
            spotAllowed: job.task.preemptible,
            data: data,
            hours: max(job.task.estimateSeconds ?? 3_600, 60) / 3_600
        )
    }
}
