import AllotAPI
import AllotCloud
import AllotCore
import AllotLifecycle
import AllotStore
import Crypto
import Foundation
import HTTPTypes
import Logging

extension ControlPlane {
    /// Takes an agent's report: joins or revives its node, records usage, job starts and exits, and output.
    /// Answers with the node's current directive.
    public func report(_ report: AgentReport) async throws(APIError) -> AgentDirective {
        let inventoryRequested = try await receive(report)
        return directive(for: report.node, inventoryRequested: inventoryRequested)
    }

    /// ``report(_:)`` answering with the directive's JSON, reused while nothing it depends on changed.
    /// An agent that already has the directive gets a short answer saying so.
    public func reportEncoded(_ report: AgentReport) async throws(APIError) -> [UInt8] {
        let inventoryRequested = try await receive(report)
        let full = encodedDirective(for: report.node, inventoryRequested: inventoryRequested)
        guard let digest = report.directiveDigest, let cached = encodedDirectives[report.node], cached.digest == digest, !cached.inventoryRequested
        else { return full }
        return cached.unchanged
    }

    /// Takes a report; `true` when the server needs the node's inventory first.
    private func receive(_ report: AgentReport) async throws(APIError) -> Bool {
        let name = report.node
        guard !name.isEmpty, name.count <= 253, !name.contains("/") else {
            throw APIError(.unprocessableContent, .invalidField, "node: a node name must be 1 to 253 characters without '/'")
        }
        let time = now()
        reportsInProgress[name, default: 0] += 1
        defer {
            reportsInProgress[name, default: 1] -= 1
            if reportsInProgress[name] == 0 { reportsInProgress[name] = nil }
        }
        if scheduled.contains(name) {
            lifecycle.heartbeat(name, usage: report.usage, now: time)
        } else if report.inventory == nil {
            // A node not held ready (new, down, or back from a partition): nothing is taken before it (re)joins,
            // so exits and output come again with its inventory and none is lost.
            return true
        }
        // Output first (an exit is taken only with its output stored); a failure is answered, and the agent
        // sends the report again.
        for output in report.output {
            guard let job = active[output.id], job.attempt == output.attempt, output.text.utf8.count <= 1 << 20 else { continue }
            let replica = "\(output.attempt)#\(output.replica)"
            if let sequence = output.sequence, sequence <= outputStored[job.id]?[replica] ?? 0 { continue }  // stored already
            try requireWritable()
            do { _ = try await store.appendLog(job: job.id, stream: output.stream, text: output.text) } catch {
                logger.warning("job output not stored", metadata: ["job.id": "\(job.id)", "error": "\(error.message)"])
                throw APIError.from(error)
            }
            if let sequence = output.sequence { outputStored[job.id, default: [:]][replica] = sequence }
        }
        let samples = usageSamples(node: name, usage: report.usage, jobs: report.jobs, at: time)
        if !samples.isEmpty { await recorder.record(samples, at: time) }
        // From here on, the lifecycle's changes and their write are queued in one turn.
        var actions: [LifecycleAction] = []
        do {
            if !scheduled.contains(name), var inventory = report.inventory {
                try requireWritable()
                try validate(inventory)
                inventory.pricing = try priced(inventory.pricing)
                actions = try lifecycle.nodeJoined(name, inventory: inventory, usage: report.usage, now: time).actions
                logger.info("node ready", metadata: ["node.name": "\(name)"])
            }
            actions = Self.combine(actions, try lifecycle.reported(report.jobs, node: name, now: time))
        } catch let error as LifecycleError {
            throw Self.apiError(error)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(.internalServerError, .internal, "\(error)")
        }
        try await carry(actions)
        return false
    }

    /// The actions of two events taken in one turn, with one write.
    static func combine(_ first: [LifecycleAction], _ second: [LifecycleAction]) -> [LifecycleAction] {
        var batch = WriteBatch()
        var rest: [LifecycleAction] = []
        for action in first + second {
            if case .persist(let writes) = action { batch.merge(writes) } else { rest.append(action) }
        }
        return batch.isEmpty ? rest : [.persist(batch)] + rest
    }

