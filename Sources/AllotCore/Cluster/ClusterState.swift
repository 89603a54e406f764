/// A node as the scheduler tracks it.
struct NodeRecord: Sendable {
    var spec: NodeSpec
    var capacity: Amounts
    /// What ordinary (non-critical) work may use: capacity less the headroom.
    var limit: Amounts
    var allocated = Amounts.zero
    var firstDevice: Int
    var deviceCount: Int
    /// The distinct model keys of its devices.
    var modelKeys: [Int]
    var schedulable = true
    var alive = true
}

/// A GPU as the scheduler tracks it.
struct DeviceRecord: Sendable {
    var node: Int
    var index: Int
    var modelKey: Int
    var capacity: Int64
    /// What ordinary work may share of its memory.
    var limit: Int64
    var used: Int64 = 0
    var exclusive = false
    var sharers = 0

    var isFree: Bool { !exclusive && sharers == 0 }
}

/// The cluster's capacity and allocations, with the indexes that make placement fast.
///
/// A plain value: copying it gives an independent what-if state (backfill reservations, preemption
/// planning, consolidation) that shares storage until written.
struct ClusterState: Sendable {
    private(set) var nodes: [NodeRecord] = []
    private(set) var devices: [DeviceRecord] = []
    private(set) var slots: [NodeID: Int] = [:]
    /// Normalized, lower-cased GPU model (``GPUModelName``) → key; key 0 stands for "any model".
    private(set) var modelKeys: [String: Int] = [:]
    private(set) var modelNames: [String] = ["any"]
    private(set) var extendedKeys: [String: Int] = [:]
    private(set) var extendedNames: [String] = []
    let headroom: Double
    let order: CandidateOrder
    /// The recent mix of demands, which fragmentation-aware placement measures against.
    var requestMix = RequestMix() { didSet { version &+= 1 } }
    /// Counts changes to nodes, allocations and the request mix: a what-if worked out at one version (a
    /// backfill reservation) holds while it is unchanged.
    private(set) var version = 0
    /// Counts the same changes less allocations: while it is unchanged, capacity has only been taken.
    private(set) var releases = 0
    /// Counts changes to the nodes alone (joins, removals, cordons).
    private(set) var layout = 0
    /// CPU and memory indexes, one pair for nodes without GPUs and one for GPU nodes: work that asks for no
    /// GPU goes to a GPU node only when no plain node fits, so GPU nodes keep the CPU their GPUs need.
    private var cpuIndex: [CandidateIndex]
    private var memoryIndex: [CandidateIndex]
    private var wholeIndex: [CandidateIndex]
    private var shareIndex: [CandidateIndex]

    init(headroom: Double, order: CandidateOrder) {
        self.headroom = headroom
        self.order = order
        cpuIndex = [CandidateIndex(order: order), CandidateIndex(order: order)]
        memoryIndex = [CandidateIndex(order: order), CandidateIndex(order: order)]
        wholeIndex = [CandidateIndex(order: order)]
        shareIndex = [CandidateIndex(order: order)]
    }

    // MARK: - Registries

    mutating func modelKey(_ model: String?) -> Int {
        guard let model, !model.isEmpty else { return 0 }
        let lower = GPUModelName.normalize(model).lowercased()
        if let key = modelKeys[lower] { return key }
        let key = modelNames.count
        modelKeys[lower] = key
        modelNames.append(GPUModelName.normalize(model))
        wholeIndex.append(CandidateIndex(order: order))
        shareIndex.append(CandidateIndex(order: order))
        return key
    }

    mutating func extendedKey(_ name: String) -> Int {
        if let key = extendedKeys[name] { return key }
        extendedKeys[name] = extendedNames.count
        extendedNames.append(name)
        return extendedNames.count - 1
    }

    mutating func compile(_ vector: ResourceVector) -> Amounts {
        var amounts = Amounts(cpu: vector.cpuMillis, memory: vector.memoryBytes, disk: vector.diskBytes, network: vector.networkBitsPerSecond)
        for (name, value) in vector.extended.sorted(by: { $0.key < $1.key }) where value > 0 {
            let key = extendedKey(name)
            if amounts.extended.count <= key { amounts.extended.append(contentsOf: repeatElement(0, count: key + 1 - amounts.extended.count)) }
            amounts.extended[key] = value
        }
        return amounts
    }

    mutating func compile(_ request: ResourceRequest, critical: Bool) -> Demand {
        Demand(
            amounts: compile(request.resources),
            deviceCount: request.deviceCount,
            shareBytes: request.gpuMemoryBytes ?? 0,
            modelKey: modelKey(request.gpuModel),
            critical: critical
        )
    }

    // MARK: - Nodes

