import AllotAPI
import AllotCloud
import AllotCore
import Foundation
import Logging

/// Buys machines for work that fits no node and gives them back when idle. Each pass: reconcile its recorded
/// intents with the cloud (once, and again after a launch whose outcome is unknown), follow its machines
/// (joined, idle, boot timeout), then plan and launch for jobs that have waited past the delay.
///
/// Every launch is recorded durably before the cloud is called, under an id that is also the launch's client
/// token and the instance's `allot:intent` tag: after a crash, the instance of an intent is found by that tag
/// and never bought twice, and an instance of this cluster that no live intent owns is terminated.
public actor Autoscaler {
    public let configuration: AutoscalerConfiguration
    let provider: any CloudProvider
    let catalog: Catalog
    /// What moving a job's inputs out of their region costs (the bundled table).
    let egress: EgressPrices
    let plane: ControlPlane
    let ledger: IntentLedger
    let cluster: String
    let joinToken: String
    let now: @Sendable () -> Double
    let logger: Logger
    var intents: [String: LaunchIntent] = [:]
    var decisions: [JobID: String] = [:]
    /// Whether the recorded intents were checked against the cloud since start or since an unknown outcome.
    var reconciled = false
    var images: [String: String] = [:]

    public init(
        configuration: AutoscalerConfiguration,
        provider: any CloudProvider,
        catalog: Catalog,
        plane: ControlPlane,
        ledgerPath: String,
        joinToken: String,
        logger: Logger,
        now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) throws {
        self.configuration = configuration
        self.provider = provider
        self.catalog = catalog
        self.egress = try EgressPrices.bundled()
        self.plane = plane
        self.ledger = IntentLedger(path: ledgerPath)
        self.cluster = configuration.cluster ?? plane.configuration.clusterName
        self.joinToken = joinToken
        self.logger = logger
        self.now = now
        for intent in try ledger.load() { intents[intent.id] = intent }
        plane.provisioning.publish(intents: Array(intents.values), decisions: [:])
    }

    /// One pass; errors from the cloud are logged and the pass is tried again at the next interval.
    public func pass() async {
        if !reconciled { await reconcile() }
        await follow()
        if reconciled { await scaleOut() }
        plane.provisioning.publish(intents: Array(intents.values), decisions: decisions)
    }

    /// Runs passes every `checkSeconds` until cancelled.
    public func run() async {
        while !Task.isCancelled {
            await pass()
            do { try await Task.sleep(for: .seconds(configuration.checkSeconds)) } catch { return }
        }
    }

    // MARK: Reconcile

    func reconcile() async {
        var owned: [CloudInstance] = []
        do {
            for region in configuration.regions {
                owned += try await provider.instances(region: region, tagged: [ProvisioningTags.cluster: cluster])
            }
        } catch {
            logger.warning("autoscaler: cannot list instances to reconcile: \(error)")
            return
        }
        let byIntent = Dictionary(grouping: owned.filter { !$0.isEnding }) { $0.tags[ProvisioningTags.intent] ?? "" }
        for var intent in intents.values where intent.state.isLive {
            let found = byIntent[intent.id] ?? []
            switch intent.state {
            case .launching:
                if let instance = found.first {
                    intent.state = .booting
                    intent.instanceID = instance.id
                    intent.launchedAt = instance.launchedAt?.timeIntervalSince1970 ?? now()
                    record(intent, "adopted \(instance.id): launched before a restart, found by its allot:intent tag")
                } else {
                    // Never reached the cloud, or the cloud refused: launch it now under the same client token.
                    await launch(intent)
                }
            case .booting, .joined, .draining:
                if let id = intent.instanceID, !found.contains(where: { $0.id == id }) {
                    intent.state = .terminated
                    intent.endedAt = now()
                    intent.reason = "instance \(id) ended outside Allot"
                    record(intent, intent.reason!)
                }
            case .terminated, .failed:
                break
            }
        }
        // Instances of this cluster that no live intent owns (launched by hand ones are tagged `manual`).
        let live = Set(intents.values.filter { $0.state.isLive }.compactMap(\.instanceID))
        let orphans = owned.filter { !$0.isEnding && !live.contains($0.id) && $0.tags[ProvisioningTags.intent] != "manual" }
        for (region, instances) in Dictionary(grouping: orphans, by: \.region) {
            do {
                _ = try await provider.terminate(region: region, ids: instances.map(\.id))
                for instance in instances {
                    await audit(
                        "terminate",
                        instance.id,
                        "orphan of intent \(instance.tags[ProvisioningTags.intent] ?? "none"): no live intent owns it"
                    )
                }
            } catch {
                logger.warning("autoscaler: cannot terminate orphans \(instances.map(\.id)): \(error)")
                return
            }
        }
        saveLedger()
        reconciled = true
    }

    // MARK: Follow machines

    func follow() async {
        let nodes = await plane.nodeList()
        let time = now()
        for var intent in intents.values where [.booting, .joined, .draining].contains(intent.state) {
            guard let instanceID = intent.instanceID else { continue }
            switch intent.state {
            case .booting:
                if let node = nodes.first(where: { $0.inventory.pricing?.instanceId == instanceID || $0.name == instanceID }) {
                    intent.state = .joined
                    intent.node = node.name
                    intent.joinedAt = time
                    record(intent, "\(instanceID) joined as node \(node.name)")
                } else if time - (intent.launchedAt ?? intent.createdAt) >= configuration.bootTimeoutMinutes * 60 {
                    let minutes = Catalog.number(configuration.bootTimeoutMinutes)
                    if await terminate(&intent, reason: "did not join within \(minutes) min (boot timeout)") {
                        for job in intent.jobs { decisions[JobID(job)] = "\(instanceID) did not join in time; planned again" }
                    }
                }
            case .joined:
                guard let name = intent.node, let node = nodes.first(where: { $0.name == name }) else { continue }
                let idle = (node.jobs ?? []).isEmpty
                if !idle {
                    intent.idleSince = nil
                    intents[intent.id] = intent
                    continue
                }
                let since = intent.idleSince ?? time
                intent.idleSince = since
                intents[intent.id] = intent
                guard time - since >= configuration.idleMinutes * 60 else { continue }
                do {
                    _ = try await plane.setNode(name, .drain)
                } catch {
                    logger.warning("autoscaler: cannot drain \(name): \(error.message)")
                    continue
                }
                intent.state = .draining
                record(intent, "node \(name) idle for \(Catalog.number(configuration.idleMinutes)) min: drained")
                fallthrough
            case .draining:
                let name = intent.node ?? ""
                let busy = !(nodes.first { $0.name == name }?.jobs ?? []).isEmpty
                guard !busy else { continue }
                _ = await terminate(&intent, reason: "node \(name) idle for \(Catalog.number(configuration.idleMinutes)) min")
            case .launching, .terminated, .failed:
                break
            }
        }
    }

    /// Terminates an intent's instance; `false` (and the intent unchanged) when the cloud refuses.
    func terminate(_ intent: inout LaunchIntent, reason: String) async -> Bool {
        guard let id = intent.instanceID else { return false }
        do {
            _ = try await provider.terminate(region: intent.region, ids: [id])
        } catch {
            logger.warning("autoscaler: cannot terminate \(id): \(error)")
            return false
        }
        intent.state = .terminated
        intent.endedAt = now()
        intent.reason = reason
        record(intent, reason)
        saveLedger()
        await audit("terminate", id, reason)
        return true
    }

    /// Keeps an intent's change, logs it and sends it as an event.
    func record(_ intent: LaunchIntent, _ message: String) {
        intents[intent.id] = intent
        logger.info("autoscaler: \(message)", metadata: ["intent": "\(intent.id)"])
        plane.publishProvisioning(intent)
    }

    func saveLedger() {
        do { try ledger.save(intents.values.sorted { $0.createdAt < $1.createdAt }) } catch {
            logger.error("autoscaler: cannot save its intents: \(error)")
        }
    }

    func audit(_ action: String, _ instance: String, _ message: String) async {
        await plane.recordAudit(
            AuditEntry(
                at: now(),
                actor: "autoscaler",
                role: "system",
                tenant: "default",
                action: "\(action) \(provider.name) instance",
                target: instance,
                status: 200,
                message: message
            )
        )
    }
}
