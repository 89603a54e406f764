import Testing

@testable import AllotCore

struct PlacementTests {
    @Test func headroomIsKeptForCriticalWork() throws {
        var scheduler = makeScheduler(headroom: 0.1)
        try scheduler.addNode(cpuNode("n1", cpu: 10, memoryGiB: 100))
        try scheduler.submit(cpuTask("big", cpu: 9, memoryGiB: 1), now: 0)
        try scheduler.submit(cpuTask("more", cpu: 0.5, memoryGiB: 1), now: 0)
        var actions = scheduler.schedule(now: 0)
        #expect(actions.bound == ["big"])
        #expect(scheduler.pendingReason("more") == "insufficient cpu: needs 0.5, at most 0 free on any node")
        try scheduler.cancel("more")
        var critical = cpuTask("urgent", cpu: 1, memoryGiB: 1)
        critical.slaClass = .critical
        try scheduler.submit(critical, now: 1)
        actions = scheduler.schedule(now: 1)
        #expect(actions.bound == ["urgent"])
        #expect(scheduler.utilization().pools.first { $0.resource == "cpu" }?.utilization == 1)
    }

    @Test func wholeGPUsAreExclusiveAndMatchTheModel() throws {
        var scheduler = makeScheduler(strategy: BestFit())
        try scheduler.addNode(gpuNode("a100", [80, 80], model: "A100"))
        try scheduler.addNode(gpuNode("h100", [80, 80], model: "H100"))
        try scheduler.submit(TaskSpec(id: "train", requests: ResourceRequest(gpus: 2, gpuModel: "h100")), now: 0)
        try scheduler.submit(shareTask("serve", 10), now: 0)
        try scheduler.submit(TaskSpec(id: "again", requests: ResourceRequest(gpus: 2, gpuModel: "H100")), now: 0)
        let actions = scheduler.schedule(now: 0)
        #expect(actions.placement("train")?.first?.node == "h100")
        #expect(actions.placement("serve")?.first?.node == "a100")
        #expect(actions.bound == ["train", "serve"])
        #expect(scheduler.pendingReason("again") == "insufficient free H100 GPUs on one node: needs 2, at most 0 free on any node")
    }

    @Test func aGangIsPlacedWholeOrNotAtAll() throws {
        var scheduler = makeScheduler(policy: FairSharePolicy())
        try scheduler.addNode(gpuNode("n1", [80, 80, 80, 80]))
        try scheduler.addNode(gpuNode("n2", [80, 80, 80, 80]))
        let gang = TaskSpec(id: "gang", tenant: "b", requests: ResourceRequest(gpus: 4), gang: 2)
        try scheduler.submit(TaskSpec(id: "small", tenant: "a", requests: ResourceRequest(gpus: 1)), now: 0)
        try scheduler.submit(gang, now: 0)
        var actions = scheduler.schedule(now: 0)
        #expect(actions.bound == ["small"])
        #expect(scheduler.placements(of: "gang") == nil)
        #expect(scheduler.pendingReason("gang")?.hasPrefix("gang of 2 cannot be placed whole") == true)
        try scheduler.finish("small")
        actions = scheduler.schedule(now: 1)
        #expect(actions.placement("gang")?.map(\.node) == ["n1", "n2"])
        #expect(actions.placement("gang")?.map(\.gpuIndices) == [[0, 1, 2, 3], [0, 1, 2, 3]])
    }

    @Test func cpuWorkStaysOffGPUNodesWhileAPlainNodeFits() throws {
        var scheduler = makeScheduler(strategy: WorstFit())
        try scheduler.addNode(gpuNode("gpu", [80], cpu: 128, memoryGiB: 1024))
        try scheduler.addNode(cpuNode("plain", cpu: 8, memoryGiB: 32))
        try scheduler.submit(cpuTask("a", cpu: 6, memoryGiB: 4), now: 0)
        try scheduler.submit(cpuTask("b", cpu: 6, memoryGiB: 4), now: 0)
        let actions = scheduler.schedule(now: 0)
        #expect(actions.placement("a")?.first?.node == "plain")
        #expect(actions.placement("b")?.first?.node == "gpu")
    }