    /// Adds a node; returns its slot.
    mutating func addNode(_ spec: NodeSpec) -> Int {
        let slot = nodes.count
        let capacity = compile(spec.capacity)
        var keys: [Int] = []
        let first = devices.count
        for gpu in spec.gpus {
            let key = modelKey(gpu.model)
            if !keys.contains(key) { keys.append(key) }
            let reserve = Int64((Double(gpu.memoryBytes) * headroom).rounded(.down))
            devices.append(DeviceRecord(node: slot, index: gpu.index, modelKey: key, capacity: gpu.memoryBytes, limit: gpu.memoryBytes - reserve))
        }
        nodes.append(
            NodeRecord(
                spec: spec,
                capacity: capacity,
                limit: capacity.withoutHeadroom(headroom),
                firstDevice: first,
                deviceCount: spec.gpus.count,
                modelKeys: keys
            )
        )
        slots[spec.id] = slot
        reindex(slot)
        nodesChanged()
        return slot
    }

    /// Takes a node out for good (its allocations must have been released first).
    mutating func removeNode(_ slot: Int) {
        nodes[slot].alive = false
        slots[nodes[slot].spec.id] = nil
        reindex(slot)
        nodesChanged()
    }

    mutating func setSchedulable(_ slot: Int, _ schedulable: Bool) {
        nodes[slot].schedulable = schedulable
        reindex(slot)
        nodesChanged()
    }

    /// A node joined, left, or was cordoned or uncordoned: every what-if counter moves.
    private mutating func nodesChanged() {
        version &+= 1
        releases &+= 1
        layout &+= 1
    }

    func deviceRange(_ slot: Int) -> Range<Int> { nodes[slot].firstDevice..<(nodes[slot].firstDevice + nodes[slot].deviceCount) }

    /// The global device number of a node's GPU with the given index.
    func device(node slot: Int, gpuIndex: Int) -> Int? { deviceRange(slot).first { devices[$0].index == gpuIndex } }

    // MARK: - Allocation

    /// Takes a replica's amounts and devices. `reindex: false` leaves the candidate indexes stale: only a
    /// probe that reads a node directly (``fit(_:node:)``) and puts everything back, or a caller that calls
    /// ``refreshIndexes(of:)`` for the node before the next search, may use it.
    mutating func allocate(_ demand: Demand, _ choice: Choice, reindex update: Bool = true) {
        version &+= 1
        nodes[choice.node].allocated.add(demand.amounts)
        for device in choice.devices {
            if demand.sharesDevices {
                devices[device].used += demand.shareBytes
                devices[device].sharers += 1
            } else {
                devices[device].exclusive = true
                devices[device].used = devices[device].capacity
            }
        }
        if update { reindex(choice.node) }
    }

    mutating func release(_ demand: Demand, _ choice: Choice, reindex update: Bool = true) {
        version &+= 1
        releases &+= 1
        nodes[choice.node].allocated.add(demand.amounts, sign: -1)
        for device in choice.devices {
            if demand.sharesDevices {
                devices[device].used -= demand.shareBytes
                devices[device].sharers -= 1
            } else {
                devices[device].exclusive = false
                devices[device].used = 0
            }
        }
        if update { reindex(choice.node) }
    }

    // MARK: - Indexes

    /// Brings the candidate indexes of nodes changed with `reindex: false` up to date.
    mutating func refreshIndexes(of slots: some Sequence<Int>) {
        for slot in slots { reindex(slot) }
    }

    private mutating func reindex(_ slot: Int) {
        let node = nodes[slot]
        let live = node.alive && node.schedulable
        let tier = node.deviceCount > 0 ? 1 : 0
        cpuIndex[tier].set(slot, live ? node.limit.cpu - node.allocated.cpu : nil)
        memoryIndex[tier].set(slot, live ? node.limit.memory - node.allocated.memory : nil)
        guard node.deviceCount > 0 else { return }
        var anyFree: Int64 = 0
        for key in node.modelKeys {
            var free: Int64 = 0
            for device in deviceRange(slot) where devices[device].modelKey == key && devices[device].isFree { free += 1 }
            anyFree += free
            wholeIndex[key].set(slot, live ? free : nil)
        }
        wholeIndex[0].set(slot, live ? anyFree : nil)
        for device in deviceRange(slot) {
            let record = devices[device]
            let value: Int64? = live && !record.exclusive ? record.limit - record.used : nil
            shareIndex[record.modelKey].set(device, value)
            shareIndex[0].set(device, value)
        }
    }

    // MARK: - Index access for search

    func visitCandidates(for demand: Demand, _ body: (Int) -> Bool) {
        if demand.deviceCount > 0 {
            if demand.sharesDevices {
                shareIndex[demand.modelKey].visit(atLeast: demand.shareBytes, body)
            } else {
                wholeIndex[demand.modelKey].visit(atLeast: Int64(demand.deviceCount), body)
            }
        } else if demand.amounts.cpu > 0 || demand.amounts.memory == 0 {
            if cpuIndex[0].visit(atLeast: demand.amounts.cpu, body) { cpuIndex[1].visit(atLeast: demand.amounts.cpu, body) }
        } else {
            if memoryIndex[0].visit(atLeast: demand.amounts.memory, body) { memoryIndex[1].visit(atLeast: demand.amounts.memory, body) }
        }
    }
}
