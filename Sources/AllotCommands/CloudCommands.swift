import AllotCLI
import AllotCloud
import AllotCore
import ArgumentParser
import Foundation

/// `allot catalog import DIR`.
public struct CatalogCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Build the cloud price catalog.",
        subcommands: [CatalogImportCommand.self]
    )

    public init() {}
}

/// `allot catalog import DIR [--to FILE] [--as-of TEXT]`.
public struct CatalogImportCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Read SkyPilot-schema price files (and the other clouds' readers) into a compact catalog file."
    )

    @Argument(help: "The directory with one folder per cloud (aws/vms.csv, gcp/vms.csv, …).") public var directory: String
    @Option(help: "Where to write the catalog.") public var to: String = "catalog.tsv"
    @Option(name: .customLong("as-of"), help: "When the data was collected, kept in the catalog.") public var asOf: String = "unknown"

    public init() {}

    public func run() async throws {
        let started = ContinuousClock.now
        let (catalog, counts, skipped) = try Catalog.importing(
            from: directory,
            source: "data as of \(asOf); imported from \((directory as NSString).lastPathComponent)"
        )
        let text = catalog.encoded()
        try text.write(toFile: to, atomically: true, encoding: .utf8)
        let commitments = try CommitmentPrices.importing(from: directory)
        let commitmentsFile = ((to as NSString).deletingLastPathComponent as NSString).appendingPathComponent("commitments.tsv")
        try commitments.encoded(source: "data as of \(asOf); imported from \((directory as NSString).lastPathComponent)")
            .write(toFile: commitmentsFile, atomically: true, encoding: .utf8)
        print("wrote \(commitmentsFile): \(commitments.awsReserved.count) AWS reserved prices, \(commitments.gcpCommitted.count) GCP committed rates")
        for (cloud, count) in counts.sorted(by: { $0.key < $1.key }) { print("\(cloud): \(count) offers") }
        for file in skipped { print("skipped (not found): \(file)") }
        print("wrote \(to): \(catalog.offers.count) offers, \(Quantity.formatBytes(Int64(text.utf8.count))) in \(ContinuousClock.now - started)")
    }
}

/// `allot cloud offers`.
public struct CloudCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cloud",
        abstract: "Cloud prices, and machines bought and given back.",
        subcommands: [
            OffersCommand.self, CloudPlanCommand.self, CloudLaunchCommand.self, CloudInstancesCommand.self, CloudTerminateCommand.self,
        ]
    )

    public init() {}
}

/// The search options `allot cloud offers` and the API share.
public struct OfferOptions: ParsableArguments {
    @Option(help: "Accelerators: NAME[:COUNT[+]], e.g. A100:8.") public var gpus: String?
    @Option(help: "vCPUs: 8 (exactly) or 8+ (at least).") public var cpu: String?
    @Option(help: "Memory: 32GiB or 32GiB+.") public var memory: String?
    @Option(name: .customLong("gpu-memory"), help: "Memory of each accelerator: 80GiB+.") public var gpuMemory: String?
    @Flag(help: "Spot (preemptible) prices instead of on-demand.") public var spot = false
    @Option(help: "Only these clouds, comma-separated: aws,gcp,azure,lambda,vast,alicloud,huaweicloud.") public var cloud: String?
    @Option(help: "Only this region.") public var region: String?
    @Option(name: .customLong("max-price"), help: "At most this many USD per hour.") public var maxPrice: Double?
    @Option(help: "How many offers.") public var top: Int = 10

    public init() {}

    public func query() throws -> OfferQuery {
        var parameters: [String: String] = ["top": String(top), "spot": String(spot)]
        parameters["gpus"] = gpus
        parameters["cpu"] = cpu
        parameters["memory"] = memory
        parameters["gpuMemory"] = gpuMemory
        parameters["cloud"] = cloud
        parameters["region"] = region
        parameters["maxPrice"] = maxPrice.map { String($0) }
        do { return try OfferQuery(parameters: parameters) } catch { throw ValidationError("--\(error.message)") }
    }
}

/// `allot cloud offers [--gpus A100:8] [--cpu 8+] …`.
public struct OffersCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "offers", abstract: "The cheapest offers that fit, from the bundled catalog.")

    @OptionGroup public var search: OfferOptions
    @Option(help: "A catalog file instead of the bundled one.") public var catalog: String?
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws { _ = try search.query() }

    public func run() async throws {
        let catalog = try loadCatalog(self.catalog)
        let offers = catalog.search(try search.query())
        if output.output == .json {
            print(try JSONOutput.render(offers))
            return
        }
        var table = TextTable(["CLOUD", "REGION", "ZONE", "INSTANCE", "VCPUS", "MEMORY", "ACCELERATORS", "CAPACITY", "USD/H"])
        for priced in offers {
            let offer = priced.offer
            let accelerators = offer.gpu.map { name in
                "\(Quantity.format(offer.gpuCount))x\(name)" + (offer.gpuMemoryGiB.map { " \(Quantity.format($0))GiB" } ?? "")
            }
            table.add([
                offer.cloud, offer.region, offer.zone ?? "-", offer.instanceType, Quantity.format(offer.vCPUs),
                "\(Quantity.format(offer.memoryGiB))GiB",
                accelerators ?? "-", priced.capacity.rawValue, String(format: "%.4f", priced.hourlyPrice),
            ])
        }
        print(table.render())
        print("(\(catalog.source))")
    }
}