    @Test func multiGPUWorkPrefersOneTopologyGroup() throws {
        var scheduler = makeScheduler()
        let gpus = (0..<4).map { GPUDevice(index: $0, model: "H100", memoryBytes: 80 * GiB, topology: $0 < 2 ? "nvlink-a" : "nvlink-b") }
        try scheduler.addNode(NodeSpec(id: "n1", gpus: gpus))
        try scheduler.submit(TaskSpec(id: "one", requests: ResourceRequest(gpus: 1)), now: 0)
        try scheduler.submit(TaskSpec(id: "pair", requests: ResourceRequest(gpus: 2)), now: 0)
        let actions = scheduler.schedule(now: 0)
        #expect(actions.placement("pair")?.first?.gpuIndices == [2, 3])
    }

    @Test(arguments: PlacementStrategies.names)
    func binpackAndSpreadScoreAcrossResources(strategy: String) throws {
        var scheduler = makeScheduler(strategy: try PlacementStrategies.named(strategy))
        for index in 0..<3 { try scheduler.addNode(cpuNode("n\(index)", cpu: 8, memoryGiB: 32)) }
        for index in 0..<6 { try scheduler.submit(cpuTask("t\(index)", cpu: 2, memoryGiB: 8), now: 0) }
        let actions = scheduler.schedule(now: 0)
        let nodes = Set(actions.bound.compactMap { actions.placement($0)?.first?.node })
        switch strategy {
        case "spread", "worst-fit": #expect(nodes.count == 3)
        default: #expect(nodes.count == 2)
        }
    }
}

struct GPUModelNameTests {
    @Test(arguments: [
        ("NVIDIA H100 80GB HBM3", "H100"), ("NVIDIA A100-SXM4-80GB", "A100"), ("Tesla V100-SXM2-16GB", "V100"),
        ("NVIDIA GeForce RTX 4090", "RTX4090"), ("NVIDIA RTX A6000", "A6000"), ("NVIDIA L4", "L4"), ("H100", "H100"), ("a100", "a100"),
        ("NVIDIA GH200 480GB", "GH200"),
    ])
    func productNamesShorten(name: String, short: String) {
        #expect(GPUModelName.normalize(name) == short)
    }

    @Test func aTaskAskingForTheShortNameFindsADiscoveredProductName() throws {
        var scheduler = makeScheduler()
        try scheduler.addNode(gpuNode("n1", [80], model: "NVIDIA H100 80GB HBM3"))
        try scheduler.submit(TaskSpec(id: "t", requests: ResourceRequest(gpus: 1, gpuModel: "h100")), now: 0)
        #expect(scheduler.schedule(now: 0).bound == ["t"])
    }
}

/// Fragmentation-aware packing on hand-worked cases where best-fit strands GPU capacity.
struct FragmentationTests {
    func share(_ id: String, _ gib: Int64, model: String? = nil) -> TaskSpec {
        TaskSpec(id: TaskID(id), requests: ResourceRequest(gpus: 1, gpuModel: model, gpuMemoryBytes: gib * GiB))
    }

    func whole(_ id: String, _ gpus: Int, model: String? = nil) -> TaskSpec {
        TaskSpec(id: TaskID(id), requests: ResourceRequest(gpus: gpus, gpuModel: model))
    }

    /// Node x has two 80 GiB GPUs, node y one. Best-fit puts a 40 GiB share on x's first GPU (every device is
    /// equally free; x joined first), and the 2-GPU task behind it finds no node with two free GPUs. With
    /// half the mix asking for two whole GPUs, the share on x would leave x's 1.5 free GPUs unusable for them
    /// (0.75 expected), on y only half of y's (−0.25): it goes to y, and the pair fits on x.
    @Test(arguments: [("best-fit", false), ("fragmentation", true)])
    func aShareLeavesTwoWholeGPUsTogether(strategy: String, pairStarts: Bool) throws {
        var scheduler = makeScheduler(strategy: try PlacementStrategies.named(strategy))
        try scheduler.addNode(gpuNode("x", [80, 80]))
        try scheduler.addNode(gpuNode("y", [80]))
        try scheduler.submit(share("share", 40), now: 0)
        try scheduler.submit(whole("pair", 2), now: 0)
        let actions = scheduler.schedule(now: 0)
        #expect(actions.placement("share")?.first?.node == NodeID(pairStarts ? "y" : "x"))
        #expect((actions.placement("pair") != nil) == pairStarts)
    }

