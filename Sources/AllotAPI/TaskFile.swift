import AllotCore

/// A task already running, with where it runs and how long it has left.
public struct RunningTask: Sendable, Equatable {
    public var spec: TaskSpec
    public var replicas: [(node: NodeID, gpuIndices: [Int])]
    public var remainingSeconds: Double?

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.spec == rhs.spec && lhs.remainingSeconds == rhs.remainingSeconds
            && lhs.replicas.map(\.node) == rhs.replicas.map(\.node) && lhs.replicas.map(\.gpuIndices) == rhs.replicas.map(\.gpuIndices)
    }
}

/// `tasks.json`: the tasks already running and the queue, in order.
///
/// ```json
/// {"running":[{"id":"A","node":"n1","gpus":[0],"requests":{"gpuMemory":"8GiB"},"remaining":600}],
///  "tasks":[{"id":"B","tenant":"t1","priority":2,"class":"standard",
///            "requests":{"cpu":1,"memory":"2GiB","gpus":1,"gpuModel":"A100","gpuMemory":"8GiB"},
///            "limits":{"cpu":2},"gang":1,"preemptible":true,"estimate":3600}]}
/// ```
/// A running gang lists its replicas as `"replicas":[{"node":"n1","gpus":[0]}, ...]` instead of `node`/`gpus`.
/// Optionally, `"now"` (seconds) and each queued task's `"submitted"` time make waits known: priority aging then
/// applies, and the plan reports the scheduling objective.
public struct TaskFile: Sendable, Equatable {
    public var running: [RunningTask]
    public var tasks: [TaskSpec]
    /// The plan's clock, in seconds on the file's own origin.
    public var now: Double?
    /// When queued tasks were submitted (absent: at `now`).
    public var submitted: [TaskID: Double] = [:]

    public static let taskKeys: Set<String> = ["id", "tenant", "priority", "class", "requests", "limits", "gang", "preemptible", "estimate"]
    static let requestKeys: Set<String> = ["cpu", "memory", "disk", "network", "gpus", "gpuModel", "gpuMemory", "extended"]

    public static func decode(_ value: JSONValue) throws(InputError) -> TaskFile {
        let root = try ObjectReader(value, path: "", allowed: ["running", "tasks", "now"])
        var seen: Set<String> = []
        func unique(_ spec: TaskSpec, _ path: String) throws(InputError) {
            guard seen.insert(spec.id.rawValue).inserted else { throw InputError(path: "\(path).id", "duplicate task id \"\(spec.id)\"") }
        }
        var running: [RunningTask] = []
        for (position, entry) in (try root.array("running") ?? []).enumerated() {
            let path = "running[\(position)]"
            let reader = try ObjectReader(entry, path: path, allowed: taskKeys.union(["node", "gpus", "remaining", "replicas"]))
            let spec = try decodeTask(reader)
            try unique(spec, path)
            var replicas: [(node: NodeID, gpuIndices: [Int])] = []
            if let list = try reader.array("replicas") {
                for (index, replica) in list.enumerated() {
                    let inner = try ObjectReader(replica, path: "\(path).replicas[\(index)]", allowed: ["node", "gpus"])
                    replicas.append((NodeID(try inner.requiredString("node")), try gpuIndices(inner)))
                }
            } else {
                replicas = [(NodeID(try reader.requiredString("node")), try gpuIndices(reader))]
            }
            let remaining = try reader.number("remaining")
            if let remaining, remaining < 0 { throw InputError(path: reader.at("remaining"), "must not be negative") }
            running.append(RunningTask(spec: spec, replicas: replicas, remainingSeconds: remaining))
        }
        var tasks: [TaskSpec] = []
        var submitted: [TaskID: Double] = [:]
        let now = try root.number("now")
        for (position, entry) in (try root.array("tasks") ?? []).enumerated() {
            let path = "tasks[\(position)]"
            let reader = try ObjectReader(entry, path: path, allowed: taskKeys.union(["submitted"]))
            let spec = try decodeTask(reader)
            try unique(spec, path)
            if let time = try reader.number("submitted") {
                guard let now else { throw InputError(path: reader.at("submitted"), "needs \"now\" at the top of the file") }
                guard time <= now else {
                    throw InputError(path: reader.at("submitted"), "invalid value \"\(Quantity.format(time))\": later than now")
                }
                submitted[spec.id] = time
            }
            tasks.append(spec)
        }
        return TaskFile(running: running, tasks: tasks, now: now, submitted: submitted)
    }

    private static func gpuIndices(_ reader: ObjectReader) throws(InputError) -> [Int] {
        guard let list = try reader.array("gpus") else { return [] }
        var indices: [Int] = []
        for (position, item) in list.enumerated() {
            guard case .number(let value) = item, value >= 0, value == value.rounded() else {
                throw InputError(path: "\(reader.at("gpus"))[\(position)]", "expected a GPU index (a whole number)")
            }
            indices.append(Int(value))
        }
        return indices
    }

    /// Reads one task's fields.
    static func decodeTask(_ reader: ObjectReader) throws(InputError) -> TaskSpec {
        let id = try reader.requiredString("id")
        var spec = TaskSpec(id: TaskID(id))
        if let tenant = try reader.string("tenant") { spec.tenant = TenantID(tenant) }
        spec.priority = try reader.integer("priority") ?? 0
        if let name = try reader.string("class") {
            guard let value = SLAClass(rawValue: name) else {
                throw InputError(path: reader.at("class"), "invalid value \"\(name)\": use critical, standard or best-effort")
            }
            spec.slaClass = value
        }
        if reader.has("requests") {
            let requests = try ObjectReader(reader.fields["requests"]!, path: reader.at("requests"), allowed: requestKeys)
            spec.requests = try decodeRequest(requests)
        }
        if reader.has("limits") {
            let limits = try ObjectReader(reader.fields["limits"]!, path: reader.at("limits"), allowed: ["cpu", "memory"])
            spec.limits = ResourceVector(cpuMillis: try limits.cpu("cpu") ?? 0, memoryBytes: try limits.bytes("memory") ?? 0)
        }
        spec.gang = try reader.integer("gang") ?? 1
        if spec.gang < 1 { throw InputError(path: reader.at("gang"), "invalid value \"\(spec.gang)\": must be at least 1") }
        spec.preemptible = try reader.bool("preemptible") ?? false
        if let estimate = try reader.number("estimate") {
            guard estimate >= 0 else {
                throw InputError(path: reader.at("estimate"), "invalid value \"\(Quantity.format(estimate))\": must not be negative")
            }
            spec.estimateSeconds = estimate
        }
        return spec
    }

    static func decodeRequest(_ reader: ObjectReader) throws(InputError) -> ResourceRequest {
        var request = ResourceRequest()
        request.resources.cpuMillis = try reader.cpu("cpu") ?? 0
        request.resources.memoryBytes = try reader.bytes("memory") ?? 0
        request.resources.diskBytes = try reader.bytes("disk") ?? 0
        request.resources.networkBitsPerSecond = try reader.bitRate("network") ?? 0
        request.resources.extended = try ClusterFile.extended(reader, "extended")
        let gpus = try reader.integer("gpus") ?? 0
        if gpus < 0 { throw InputError(path: reader.at("gpus"), "invalid value \"\(gpus)\": must not be negative") }
        request.gpus = gpus
        request.gpuModel = try reader.string("gpuModel")
        if let share = try reader.bytes("gpuMemory") {
            guard share > 0 else { throw InputError(path: reader.at("gpuMemory"), "invalid value \"0\": must be positive") }
            request.gpuMemoryBytes = share
        }
        return request
    }
}
