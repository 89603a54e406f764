import AllotCloud
import Testing

/// The autoscaler's choice of machines, on a small hand-priced catalog.
struct ScaleOutPlannerTests {
    static let catalog = Catalog(
        offers: [
            CloudOffer(
                cloud: "aws",
                region: "r1",
                instanceType: "g.small",
                vCPUs: 4,
                memoryGiB: 16,
                gpu: "T4",
                gpuCount: 1,
                price: 0.50,
                spotPrice: 0.20
            ),
            CloudOffer(cloud: "aws", region: "r1", instanceType: "g.quad", vCPUs: 48, memoryGiB: 192, gpu: "T4", gpuCount: 4, price: 1.60),
            CloudOffer(cloud: "aws", region: "r1", instanceType: "g.big", vCPUs: 96, memoryGiB: 384, gpu: "T4", gpuCount: 8, price: 6.00),
            CloudOffer(cloud: "aws", region: "r2", instanceType: "g.small", vCPUs: 4, memoryGiB: 16, gpu: "T4", gpuCount: 1, price: 0.30),
            CloudOffer(cloud: "gcp", region: "r1", instanceType: "n.gpu", vCPUs: 4, memoryGiB: 16, gpu: "T4", gpuCount: 1, price: 0.01),
            CloudOffer(cloud: "aws", region: "r1", instanceType: "c.large", vCPUs: 8, memoryGiB: 32, price: 0.10),
        ],
        source: "hand-priced"
    )

    static func gpuJob(_ name: String, gpus: Int = 1, spot: Bool = false) -> InstanceDemand {
        InstanceDemand(job: name, vCPUs: 2, memoryGiB: 8, gpus: gpus, spotAllowed: spot)
    }

    static func limits(nodes: Int = 100, spend: Double = 100, spot: Bool = false, regions: [String] = ["r1"]) -> ScaleOutLimits {
        ScaleOutLimits(cloud: "aws", regions: regions, spot: spot, nodesLeft: nodes, spendLeft: spend)
    }

    @Test func fullMachinesAtTheLowestPricePerReplicaAndTheRemainderOnTheCheapestThatHoldsIt() {
        // Nine 1-GPU jobs: g.quad holds 4 at $0.40 each, g.small 1 at $0.50; g.big 8 at $0.75 each.
        let plan = Self.catalog.scaleOut((1...9).map { Self.gpuJob("j\($0)") }, limits: Self.limits())
        #expect(plan.instances.map(\.offer.offer.instanceType) == ["g.quad", "g.quad", "g.small"])
        #expect(plan.instances.map(\.jobs) == [["j1", "j2", "j3", "j4"], ["j5", "j6", "j7", "j8"], ["j9"]])
        #expect(plan.refused.isEmpty)
        #expect(plan.lowerBound == 2)  // nine replicas, at most eight on one machine
        // Only the allowed cloud and regions: gcp's cheaper offer and r2's are not considered.
        #expect(plan.instances.allSatisfy { $0.offer.offer.cloud == "aws" && $0.offer.offer.region == "r1" })
        #expect(plan.instances[0].alternatives.first?.offer.instanceType == "g.small")
    }

    @Test func spotOnlyForPreemptibleJobsAndOnlyWhenAllowed() {
        let jobs = [Self.gpuJob("batch", spot: true), Self.gpuJob("serve")]
        let withSpot = Self.catalog.scaleOut(jobs, limits: Self.limits(spot: true))
        #expect(
            withSpot.instances.map { "\($0.jobs[0]) \($0.offer.capacity.rawValue) \($0.offer.offer.instanceType)" } == [
                "batch spot g.small", "serve on-demand g.small",
            ]
        )
        let withoutSpot = Self.catalog.scaleOut(jobs, limits: Self.limits(spot: false))
        #expect(withoutSpot.instances.allSatisfy { $0.offer.capacity == .onDemand })
    }

    @Test func limitsOnNodesAndSpendNameThemselvesOnTheJobsLeftOver() {
        let nodes = Self.catalog.scaleOut([Self.gpuJob("a", gpus: 4), Self.gpuJob("b", gpus: 4)], limits: Self.limits(nodes: 1))
        #expect(nodes.instances.map(\.jobs) == [["a"]])
        #expect(nodes.refused["b"]?.contains("max nodes") == true)
        let spend = Self.catalog.scaleOut([Self.gpuJob("a")], limits: Self.limits(spend: 0.3))
        #expect(spend.instances.isEmpty)
        #expect(spend.refused["a"]?.contains("max spend per hour leaves $0.3000/h") == true)
        // A gang cut by a limit buys nothing for itself.
        let gang = InstanceDemand(job: "gang", replicas: 3, vCPUs: 40, memoryGiB: 100, gpus: 4)
        let cut = Self.catalog.scaleOut([gang], limits: Self.limits(nodes: 2))
        #expect(cut.instances.isEmpty && cut.refused["gang"] != nil)
    }

    @Test func aShapeNoAllowedTypeFitsIsRefusedWithWhatItNeeds() {
        let plan = Self.catalog.scaleOut([InstanceDemand(job: "huge", vCPUs: 2, memoryGiB: 8, gpus: 16)], limits: Self.limits())
        #expect(plan.instances.isEmpty)
        #expect(plan.refused["huge"]?.contains("16 × GPU") == true)
        // CPU-only work takes the CPU machine, not a GPU one.
        let cpu = Self.catalog.scaleOut([InstanceDemand(job: "etl", vCPUs: 8, memoryGiB: 30)], limits: Self.limits())
        #expect(cpu.instances.map(\.offer.offer.instanceType) == ["c.large"])
    }

    @Test func aJobWithDataStaysInItsRegionUnlessItRunsLongEnoughToPayForMovingIt() {
        // 1 TB in r1; r2's machine is 0.20/h cheaper, and moving the data there costs 0.02/GB = 20.
        let egress = EgressPrices(rates: ["aws": ["*": .init(internet: 0.09, interRegion: 0.02)]])
        let data = [DataLocation(cloud: "aws", region: "r1", bytes: 1_000_000_000_000)]
        func plan(hours: Double) -> ScaleOutPlan {
            let job = InstanceDemand(job: "j", vCPUs: 2, memoryGiB: 8, gpus: 1, data: data, hours: hours)
            return Self.catalog.scaleOut([job], limits: Self.limits(regions: ["r1", "r2"]), egress: egress)
        }
        // 10 h: 5.00 in r1 against 3.00 + 20 in r2.
        #expect(plan(hours: 10).instances.map(\.offer.offer.region) == ["r1"])
        // 200 h: 100 in r1 against 60 + 20 in r2.
        #expect(plan(hours: 200).instances.map(\.offer.offer.region) == ["r2"])
        // Without data, r2's lower price wins at once.
        let plain = Self.catalog.scaleOut([Self.gpuJob("j")], limits: Self.limits(regions: ["r1", "r2"]), egress: egress)
        #expect(plain.instances.map(\.offer.offer.region) == ["r2"])
    }
}