    /// A T4 (16 GiB) and an A100 (80 GiB); an 8 GiB share of any model, then a task that needs the T4 whole.
    /// Best-fit takes the tightest device, the T4; fragmentation-aware packing sees that only the T4 serves
    /// T4 work and puts the share on the A100.
    @Test(arguments: [("best-fit", false), ("fragmentation", true)])
    func aShareOfAnyModelLeavesTheOnlyT4Free(strategy: String, t4Starts: Bool) throws {
        var scheduler = makeScheduler(strategy: try PlacementStrategies.named(strategy))
        try scheduler.addNode(gpuNode("t", [16], model: "T4"))
        try scheduler.addNode(gpuNode("a", [80], model: "A100"))
        try scheduler.submit(share("any", 8), now: 0)
        try scheduler.submit(whole("t4", 1, model: "T4"), now: 0)
        let actions = scheduler.schedule(now: 0)
        #expect(actions.placement("any")?.first?.node == NodeID(t4Starts ? "a" : "t"))
        #expect((actions.placement("t4") != nil) == t4Starts)
    }

    /// Node a has four A100s, node t one T4. Two A100 tasks take two of a's GPUs; then a 1-GPU task of any
    /// model, then one that needs the T4. Best-fit takes the tightest node, t. Counting the A100 work as unable
    /// to use t's T4 would make using up t look like a gain (the mix asks for A100s more than for T4s); such
    /// kinds are left out of a node's fragmentation, the two nodes score alike, the lowest (a) takes the task
    /// and the T4 task starts.
    @Test(arguments: [("best-fit", false), ("fragmentation", true)])
    func workPinnedToAnotherModelDoesNotPushAnyModelOntoTheOnlyT4(strategy: String, t4Starts: Bool) throws {
        var scheduler = makeScheduler(strategy: try PlacementStrategies.named(strategy))
        try scheduler.addNode(gpuNode("a", [80, 80, 80, 80], model: "A100"))
        try scheduler.addNode(gpuNode("t", [16], model: "T4"))
        try scheduler.submit(whole("a1", 1, model: "A100"), now: 0)
        try scheduler.submit(whole("a2", 1, model: "A100"), now: 0)
        try scheduler.submit(whole("any", 1), now: 0)
        try scheduler.submit(whole("t4", 1, model: "T4"), now: 0)
        let actions = scheduler.schedule(now: 0)
        #expect(actions.placement("any")?.first?.node == NodeID(t4Starts ? "a" : "t"))
        #expect((actions.placement("t4") != nil) == t4Starts)
    }

    @Test func theMixFollowsRecentDemandsAndKeepsTheHeaviestKinds() {
        var mix = RequestMix()
        let small = Demand(amounts: .zero, deviceCount: 1, shareBytes: 1, modelKey: 0, critical: false)
        let large = Demand(amounts: .zero, deviceCount: 2, shareBytes: 0, modelKey: 0, critical: false)
        mix.observe(small)
        mix.observe(large)
        mix.observe(large)
        let shares = Dictionary(uniqueKeysWithValues: mix.shares.map { ($0.demand.deviceCount, $0.share) })
        #expect(abs(shares[1]! + shares[2]! - 1) < 1e-12)
        #expect(shares[2]! > 2 * shares[1]!, "newer demands weigh a little more")
        for count in 3..<(3 + RequestMix.capacity) {
            mix.observe(Demand(amounts: .zero, deviceCount: count, shareBytes: 0, modelKey: 0, critical: false))
        }
        #expect(mix.kinds.count == RequestMix.capacity)
        #expect(mix.kinds.contains(large), "the heaviest kind stays")
        #expect(!mix.kinds.contains(small), "the lightest goes first")
    }
}
