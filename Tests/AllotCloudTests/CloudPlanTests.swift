import Foundation
import Testing

@testable import AllotCloud

struct CloudPlanTests {
    /// A catalog small enough to try every assignment of offers to tasks.
    let catalog = Catalog(
        offers: [
            CloudOffer(
                cloud: "aws",
                region: "us-east-1",
                instanceType: "p4d",
                vCPUs: 96,
                memoryGiB: 1152,
                gpu: "A100",
                gpuCount: 8,
                price: 22,
                spotPrice: 9
            ),
            CloudOffer(cloud: "aws", region: "us-east-1", instanceType: "c6i.8xlarge", vCPUs: 32, memoryGiB: 64, price: 1.36, spotPrice: 0.5),
            CloudOffer(cloud: "aws", region: "us-west-2", instanceType: "p4d", vCPUs: 96, memoryGiB: 1152, gpu: "A100", gpuCount: 8, price: 21),
            CloudOffer(cloud: "aws", region: "us-west-2", instanceType: "c6i.8xlarge", vCPUs: 32, memoryGiB: 64, price: 1.5),
            CloudOffer(
                cloud: "gcp",
                region: "europe-west4",
                zone: "europe-west4-a",
                instanceType: "a2-highgpu-8g",
                vCPUs: 96,
                memoryGiB: 680,
                gpu: "A100",
                gpuCount: 8,
                price: 19.42,
                spotPrice: 12
            ),
            CloudOffer(
                cloud: "gcp",
                region: "us-central1",
                zone: "us-central1-a",
                instanceType: "n2-standard-32",
                vCPUs: 32,
                memoryGiB: 128,
                price: 1.2
            ),
            CloudOffer(
                cloud: "lambda",
                region: "us-east-1",
                instanceType: "gpu_8x_a100",
                vCPUs: 124,
                memoryGiB: 1800,
                gpu: "A100",
                gpuCount: 8,
                price: 15.92
            ),
        ],
        source: "hand-priced"
    )

    let gangAndWorkers = CloudPlanSpec(
        tasks: [
            .init(name: "trainers", count: 4, gpus: "A100:8", group: "gang"),
            .init(name: "workers", count: 2, cpu: "32+", memory: "64GiB+", group: "gang"),
            .init(name: "eval", count: 1, cpu: "32+"),
        ],
        hours: 10
    )

    /// Every assignment of fitting offers, checked for the constraints: the true minimum.
    func bruteForce(_ spec: CloudPlanSpec) throws -> Double {
        let fitting = try spec.tasks.map { task throws -> [PricedOffer] in
            var parameters: [String: String] = [:]
            parameters["gpus"] = task.gpus
            parameters["cpu"] = task.cpu
            parameters["memory"] = task.memory
            return catalog.candidates(try OfferQuery(parameters: parameters), spot: spec.spot)
        }
        var best = Double.infinity
        func visit(_ index: Int, _ chosen: [PricedOffer]) {
            if index == spec.tasks.count {
                var regions: [String: String] = [:]
                for (task, offer) in zip(spec.tasks, chosen) {
                    guard let group = task.group else { continue }
                    let region = offer.offer.cloud + "/" + offer.offer.region
                    if let known = regions[group], known != region { return }
                    regions[group] = region
                }
                best = min(best, zip(spec.tasks, chosen).reduce(0) { $0 + Double($1.0.count) * $1.1.hourlyPrice } * spec.hours)
                return
            }
            for offer in fitting[index] { visit(index + 1, chosen + [offer]) }
        }
        visit(0, [])
        return best
    }

