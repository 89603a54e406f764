import Foundation
import Testing

@testable import AllotCloud

/// A small catalog priced by hand: every answer below is worked out from these rows.
let handPriced = Catalog(
    offers: [
        CloudOffer(
            cloud: "aws",
            region: "us-east-1",
            instanceType: "p4d.24xlarge",
            vCPUs: 96,
            memoryGiB: 1152,
            gpu: "A100",
            gpuCount: 8,
            gpuMemoryGiB: 40,
            price: 21.96
        ),
        CloudOffer(
            cloud: "aws",
            region: "us-west-2",
            instanceType: "p4d.24xlarge",
            vCPUs: 96,
            memoryGiB: 1152,
            gpu: "A100",
            gpuCount: 8,
            gpuMemoryGiB: 40,
            price: 21.96
        ),
        CloudOffer(
            cloud: "gcp",
            region: "europe-west4",
            zone: "europe-west4-a",
            instanceType: "a2-highgpu-8g",
            vCPUs: 96,
            memoryGiB: 680,
            gpu: "A100",
            gpuCount: 8,
            gpuMemoryGiB: 40,
            price: 19.42,
            spotPrice: 12.49
        ),
        CloudOffer(
            cloud: "gcp",
            region: "us-central1",
            zone: "us-central1-a",
            instanceType: "a2-ultragpu-8g",
            vCPUs: 96,
            memoryGiB: 1360,
            gpu: "A100-80GB",
            gpuCount: 8,
            gpuMemoryGiB: 80,
            price: 40.22,
            spotPrice: 15.1
        ),
        CloudOffer(
            cloud: "lambda",
            region: "us-east-1",
            instanceType: "gpu_8x_a100",
            vCPUs: 124,
            memoryGiB: 1800,
            gpu: "A100",
            gpuCount: 8,
            gpuMemoryGiB: 40,
            price: 15.92
        ),
        CloudOffer(
            cloud: "lambda",
            region: "us-east-1",
            instanceType: "gpu_1x_a100",
            vCPUs: 30,
            memoryGiB: 200,
            gpu: "A100",
            gpuCount: 1,
            gpuMemoryGiB: 40,
            price: 1.99
        ),
        CloudOffer(cloud: "azure", region: "eastus", instanceType: "Standard_D8s_v5", vCPUs: 8, memoryGiB: 32, price: 0.384, spotPrice: 0.0768),
        CloudOffer(cloud: "aws", region: "us-east-1", instanceType: "m6i.2xlarge", vCPUs: 8, memoryGiB: 32, price: 0.384),
        CloudOffer(cloud: "aws", region: "us-east-1", instanceType: "m6i.4xlarge", vCPUs: 16, memoryGiB: 64, price: 0.768),
        CloudOffer(
            cloud: "gcp",
            region: "us-central1",
            zone: "us-central1-b",
            instanceType: "n2-standard-8",
            vCPUs: 8,
            memoryGiB: 32,
            price: 0.3885,
            spotPrice: 0.0939
        ),
    ],
    source: "hand-priced"
)

struct CatalogTests {
    func names(_ offers: [PricedOffer]) -> [String] { offers.map { "\($0.offer.cloud)/\($0.offer.region)/\($0.offer.instanceType)" } }

