import AllotCore

/// The result of `allot plan`: placements, pending tasks with reasons, preemptions, utilization and bottlenecks.
public struct PlanReport: Codable, Equatable, Sendable {
    public struct Placement: Codable, Equatable, Sendable {
        public var task: String
        /// The replica number, for gangs only.
        public var replica: Int?
        public var node: String
        public var gpus: [Int]
        /// CPU cores granted (request plus any elastic share).
        public var cpu: Double
        /// Memory granted, in bytes.
        public var memory: Int64
        /// Memory taken on each shared GPU, in bytes.
        public var gpuMemory: Int64?
    }

    public struct Pending: Codable, Equatable, Sendable {
        public var task: String
        public var reason: String
    }

    public struct Preempted: Codable, Equatable, Sendable {
        public var task: String
        public var by: String
    }

    public struct Pool: Codable, Equatable, Sendable {
        public var node: String
        public var resource: String
        public var used: Double
        public var capacity: Double
        public var utilization: Double
    }

    public struct NodeUtilization: Codable, Equatable, Sendable {
        public var node: String
        public var overall: Double
    }

    public struct Utilization: Codable, Equatable, Sendable {
        public var overall: Double
        public var pools: [Pool]
        public var nodes: [NodeUtilization]
    }

    public struct BottleneckEntry: Codable, Equatable, Sendable {
        public var node: String
        public var resource: String
        public var utilization: Double
        public var severity: BottleneckSeverity
    }

    /// The scheduling objective, when the tasks file gives `now` (waits are known).
    public struct Objective: Codable, Equatable, Sendable {
        public var alpha: Double
        public var beta: Double
        /// The mean wait of the queued tasks until they start (placed) or until now (pending), in seconds.
        public var meanWaitSeconds: Double
        /// `alpha * (1 - overall) + beta * meanWaitSeconds`; lower is better.
        public var value: Double
    }

    public var placements: [Placement]
    public var pending: [Pending]
    public var preempted: [Preempted]
    public var utilization: Utilization
    public var bottlenecks: [BottleneckEntry]
    public var objective: Objective?
}

/// Runs the offline what-if of `allot plan` on the same scheduler the server uses.
public enum Planner {
    public static func plan(
        nodes: [NodeSpec],
        tasks: TaskFile,
        configuration: SchedulerConfiguration,
        objective: SchedulingObjective = SchedulingObjective()
    ) throws(InputError) -> PlanReport {
        let now = tasks.now ?? 0
        var scheduler: Scheduler
        do {
            scheduler = try Scheduler(configuration: configuration)
        } catch {
            throw InputError(error)
        }
        for (position, node) in nodes.enumerated() {
            do { try scheduler.addNode(node) } catch { throw InputError(path: "nodes[\(position)]", error.message) }
        }
        for (position, task) in tasks.running.enumerated() {
            do {
                try scheduler.restore(task.spec, replicas: task.replicas, now: now, remainingSeconds: task.remainingSeconds)
            } catch {
                throw InputError(path: "running[\(position)]", error.message)
            }
        }
        // A task no node could ever hold (bigger than any node, a gang larger than the cluster) is reported
        // pending as unschedulable, and the rest is planned; anything else wrong with a task fails the plan.
        var unschedulable: [PlanReport.Pending] = []
        for (position, task) in tasks.tasks.enumerated() {
            do {
                try scheduler.submit(task, now: tasks.submitted[task.id] ?? now)
            } catch  where error.code == .infeasible {
                let prefix = "task \(task.id.rawValue) "
                let why = error.message.hasPrefix(prefix) ? String(error.message.dropFirst(prefix.count)) : error.message
                unschedulable.append(PlanReport.Pending(task: task.id.rawValue, reason: "unschedulable: \(why)"))
            } catch {
                throw InputError(path: "tasks[\(position)]", error.message)
            }
        }
        let actions = scheduler.schedule(now: now)
        var placements: [PlanReport.Placement] = []
        var preempted: [PlanReport.Preempted] = []
        for action in actions {
            switch action {
            case .bind(let id, let replicas):
                for (index, replica) in replicas.enumerated() {
                    placements.append(
                        PlanReport.Placement(
                            task: id.rawValue,
                            replica: replicas.count > 1 ? index : nil,
                            node: replica.node.rawValue,
                            gpus: replica.gpuIndices,
                            cpu: Double(replica.cpuMillis) / 1000,
                            memory: replica.memoryBytes,
                            gpuMemory: replica.gpuMemoryBytes
                        )
                    )
                }
            case .preempt(let id, let by):
                preempted.append(PlanReport.Preempted(task: id.rawValue, by: by.rawValue))
            case .requeue, .resize:
                break
            }
        }
        // Placements of elastic tasks reflect the final shares, after every bind of the cycle.
        placements = placements.map { placement in
            var placement = placement
            if let replicas = scheduler.placements(of: TaskID(placement.task)) {
                let replica = replicas[placement.replica ?? 0]
                placement.cpu = Double(replica.cpuMillis) / 1000
                placement.memory = replica.memoryBytes
            }
            return placement
        }
        let pending =
            scheduler.pendingTasks.map { PlanReport.Pending(task: $0.rawValue, reason: scheduler.pendingReason($0) ?? "pending") } + unschedulable
        let report = scheduler.utilization()
        var planObjective: PlanReport.Objective?
        if tasks.now != nil, !tasks.tasks.isEmpty {
            let waits = tasks.tasks.map { now - (tasks.submitted[$0.id] ?? now) }
            let meanWait = waits.reduce(0, +) / Double(waits.count)
            planObjective = PlanReport.Objective(
                alpha: objective.alpha,
                beta: objective.beta,
                meanWaitSeconds: meanWait,
                value: objective.value(overall: report.overall, meanWaitSeconds: meanWait)
            )
        }
        return PlanReport(
            placements: placements,
            pending: pending,
            preempted: preempted,
            utilization: PlanReport.Utilization(
                overall: report.overall,
                pools: report.pools.map {
                    PlanReport.Pool(node: $0.node.rawValue, resource: $0.resource, used: $0.used, capacity: $0.capacity, utilization: $0.utilization)
                },
                nodes: report.nodes.map { PlanReport.NodeUtilization(node: $0.node.rawValue, overall: $0.overall) }
            ),
            bottlenecks: report.bottlenecks.map {
                PlanReport.BottleneckEntry(node: $0.node.rawValue, resource: $0.resource, utilization: $0.utilization, severity: $0.severity)
            },
            objective: planObjective
        )
    }
}