    /// A plan's size is bounded: a billion machines, a century or a thousand alternatives are refused, naming
    /// the field.
    @Test(arguments: [
        (CloudPlanSpec(tasks: [.init(name: "t", count: 1_000_000_000, cpu: "32+")]), "tasks.t.count"),
        (CloudPlanSpec(tasks: [.init(name: "t", count: 1, cpu: "32+")], hours: 876_000), "hours"),
        (CloudPlanSpec(tasks: [.init(name: "t", count: 1, cpu: "32+")], alternatives: 1_000), "alternatives"),
        (CloudPlanSpec(tasks: (0..<1_001).map { .init(name: "t\($0)", count: 1, cpu: "1+") }), "tasks"),
    ])
    func oversizedPlansAreRefused(spec: CloudPlanSpec, field: String) {
        #expect {
            try catalog.plan(spec)
        } throws: { error in
            "\(error)".hasPrefix(field + ":")
        }
    }

    @Test func aGangSharesARegionAndTheTotalIsTheTrueMinimum() throws {
        let plan = try catalog.plan(gangAndWorkers)
        // Lambda is cheapest for the trainers but has no CPU workers; us-west-2 (4 × 21 + 2 × 1.5 = 87/h) beats
        // us-east-1 (4 × 22 + 2 × 1.36 = 90.72/h); eval alone takes GCP's n2-standard-32 at 1.2/h.
        #expect(
            plan.best.choices.map { "\($0.task):\($0.offer.offer.cloud)/\($0.offer.offer.region)/\($0.offer.offer.instanceType)" } == [
                "trainers:aws/us-west-2/p4d", "workers:aws/us-west-2/c6i.8xlarge", "eval:gcp/us-central1/n2-standard-32",
            ]
        )
        #expect(abs(plan.best.hourlyCost - 88.2) < 1e-9)
        #expect(abs(plan.best.totalCost - 882) < 1e-9)
        #expect(abs(plan.best.totalCost - (try bruteForce(gangAndWorkers))) < 1e-9)
        // Failover: eval on AWS c6i in us-east-1 (87 + 1.36) or us-west-2 (87 + 1.5), then the gang in us-east-1 (90.72 + 1.2).
        #expect(plan.alternatives.map { ($0.hourlyCost * 100).rounded() / 100 } == [88.36, 88.5, 91.92])
        #expect(plan.alternatives.last?.choices.first?.offer.offer.region == "us-east-1")
    }

    @Test func spotAndSmallCasesAgreeWithExhaustiveSearch() throws {
        var spec = gangAndWorkers
        spec.spot = true
        let plan = try catalog.plan(spec)
        // Spot: us-east-1 becomes 4 × 9 + 2 × 0.5 = 37/h, eval on spot c6i at 0.5.
        #expect(abs(plan.best.hourlyCost - 37.5) < 1e-9)
        #expect(abs(plan.best.totalCost - (try bruteForce(spec))) < 1e-9)
        // Every small variant: with and without the group, each count.
        for grouped in [true, false] {
            for count in 1...3 {
                let variant = CloudPlanSpec(
                    tasks: [
                        .init(name: "a", count: count, gpus: "A100:8", group: grouped ? "g" : nil),
                        .init(name: "b", count: 1, cpu: "32+", group: grouped ? "g" : nil),
                    ],
                    hours: 2
                )
                #expect(abs((try catalog.plan(variant)).best.totalCost - (try bruteForce(variant))) < 1e-9)
            }
        }
    }

    @Test func cpuOnlyTasksStayOffAcceleratorMachines() throws {
        var query = OfferQuery(top: 20)
        try query.setGPUs("none")
        query.memoryGiB = AmountBound(64, atLeast: true)
        let offers = catalog.search(query)
        #expect(!offers.isEmpty && offers.allSatisfy { $0.offer.gpu == nil })
        // Only GPU machines have 1,000 GiB here: a CPU-only task of that size fits nothing.
        #expect(throws: CatalogError("tasks.w: no offer fits")) {
            try catalog.plan(CloudPlanSpec(tasks: [.init(name: "w", count: 2, gpus: "0", memory: "1000GiB+")]))
        }
        #expect(try catalog.plan(CloudPlanSpec(tasks: [.init(name: "w", count: 2, memory: "1000GiB+")])).best.choices.first?.offer.offer.gpu != nil)
    }

    @Test func impossibleRequestsAreRefusedWithTheReason() {
        #expect(throws: CatalogError("tasks.x: no offer fits")) { try catalog.plan(CloudPlanSpec(tasks: [.init(name: "x", gpus: "H100:8")])) }
        // GCP's region has the GPUs, us-central1 the 128 GiB worker: no region has both.
        let split = CloudPlanSpec(tasks: [
            .init(name: "gpu", gpus: "A100:8", group: "g"), .init(name: "big", cpu: "32", memory: "128GiB", group: "g"),
        ])
        #expect(throws: CatalogError("group g: no single region offers all of its tasks")) { try catalog.plan(split) }
        #expect(throws: CatalogError.self) { try catalog.plan(CloudPlanSpec(tasks: [])) }
    }

    /// 5 TB in AWS us-east-1 at AWS's first-tier prices: 0.02 USD/GB to another AWS region, 0.09 out of AWS.
    let egress = try! EgressPrices(encoded: "aws\t*\t0.09\t0.02\ngcp\t*\t0.12\t0.02\nlambda\t*\t0\t0\n")
    let data = DataLocation(cloud: "aws", region: "us-east-1", bytes: 5_000_000_000_000)

    @Test func aJobStaysBesideItsDataWhenEgressOutweighsACheaperGPUAndMovesWhenItDoesNot() throws {
        let task = CloudPlanSpec.Task(name: "train", gpus: "A100:8", inputs: [data])
        // 10 hours: staying costs 220; Lambda's 15.92/h saves 60.80 of compute but moving 5 TB costs 450.
        let short = try catalog.plan(CloudPlanSpec(tasks: [task], hours: 10, alternatives: 5), egress: egress)
        #expect(short.best.choices[0].offer.offer.cloud == "aws" && short.best.choices[0].offer.offer.region == "us-east-1")
        #expect(short.best.egressCost == 0 && abs(short.best.totalCost - 220) < 1e-9)
        let lambda = try #require(short.alternatives.first { $0.choices[0].offer.offer.cloud == "lambda" })
        #expect(abs(lambda.egressCost - 450) < 1e-9 && abs(lambda.computeCost - 159.2) < 1e-9 && abs(lambda.totalCost - 609.2) < 1e-9)
        let west = try #require(short.alternatives.first { $0.choices[0].offer.offer.region == "us-west-2" })
        #expect(abs(west.egressCost - 100) < 1e-9)
        // 100 hours: 607.92 of compute saved outweighs the 450 of egress, so the job goes to Lambda.
        let long = try catalog.plan(CloudPlanSpec(tasks: [task], hours: 100), egress: egress)
        #expect(long.best.choices[0].offer.offer.cloud == "lambda")
        #expect(abs(long.best.egressCost - 450) < 1e-9 && abs(long.best.totalCost - (1592 + 450)) < 1e-9)
        // Without its data the same job goes to the cheapest GPU at once.
        let light = try catalog.plan(CloudPlanSpec(tasks: [.init(name: "train", gpus: "A100:8")], hours: 10), egress: egress)
        #expect(light.best.choices[0].offer.offer.cloud == "lambda" && light.best.egressCost == 0)
    }

    @Test func dataWhereNoEgressPriceIsKnownIsRefusedAndTheBundledTableReads() throws {
        let elsewhere = CloudPlanSpec.Task(name: "t", gpus: "A100:8", inputs: [DataLocation(cloud: "vast", region: "x", bytes: 1)])
        #expect(throws: CatalogError("inputs: no egress price for vast (known: aws, gcp, lambda)")) {
            try catalog.plan(CloudPlanSpec(tasks: [elsewhere]), egress: egress)
        }
        let bundled = try EgressPrices.bundled()
        #expect(Set(["aws", "gcp", "azure", "lambda"]).isSubset(of: Set(bundled.clouds)))
        #expect(bundled.perGB(from: data, toCloud: "aws", region: "us-east-1") == 0)
        #expect(bundled.perGB(from: data, toCloud: "aws", region: "us-west-2") == 0.02)
        #expect(bundled.perGB(from: data, toCloud: "gcp", region: "us-central1") == 0.09)
        let sydney = DataLocation(cloud: "aws", region: "ap-southeast-2", bytes: 1)
        #expect(bundled.perGB(from: sydney, toCloud: "gcp", region: "us-central1") == 0.114)
        // A spec file names sizes with units.
        let decoded = try JSONDecoder().decode(
            CloudPlanSpec.self,
            from: Data(#"{"tasks": [{"name": "t", "inputs": [{"cloud": "AWS", "region": "us-east-1", "size": "5TB"}]}]}"#.utf8)
        )
        #expect(decoded.tasks[0].inputs == [data])
    }
}