    @Test func eightA100sCheapestFirstWithTiesInAFixedOrder() throws {
        var query = OfferQuery(top: 10)
        try query.setGPUs("A100:8")
        let offers = handPriced.search(query)
        #expect(
            names(offers) == [
                "lambda/us-east-1/gpu_8x_a100", "gcp/europe-west4/a2-highgpu-8g", "aws/us-east-1/p4d.24xlarge", "aws/us-west-2/p4d.24xlarge",
            ]
        )
        #expect(offers.map(\.hourlyPrice) == [15.92, 19.42, 21.96, 21.96])
        // Spot: only offers sold as spot, at their spot price.
        query.capacity = .spot
        #expect(names(handPriced.search(query)) == ["gcp/europe-west4/a2-highgpu-8g"])
        // At least 8, any A100 name spelled in any case; and 80 GiB per GPU picks the other model.
        try query.setGPUs("a100:1+")
        query.capacity = .onDemand
        #expect(handPriced.search(query).first?.offer.instanceType == "gpu_1x_a100")
        var big = OfferQuery()
        big.gpuMemoryGiB = try AmountBound.parse("80GiB+", field: "gpu-memory", bytes: true)
        #expect(names(handPriced.search(big)) == ["gcp/us-central1/a2-ultragpu-8g"])
    }

    @Test func cpuMemoryCloudRegionPriceAndTopFilters() throws {
        var query = OfferQuery()
        query.cpus = try AmountBound.parse("8", field: "cpu")
        query.memoryGiB = try AmountBound.parse("32GiB", field: "memory", bytes: true)
        // Exactly 8 vCPUs and 32 GiB: equal prices ordered by cloud.
        #expect(names(handPriced.search(query)) == ["aws/us-east-1/m6i.2xlarge", "azure/eastus/Standard_D8s_v5", "gcp/us-central1/n2-standard-8"])
        query.cpus = try AmountBound.parse("16+", field: "cpu")
        query.memoryGiB = nil
        #expect(handPriced.search(query).first?.offer.instanceType == "m6i.4xlarge")
        query.clouds = ["gcp"]
        #expect(names(handPriced.search(query)) == ["gcp/europe-west4/a2-highgpu-8g", "gcp/us-central1/a2-ultragpu-8g"])
        query.region = "us-central1"
        #expect(names(handPriced.search(query)) == ["gcp/us-central1/a2-ultragpu-8g"])
        query = OfferQuery(maxPrice: 1, top: 2)
        #expect(names(handPriced.search(query)) == ["aws/us-east-1/m6i.2xlarge", "azure/eastus/Standard_D8s_v5"])
        #expect(throws: CatalogError.self) { try AmountBound.parse("lots", field: "cpu") }
        #expect(throws: CatalogError.self) {
            var bad = OfferQuery()
            try bad.setGPUs(":8")
        }
    }

    @Test func theFileFormRoundTrips() throws {
        // Offers come back grouped by region, each one whole.
        let read = try Catalog(encoded: handPriced.encoded())
        func key(_ offer: CloudOffer) -> String { "\(offer.cloud)|\(offer.region)|\(offer.zone ?? "")|\(offer.instanceType)" }
        #expect(read.offers.sorted { key($0) < key($1) } == handPriced.offers.sorted { key($0) < key($1) })
        #expect(read.source == "hand-priced")
        #expect(throws: CatalogError.self) { try Catalog(encoded: "T\taws\tx\n") }
    }

    @Test func theBundledCatalogHasEveryCloudAndKnownPrices() throws {
        let start = ContinuousClock.now
        let catalog = try Catalog.bundled()
        let elapsed = ContinuousClock.now - start
        #expect(Set(catalog.offers.map(\.cloud)) == ["aws", "gcp", "azure", "lambda", "vast", "alicloud", "huaweicloud"])
        #expect(catalog.offers.count > 100_000)
        #expect(catalog.source.contains("2026-05-20"))
        // Cheapest 8 × A100 and 8 × H100 on demand per cloud, against list prices the sources cite.
        func cheapest(_ gpus: String, _ cloud: String) throws -> PricedOffer? {
            var query = OfferQuery(clouds: [cloud], top: 1)
            try query.setGPUs(gpus)
            return catalog.search(query).first
        }
        #expect(try cheapest("A100:8", "aws")?.offer.instanceType == "p4d.24xlarge")
        #expect(try cheapest("A100:8", "aws").map { abs($0.hourlyPrice - 21.9576) < 1e-3 } == true)
        // GCP: the a2-highgpu-8g host plus eight A100s, in europe-west4 ($19.42).
        #expect(try cheapest("A100:8", "gcp").map { $0.offer.instanceType == "a2-highgpu-8g" && abs($0.hourlyPrice - 19.4217) < 1e-3 } == true)
        #expect(try cheapest("A100:8", "azure")?.offer.instanceType == "Standard_ND96asr_v4")
        #expect(try cheapest("A100:8", "lambda")?.offer.instanceType == "gpu_8x_a100")
        #expect(try cheapest("H100:8", "aws").map { $0.offer.instanceType == "p5.48xlarge" && abs($0.hourlyPrice - 55.04) < 1e-3 } == true)
        #expect(try cheapest("H100:8", "azure")?.offer.instanceType == "Standard_ND96isr_H100_v5")
        #expect(try cheapest("H100:8", "lambda")?.offer.instanceType == "gpu_8x_h100_sxm5")
        // GCP's a4-highgpu-8g: host listed at 0, eight B200s at $64.44 an hour.
        #expect(try cheapest("B200:8", "gcp").map { $0.offer.instanceType == "a4-highgpu-8g" && abs($0.hourlyPrice - 64.44) < 1e-3 } == true)
        // AWS has no spot prices in this data; GCP has.
        var spot = OfferQuery(capacity: .spot, clouds: ["aws"])
        try spot.setGPUs("H100:8")
        #expect(catalog.search(spot).isEmpty)
        spot.clouds = ["gcp"]
        #expect(!catalog.search(spot).isEmpty)
        // Loading stays well within start-up budgets even in a debug build.
        #expect(elapsed < .seconds(5))
    }
}

struct ReaderTests {
    @Test func csvQuotesCRLFAndAzuresUnquotedComma() {
        let table = CSVTable("A,B,C\r\n1,\"x, \"\"y\"\"\",3\r\nt,u,V1,V2\n")
        #expect(table.rows == [["1", "x, \"y\"", "3"], ["t", "u", "V1,V2"]])
    }