    /// The directive's JSON (sorted keys), reused while the revision, the inventory and the request flag hold.
    func encodedDirective(for name: String, inventoryRequested: Bool = false) -> [UInt8] {
        let requested = inventoryRequested || !scheduled.contains(name)
        let inventory = nodes[name]?.inventory
        if let cached = encodedDirectives[name], cached.revision == revision, cached.inventoryRequested == requested, cached.inventory == inventory {
            return cached.bytes
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var full = directive(for: name, inventoryRequested: inventoryRequested)
        // Encoding a directive of Codable values cannot fail; an empty answer would be refused by the agent.
        let digest = Hex.encode(SHA256.hash(data: (try? encoder.encode(full)) ?? Data()).prefix(16))
        full.digest = digest
        var same = full
        same.assignments = []
        same.unchanged = true
        let bytes = (try? encoder.encode(full)).map { [UInt8]($0) } ?? []
        let unchanged = (try? encoder.encode(same)).map { [UInt8]($0) } ?? []
        encodedDirectives[name] = EncodedDirective(
            revision: revision,
            inventoryRequested: requested,
            inventory: inventory,
            bytes: bytes,
            digest: digest,
            unchanged: unchanged
        )
        return bytes
    }

    /// Fills a cloud node's hourly price from the bundled catalog when the agent gave only its type.
    private func priced(_ pricing: NodePricing?) throws(APIError) -> NodePricing? {
        guard var pricing, pricing.hourlyPrice == nil else { return pricing }
        func bad(_ message: String) -> APIError { APIError(.unprocessableContent, .invalidField, "inventory.pricing: \(message)") }
        guard let region = pricing.region, let type = pricing.instanceType else { throw bad("give a price, or a region and an instance type") }
        guard case .success(let catalog) = BundledCatalog.shared else { throw bad("the price catalog is not available; give a price") }
        let capacity: CapacityType = pricing.capacity == "spot" ? .spot : .onDemand
        guard let price = catalog.price(cloud: pricing.cloud, region: region, zone: pricing.zone, instanceType: type, capacity: capacity) else {
            throw bad(
                "no \(capacity.rawValue) price for \(pricing.cloud) \(type) in \(region)\(pricing.zone.map { " (\($0))" } ?? "") in the catalog; give a price"
            )
        }
        pricing.hourlyPrice = price
        pricing.priceSource = "catalog"
        return pricing
    }

    private func validate(_ inventory: NodeInventory) throws(APIError) {
        func bad(_ message: String) -> APIError { APIError(.unprocessableContent, .invalidField, "inventory.\(message)") }
        guard inventory.cpu.logicalCores > 0, inventory.cpu.logicalCores <= 1 << 16 else { throw bad("cpu.logicalCores must be 1 to 65536") }
        if let quota = inventory.cpu.quotaCores, !(quota > 0) { throw bad("cpu.quotaCores must be positive") }
        guard inventory.memoryBytes >= 0 else { throw bad("memoryBytes must not be negative") }
        guard inventory.gpus.count <= 1024, Set(inventory.gpus.map(\.index)).count == inventory.gpus.count else {
            throw bad("gpus must have distinct indices (at most 1024)")
        }
        for gpu in inventory.gpus where gpu.memoryTotalBytes < 0 { throw bad("gpus[\(gpu.index)].memoryTotalBytes must not be negative") }
    }

    /// What a node must run now: only what is on disk, so that nothing starts, or stops, on a change that
    /// may yet be undone.
    public func directive(for name: String, inventoryRequested: Bool = false) -> AgentDirective {
        var assignments: [Assignment] = []
        let inventory = nodes[name]?.inventory
        for job in lifecycle.assignedJobs(on: name) {
            for (replica, placement) in (job.placements ?? []).enumerated() where placement.node.rawValue == name {
                var environment = job.environment
                environment["ALLOT_JOB_ID"] = job.id.rawValue
                environment["ALLOT_ATTEMPT"] = "\(job.attempt)"
                environment["ALLOT_REPLICA"] = "\(replica)"
                environment["ALLOT_GANG_SIZE"] = "\(job.task.gang)"
                environment["ALLOT_ALLOCATION"] = Self.json(placement)
                environment["CUDA_VISIBLE_DEVICES"] = placement.gpuIndices.map { index in
                    inventory?.gpus.first { $0.index == index }?.uuid ?? "\(index)"
                }.joined(separator: ",")
                assignments.append(
                    Assignment(
                        id: job.id,
                        attempt: job.attempt,
                        replica: replica,
                        command: job.command,
                        environment: environment,
                        placement: placement,
                        inputs: job.inputs,
                        onDisconnect: job.onDisconnect
                    )
                )
            }
        }
        return AgentDirective(
            epoch: epoch,
            version: directiveVersions[name] ?? 0,
            assignments: assignments,
            scanIntervalSeconds: configuration.scanIntervalSeconds,
            gracePeriodSeconds: configuration.gracePeriodSeconds,
            inventoryRequested: inventoryRequested || !scheduled.contains(name),
            term: configuration.leaderTerm
        )
    }

    /// Waits (up to `seconds`) until the node's directive differs from `version`, then returns it.
    public func awaitDirective(for name: String, after version: Int, seconds: Double) async -> AgentDirective {
        await waitForChange(of: name, after: version, seconds: seconds)
        return directive(for: name)
    }

    /// ``awaitDirective(for:after:seconds:)`` answering with the directive's JSON.
    public func awaitEncodedDirective(for name: String, after version: Int, seconds: Double) async -> [UInt8] {
        await waitForChange(of: name, after: version, seconds: seconds)
        return encodedDirective(for: name)
    }

    private func waitForChange(of name: String, after version: Int, seconds: Double) async {
        if (directiveVersions[name] ?? 0) == version, seconds > 0, !shuttingDown {
            let id = UUID()
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    try? await Task.sleep(for: .seconds(seconds))  // cancelled when woken first
                    await self.wake(name, id)
                }
                await withCheckedContinuation { continuation in waiters[name, default: [:]][id] = continuation }
                group.cancelAll()
            }
        }
    }

    /// Ends every long poll now and answers later ones at once: the server is going away.
    public func shutdown() {
        shuttingDown = true
        for (_, list) in waiters { for continuation in list.values { continuation.resume() } }
        waiters = [:]
        events.finish()
    }

    private func wake(_ name: String, _ id: UUID) { waiters[name]?.removeValue(forKey: id)?.resume() }

    /// Every node, with the jobs placed on it.
    public func nodeList() -> [NodeStatus] { nodes.keys.sorted().compactMap { node($0) } }

    public func node(_ name: String) -> NodeStatus? {
        guard var node = nodes[name] else { return nil }
        node.jobs = placedJobs(on: name).map(\.rawValue)
        return node
    }

    /// Every node as `identity` may see it.
    public func nodeList(for identity: Identity) -> [NodeStatus] { nodeList().map { scoped($0, for: identity) } }

    /// A node as `identity` may see it: the jobs of tenants outside its scope are left out.
    public func scoped(_ node: NodeStatus, for identity: Identity) -> NodeStatus {
        guard identity.scope != nil else { return node }
        var shown = node
        shown.jobs = node.jobs?.filter { id in active[JobID(id)].map { identity.sees($0.tenant) } ?? false }
        return shown
    }

    /// `cordon` (no new work), `drain` (no new work; draining until its jobs end), `uncordon`.
    public func setNode(_ name: String, action: String) async throws(APIError) -> NodeStatus {
        guard let typed = NodeAction(rawValue: action) else { throw APIError.notFound("action \(action)") }
        return try await setNode(name, typed)
    }

    /// `cordon` (no new work), `drain` (no new work; draining until its jobs end), `uncordon`.
    public func setNode(_ name: String, _ action: NodeAction) async throws(APIError) -> NodeStatus {
        let result: (node: NodeStatus, actions: [LifecycleAction])
        do { result = try lifecycle.setNode(name, action) } catch { throw Self.apiError(error) }
        try await carry(result.actions)
        return self.node(name) ?? result.node
    }

    static func json<Value: Encodable>(_ value: Value) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
