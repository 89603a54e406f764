import AllotAPI
import AllotCloud
import AllotCore
import AllotStore
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
    public func reportEncoded(_ report: AgentReport) async throws(APIError) -> [UInt8] {
        let inventoryRequested = try await receive(report)
        return encodedDirective(for: report.node, inventoryRequested: inventoryRequested)
    }

    /// Takes a report; `true` when the server needs the node's inventory first.
    private func receive(_ report: AgentReport) async throws(APIError) -> Bool {
        let name = report.node
        guard !name.isEmpty, name.count <= 253, !name.contains("/") else {
            throw APIError(.unprocessableContent, .invalidField, "node: a node name must be 1 to 253 characters without '/'")
        }
        let time = now()
        if scheduled.contains(name) {
            nodes[name]?.lastHeartbeatAt = time
            if let usage = report.usage { nodes[name]?.usage = usage }
        }
        // Output first (an exit is taken only with its output stored); a failure is answered, and the agent
        // sends the report again.
        for output in report.output {
            guard let job = active[output.id], job.attempt == output.attempt, output.text.utf8.count <= 1 << 20 else { continue }
            try requireWritable()
            do { _ = try await store.appendLog(job: job.id, stream: output.stream, text: output.text) } catch {
                logger.warning("job output not stored", metadata: ["job.id": "\(job.id)", "error": "\(error.message)"])
                throw APIError.from(error)
            }
        }
        let samples = usageSamples(node: name, usage: report.usage, jobs: report.jobs, at: time)
        if !samples.isEmpty { await recorder.record(samples, at: time) }
        // From here on, memory changes and their write are queued in one turn.
        var batch = WriteBatch()
        if !scheduled.contains(name) {
            guard var inventory = report.inventory else { return true }
            try requireWritable()
            try validate(inventory)
            inventory.pricing = try priced(inventory.pricing)
            var node = nodes[name] ?? NodeStatus(name: name, inventory: inventory, joinedAt: time, lastHeartbeatAt: time)
            node.inventory = inventory
            node.state = .ready
            node.lastHeartbeatAt = time
            if let usage = report.usage { node.usage = usage }
            nodes[name] = node
            addToScheduler(node)
            batch.nodes.append(node)
            batch.billing += openBilling(for: node, at: time)
            logger.info("node ready", metadata: ["node.name": "\(name)"])
            requestCycle()
        }
        var finished = false
        if let entries = vacating[name] {
            let ended = Set(report.jobs.filter { $0.state != .running }.map { "\($0.id)#\($0.attempt)" })
            let left = entries.filter { !ended.contains("\($0.job)#\($0.attempt)") }
            if left.count < entries.count {
                vacating[name] = left.isEmpty ? nil : left
                notify([name])
            }
        }
        for status in report.jobs {
            guard var job = active[status.id], job.attempt == status.attempt,
                let placements = job.placements, status.replica >= 0, status.replica < placements.count,
                placements[status.replica].node.rawValue == name
            else { continue }
            if status.state != .running || job.state == .scheduled { try requireWritable() }
            switch status.state {
            case .lost:
                do { try scheduler.requeue(TaskID(job.id)) } catch {
                    logger.debug("lost job not in the scheduler", metadata: ["job.id": "\(job.id)", "error": "\(error.message)"])
                }
                if let (requeued, attempt) = requeueAfterLoss(job.id, reason: "the agent on \(name) lost its process", at: time) {
                    batch.updateJobs.append(requeued)
                    batch.attempts.append(attempt)
                }
                replicaExits[job.id] = nil
                notify(placements.map(\.node.rawValue))
                finished = true
            case .running:
                guard job.state == .scheduled else { continue }
                job.state = .running
                job.startedAt = time
                job.limits = status.message
                setActive(job.id, job)
                batch.updateJobs.append(job)
            case .exited, .failedToStart:
                var exits = replicaExits[job.id] ?? [:]
                exits[status.replica] = status.exitCode ?? 127
                replicaExits[job.id] = exits
                let failedReplica = exits.values.first { $0 != 0 }
                guard exits.count == placements.count || failedReplica != nil else { continue }
                let code = failedReplica ?? 0
                if status.state == .exited, job.limits == nil { job.limits = status.message }
                job.exitCode = code
                job.finishedAt = time
                if job.cancelRequestedAt != nil {
                    job.state = .cancelled
                    job.reason = "cancelled"
                } else if status.state == .failedToStart {
                    job.state = .failed
                    job.reason = "the command could not start: \(status.message ?? "unknown error")"
                } else {
                    job.state = code == 0 ? .succeeded : .failed
                    job.reason = code == 0 ? nil : "exit code \(code)"
                }
                batch.attempts.append(endedAttempt(job, outcome: AttemptOutcome(ending: job.state), at: time, exitCode: code))
                do { try scheduler.finish(TaskID(job.id)) } catch {
                    logger.debug("ended job not in the scheduler", metadata: ["job.id": "\(job.id)", "error": "\(error.message)"])
                }
                setActive(job.id, nil)
                replicaExits[job.id] = nil
                batch.updateJobs.append(job)
                notify(placements.map(\.node.rawValue))
                finished = true
            }
        }
        if !batch.isEmpty {
            try await persist(batch)
            for job in batch.updateJobs { publish(job) }
            for node in batch.nodes { publish(node) }
        }
        if finished { requestCycle() }
        return false
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
        let bytes = (try? encoder.encode(directive(for: name, inventoryRequested: inventoryRequested))).map { [UInt8]($0) } ?? []
        encodedDirectives[name] = EncodedDirective(revision: revision, inventoryRequested: requested, inventory: inventory, bytes: bytes)
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

    /// The jobs on a node as they are on disk: a change not yet durable shows the record before it.
    func durableJobs(on name: String) -> [Job] {
        var jobs = placedJobs(on: name).compactMap { id in staged[id] == nil ? active[id] : nil }
        var extra = false
        for entry in staged.values {
            guard let job = entry.durable, job.placements?.contains(where: { $0.node.rawValue == name }) == true else { continue }
            jobs.append(job)
            extra = true
        }
        if extra { jobs.sort { $0.sequence < $1.sequence } }
        return jobs
    }

    /// What a node must run now: only what is on disk, so that nothing starts, or stops, on a change that
    /// may yet be undone.
    public func directive(for name: String, inventoryRequested: Bool = false) -> AgentDirective {
        var assignments: [Assignment] = []
        let inventory = nodes[name]?.inventory
        let held = Set((vacating[name] ?? []).map(\.forJob))
        for job in durableJobs(on: name) {
            guard job.state == .scheduled || job.state == .running, job.cancelRequestedAt == nil, !held.contains(job.id) else { continue }
            for (replica, placement) in (job.placements ?? []).enumerated() where placement.node.rawValue == name {
                var environment = job.environment
                environment["ALLOT_JOB_ID"] = job.id
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
                        placement: placement
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
            inventoryRequested: inventoryRequested || !scheduled.contains(name)
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
            let timeout = Task {
                try? await Task.sleep(for: .seconds(seconds))
                self.wake(name, id)
            }
            await withCheckedContinuation { continuation in waiters[name, default: [:]][id] = continuation }
            timeout.cancel()
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
        node.jobs = placedJobs(on: name)
        return node
    }

    /// Every node as `identity` may see it.
    public func nodeList(for identity: Identity) -> [NodeStatus] { nodeList().map { scoped($0, for: identity) } }

    /// A node as `identity` may see it: the jobs of tenants outside its scope are left out.
    public func scoped(_ node: NodeStatus, for identity: Identity) -> NodeStatus {
        guard identity.scope != nil else { return node }
        var shown = node
        shown.jobs = node.jobs?.filter { id in active[id].map { identity.sees($0.tenant) } ?? false }
        return shown
    }

    /// `cordon` (no new work), `drain` (no new work; draining until its jobs end), `uncordon`.
    public func setNode(_ name: String, action: String) async throws(APIError) -> NodeStatus {
        guard let typed = NodeAction(rawValue: action) else { throw APIError.notFound("action \(action)") }
        return try await setNode(name, typed)
    }

    /// `cordon` (no new work), `drain` (no new work; draining until its jobs end), `uncordon`.
    public func setNode(_ name: String, _ action: NodeAction) async throws(APIError) -> NodeStatus {
        guard var node = nodes[name] else { throw APIError.notFound("node \(name)") }
        try requireWritable()
        switch action {
        case .cordon, .drain:
            node.cordoned = true
            node.draining = action == .drain && !placedJobs(on: name).isEmpty
            if scheduled.contains(name) { try? scheduler.cordon(NodeID(name)) }  // a ready node is always there
        case .uncordon:
            node.cordoned = false
            node.draining = false
            if scheduled.contains(name) { try? scheduler.uncordon(NodeID(name)) }  // a ready node is always there
            requestCycle()
        }
        nodes[name] = node
        try await persist(WriteBatch(nodes: [node]))
        publish(node)
        return self.node(name) ?? node
    }

    static func json<Value: Encodable>(_ value: Value) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