    @Test func gcpHostsGetTheirAcceleratorsAdded() throws {
        let csv = """
            InstanceType,vCPUs,MemoryGiB,AcceleratorName,AcceleratorCount,GpuInfo,Region,AvailabilityZone,Price,SpotPrice
            a2-highgpu-8g,96.0,680.0,,,,europe-west4,europe-west4-a,6.51251,2.67308
            ,,,A100,8,{'Gpus': [{'MemoryInfo': {'SizeInMiB': 40960}}]},europe-west4,europe-west4-a,12.9092,9.8208
            n1-standard-8,8.0,30.0,,,,europe-west4,europe-west4-a,0.38,0.08
            n1-standard-32,32.0,120.0,,,,europe-west4,europe-west4-a,1.52,0.32
            ,,,V100,1,{'Gpus': [{'MemoryInfo': {'SizeInMiB': 16384}}]},europe-west4,europe-west4-a,2.48,0.74
            a2-highgpu-8g,96.0,680.0,,,,europe-west4,europe-west4-c,6.51251,2.67308
            ,,,tpu-v5litepod-8,1,,europe-west4,europe-west4-a,9.6,4.2
            """
        let offers = try GCPReader().offers(from: Data(csv.utf8))
        let a2 = try #require(offers.first { $0.instanceType == "a2-highgpu-8g" })
        #expect(a2.gpu == "A100" && a2.gpuCount == 8 && a2.gpuMemoryGiB == 40)
        #expect(abs((a2.price ?? 0) - 19.42171) < 1e-9)
        #expect(abs((a2.spotPrice ?? 0) - 12.49388) < 1e-9)
        // No A100 rows in zone c: no a2 offer there.
        #expect(!offers.contains { $0.zone == "europe-west4-c" })
        // One V100 fits an 8-vCPU N1 host (at most 12 vCPUs), not a 32-vCPU one; both are CPU offers too.
        #expect(offers.filter { $0.instanceType == "n1-standard-8" }.map(\.gpu) == [nil, "V100"])
        #expect(offers.filter { $0.instanceType == "n1-standard-32" }.map(\.gpu) == [nil])
        #expect(offers.first { $0.gpu == "V100" }.map { abs(($0.price ?? 0) - 2.86) < 1e-9 } == true)
        #expect(offers.contains { $0.instanceType == "tpu-v5litepod-8" && $0.price == 9.6 })
    }

    @Test func gcpHostsPricedWhollyInTheirAcceleratorRowsAreKept() throws {
        // As GCP's a4-highgpu-8g is listed: host 0.0, the whole price on the B200 row; an N2 at 0 stays unsold.
        let csv = """
            InstanceType,vCPUs,MemoryGiB,AcceleratorName,AcceleratorCount,GpuInfo,Region,AvailabilityZone,Price,SpotPrice
            a4-highgpu-8g,224.0,3968.0,,,,us-central1,us-central1-b,0.0,0.0
            ,,,B200,8,{'Gpus': [{'MemoryInfo': {'SizeInMiB': 184320}}]},us-central1,us-central1-b,64.44,41.0848
            n2-standard-8,8.0,32.0,,,,us-central1,us-central1-b,0.0,0.0
            """
        let offers = try GCPReader().offers(from: Data(csv.utf8))
        #expect(offers.map(\.instanceType) == ["a4-highgpu-8g"])
        let a4 = try #require(offers.first)
        #expect(a4.gpu == "B200" && a4.gpuCount == 8 && a4.gpuMemoryGiB == 180)
        #expect(a4.price == 64.44 && a4.spotPrice == 41.0848)
    }

    @Test func skyPilotRowsOfOtherClouds() throws {
        let aws = """
            InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region,AvailabilityZone,Arch
            p5.48xlarge,H100,8.0,192.0,2048.0,"{'Gpus': [{'Name': 'H100', 'Count': 8.0, 'MemoryInfo': {'SizeInMiB': 81920}}], 'TotalGpuMemoryInMiB': 655360}",55.04,,us-east-1,,x86_64
            m7g.large,,,2.0,8.0,,0.0816,,us-east-1,,arm64
            """
        let offers = try SkyPilotReader(cloud: "aws", zoned: false).offers(from: Data(aws.utf8))
        #expect(offers.count == 2)
        #expect(offers[0].gpuMemoryGiB == 80 && offers[0].spotPrice == nil && offers[0].price == 55.04)
        #expect(offers[1].arch == "arm64" && offers[1].gpu == nil)
        let azure = """
            InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region,Generation
            Standard_ND96asr_v4,A100,8,96,900,A100,27.197,5.4394,eastus,V1,V2
            """
        let azureOffers = try SkyPilotReader(cloud: "azure", zoned: false).offers(from: Data(azure.utf8))
        #expect(azureOffers.first?.gpuMemoryGiB == 40 && azureOffers.first?.region == "eastus")
        let vast = """
            InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region
            8x-H100,H100,8,32,64.0,"{'Gpus': [{'Name': 'H100', 'Count': 8, 'MemoryInfo': {'SizeInMiB': 655360}}]}",14.94,0.00,"Vietnam, VN, AS"
            """
        let vastOffer = try #require(try SkyPilotReader(cloud: "vast", zoned: false, gpuMemoryIsTotal: true).offers(from: Data(vast.utf8)).first)
        #expect(vastOffer.gpuMemoryGiB == 80 && vastOffer.spotPrice == nil && vastOffer.region == "Vietnam, VN, AS")
        #expect(throws: CatalogError.self) { try SkyPilotReader(cloud: "x", zoned: false).offers(from: Data("A,B\n1,2\n".utf8)) }
    }
}
