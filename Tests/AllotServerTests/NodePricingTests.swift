import AllotAPI
import AllotCore
import AllotStore
import HTTPTypes
import Testing

@testable import AllotServer

@Suite struct NodePricingTests {
    func join(_ plane: ControlPlane, _ name: String, pricing: NodePricing) async throws -> NodeStatus? {
        var node = inventory(name, cpu: 8, gpus: 1)
        node.pricing = pricing
        _ = try await plane.report(AgentReport(node: name, inventory: node))
        return await plane.node(name)
    }

    @Test func cloudNodesArePricedFromTheCatalogAndOnPremisesOnesAsDeclared() async throws {
        let plane = try await makePlane(MemoryStore(), ManualClock())
        let cloud = try await join(plane, "p5", pricing: try NodePricing.parse("cloud=aws,region=us-east-1,type=p5.48xlarge"))
        #expect(cloud?.inventory.pricing?.hourlyPrice == 55.04)
        #expect(cloud?.inventory.pricing?.priceSource == "catalog")
        // GCP spot, cheapest zone of the region: the a2-highgpu-8g host plus its eight A100s.
        let spot = try await join(plane, "a2", pricing: try NodePricing.parse("cloud=gcp,region=europe-west4,type=a2-highgpu-8g,capacity=spot"))
        #expect(spot?.inventory.pricing.flatMap(\.hourlyPrice).map { $0 > 0 && $0 < 19.4217 } == true)
        let rack = try await join(plane, "rack1", pricing: try NodePricing.parse("cloud=on-prem,price=3.2"))
        #expect(rack?.inventory.pricing == NodePricing(cloud: "on-prem", hourlyPrice: 3.2, priceSource: "declared"))
        await #expect(
            throws: APIError(
                .unprocessableContent,
                .invalidField,
                "inventory.pricing: no on-demand price for aws p9.mega in us-east-1 in the catalog; give a price"
            )
        ) {
            _ = try await join(plane, "bad", pricing: NodePricing(cloud: "aws", region: "us-east-1", instanceType: "p9.mega"))
        }
        let metrics = plane.metrics.exposition(await plane.gaugeSamples())
        #expect(
            metrics.contains(
                #"allot_node_price_usd_per_hour{node="p5",cloud="aws",region="us-east-1",instance_type="p5.48xlarge",capacity="on-demand"} 55.04"#
            )
        )
    }

    @Test func pricingTextIsCheckedKeyByKey() {
        #expect(throws: InputError.self) { try NodePricing.parse("region=us-east-1,type=x") }
        #expect(throws: InputError.self) { try NodePricing.parse("cloud=aws,type=x") }
        #expect(throws: InputError.self) { try NodePricing.parse("cloud=aws,flavour=x") }
        #expect(throws: InputError.self) { try NodePricing.parse("cloud=on-prem,price=-1") }
        #expect(throws: InputError.self) { try NodePricing.parse("cloud=aws,region=r,type=t,capacity=reserved") }
    }
}