/// `allot cloud plan spec.json`.
public struct CloudPlanCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "The minimum-cost cloud placement of several tasks (groups share a region), with failover alternatives."
    )

    @Argument(
        help:
            "A JSON spec: {\"tasks\": [{\"name\", \"count\", \"gpus\", \"cpu\", \"memory\", \"gpuMemory\", \"group\", \"inputs\": [{\"cloud\", \"region\", \"size\"}]}], \"spot\", \"hours\", \"clouds\"}; inputs pay egress to leave their region."
    )
    public var spec: String
    @Option(help: "A catalog file instead of the bundled one.") public var catalog: String?
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func run() async throws {
        guard let data = FileManager.default.contents(atPath: spec) else { throw CommandFailure("cannot read \(spec)") }
        let decoded: CloudPlanSpec
        do { decoded = try JSONDecoder().decode(CloudPlanSpec.self, from: data) } catch { throw CommandFailure("\(spec): \(error)") }
        let plan = try loadCatalog(self.catalog).plan(decoded)
        if output.output == .json {
            print(try JSONOutput.render(plan))
            return
        }
        func render(_ option: CloudPlan.Option) -> String {
            var table = TextTable(["TASK", "COUNT", "CLOUD", "REGION", "ZONE", "INSTANCE", "CAPACITY", "USD/H EACH", "EGRESS", "COST"])
            for choice in option.choices {
                let offer = choice.offer.offer
                table.add([
                    choice.task, "\(choice.count)", offer.cloud, offer.region, offer.zone ?? "-", offer.instanceType, choice.offer.capacity.rawValue,
                    String(format: "%.4f", choice.offer.hourlyPrice), String(format: "%.2f", choice.egressCost), String(format: "%.2f", choice.cost),
                ])
            }
            return table.render() + "\n"
                + String(
                    format: "total %.2f USD: compute %.2f (%.4f USD/h × %@ h) + egress %.2f",
                    option.totalCost,
                    option.computeCost,
                    option.hourlyCost,
                    Quantity.format(decoded.hours),
                    option.egressCost
                )
        }
        print(render(plan.best))
        print("(\(plan.method))")
        for (index, option) in plan.alternatives.enumerated() {
            print("\nalternative \(index + 1):")
            print(render(option))
        }
    }
}

func loadCatalog(_ path: String?) throws -> Catalog {
    guard let path else { return try Catalog.bundled() }
    guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure("cannot read \(path)") }
    return try Catalog(encoded: String(decoding: data, as: UTF8.self))
}

/// `allot bench catalog`: catalog load time and warm offer-query time.
public struct CatalogBenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Load the bundled catalog and time offer queries over all of it; print load time and query latency."
    )

    @Option(help: "Queries per kind.") public var repeats: Int = 200
    @Option(help: "A catalog file instead of the bundled one.") public var catalog: String?

    public init() {}

    public func run() async throws {
        var loads: [Double] = []
        var loaded: Catalog?
        for _ in 0..<5 {
            let start = ContinuousClock.now
            loaded = try loadCatalog(self.catalog)
            loads.append(Self.milliseconds(ContinuousClock.now - start))
        }
        let catalog = loaded!
        var table = TextTable(["QUERY", "MATCHES (TOP)", "P50", "P99", "MAX"])
        table.add([
            "load (5 runs)", "\(catalog.offers.count) offers", "\(Quantity.format(Self.rounded(loads.sorted()[2]))) ms", "-",
            "\(Quantity.format(Self.rounded(loads.max()!))) ms",
        ])
        let queries: [(String, OfferQuery)] = [
            ("8 x A100, on-demand", try Self.query { try $0.setGPUs("A100:8") }),
            (
                "8 x H100, spot",
                try Self.query {
                    try $0.setGPUs("H100:8")
                    $0.capacity = .spot
                }
            ),
            (
                "8+ vCPUs, 32GiB+, any cloud",
                try Self.query {
                    $0.cpus = AmountBound(8, atLeast: true)
                    $0.memoryGiB = AmountBound(32, atLeast: true)
                }
            ),
            (
                "any 80GiB+ GPU, top 50",
                try Self.query {
                    $0.gpuMemoryGiB = AmountBound(80, atLeast: true)
                    $0.top = 50
                }
            ),
        ]
        for (name, query) in queries {
            var times: [Double] = []
            var count = 0
            for _ in 0..<repeats {
                let start = ContinuousClock.now
                count = catalog.search(query).count
                times.append(Self.milliseconds(ContinuousClock.now - start))
            }
            times.sort()
            table.add([
                name, "\(count)", "\(Quantity.format(Self.rounded(times[times.count / 2]))) ms",
                "\(Quantity.format(Self.rounded(times[min(times.count - 1, times.count * 99 / 100)]))) ms",
                "\(Quantity.format(Self.rounded(times.last!))) ms",
            ])
        }
        print(table.render())
    }

    static func query(_ body: (inout OfferQuery) throws -> Void) throws -> OfferQuery {
        var query = OfferQuery()
        try body(&query)
        return query
    }

    static func milliseconds(_ duration: Swift.Duration) -> Double { duration.inSeconds * 1000 }

    static func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
}
