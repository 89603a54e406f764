import AllotAPI
import AllotCLI
import AllotCloud
import AllotCore
import AllotServer
import AllotStore
import ArgumentParser
import Foundation
import Logging
import Synchronization

/// `allot bench autoscale --jobs 1000`: how fast the autoscaler turns a queue that fits no node into
/// `RunInstances` calls, and how many machines it buys against the fewest that could hold the work. It
/// speaks to the EC2 endpoint of the environment (`AWS_ENDPOINT_URL`: moto's server, or AWS itself).
public struct AutoscaleBenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "autoscale",
        abstract: "Time from a queue of GPU jobs to the autoscaler's RunInstances calls, and machines bought against the lower bound."
    )

    @Option(help: "Jobs queued on an empty cluster.") public var jobs: Int = 1_000
    @Option(help: "The region.") public var region: String = "us-east-1"
    @Option(help: "Instance families allowed, comma-separated.") public var families: String = "g4dn,g5,g6,p4d,p5"
    @Option(help: "The machine image (no lookup).") public var image: String = "ami-1e749f67"

    public init() {}

    public func validate() throws {
        guard (1...100_000).contains(jobs) else { throw ValidationError("--jobs: 1 to 100000") }
    }

    public func run() async throws {
        let cloud = TimedProvider(inner: try cloudProvider(named: "aws"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("allot-autoscale-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }  // scratch space; nothing to keep
        var serverConfiguration = ServerConfiguration(scheduler: SchedulerConfiguration(headroom: 0, rejectInfeasible: false))
        serverConfiguration.defaultRequests = .zero
        let plane = try await ControlPlane.start(store: MemoryStore(), configuration: serverConfiguration)
        let allowed = families.split(separator: ",").map(String.init)
        let settings = AutoscalerConfiguration(
            regions: [region],
            instanceFamilies: allowed,
            maxNodes: jobs,
            maxSpendPerHour: 1_000_000,
            pendingSeconds: 0,
            image: image,
            serverURL: "http://127.0.0.1:7070"
        )
        let catalog = try Catalog.bundled()
        var logger = Logger(label: "allot.bench")
        logger.logLevel = .critical
        let autoscaler = try Autoscaler(
            configuration: settings,
            provider: cloud,
            catalog: catalog,
            plane: plane,
            ledgerPath: directory + "/intents.json",
            joinToken: "bench",
            logger: logger
        )
        // A mix like a training queue: mostly 1 GPU, some 2, 4 and 8; 4 vCPUs and 16 GiB per GPU.
        let mix = [1, 1, 1, 1, 1, 1, 2, 2, 4, 8]
        let started = ContinuousClock.now
        var demands: [InstanceDemand] = []
        for index in 0..<jobs {
            let gpus = mix[index % mix.count]
            let task = TaskSpec(
                id: "x",
                requests: ResourceRequest(resources: ResourceVector(cpuMillis: Int64(4_000 * gpus), memoryBytes: Int64(16 * gpus) << 30), gpus: gpus)
            )
            let job = try await plane.submit(JobSubmission(command: ["train"], task: task))
            demands.append(InstanceDemand(job: job.id.rawValue, vCPUs: Double(4 * gpus), memoryGiB: Double(16 * gpus), gpus: gpus))
        }
        await plane.quiesce()
        let submitted = ContinuousClock.now
        await autoscaler.pass()
        let passed = ContinuousClock.now
        let launches = cloud.launches
        let status = plane.provisioning.intents
        let bought = status.filter { $0.instanceID != nil }
        let bound = catalog.scaleOut(
            demands,
            limits: ScaleOutLimits(cloud: "aws", regions: [region], families: allowed, nodesLeft: .max, spendLeft: .infinity)
        )
        let spend = bought.map(\.hourlyPrice).reduce(0, +)
        print("autoscale bench: \(jobs) jobs (GPUs per job 1×60 %, 2×20 %, 4×10 %, 8×10 %), aws \(region), families \(families)")
        print(String(format: "submitted and admitted in %.3f s (durable in memory)", (submitted - started).inSeconds))
        if let first = launches.min(), let last = launches.max() {
            print(
                String(
                    format: "RunInstances: first %.1f ms, last %.1f ms after the last submission; the pass took %.3f s",
                    (first - submitted).inSeconds * 1000,
                    (last - submitted).inSeconds * 1000,
                    (passed - submitted).inSeconds
                )
            )
        }
        let types = Dictionary(grouping: bought, by: \.instanceType).map { "\($0.value.count)×\($0.key)" }.sorted().joined(separator: ", ")
        print("instances launched: \(bought.count) of \(launches.count) calls (\(types)); lower bound \(bound.lowerBound)")
        print(String(format: "hourly cost of what was bought: $%.2f/h; refused: %d jobs", spend, status.filter { $0.state == .failed }.count))
        await plane.shutdown()
    }
}

/// A provider that notes when each launch was asked for.
final class TimedProvider: CloudProvider {
    let inner: any CloudProvider
    private let times = Mutex<[ContinuousClock.Instant]>([])

    init(inner: any CloudProvider) { self.inner = inner }

    var name: String { inner.name }
    var launches: [ContinuousClock.Instant] { times.withLock { $0 } }

    func launch(_ request: LaunchRequest) async throws(CloudProviderError) -> [CloudInstance] {
        times.withLock { $0.append(.now) }
        return try await inner.launch(request)
    }

    func instances(region: String, tagged tags: [String: String]) async throws(CloudProviderError) -> [CloudInstance] {
        try await inner.instances(region: region, tagged: tags)
    }

    func instances(region: String, ids: [String]) async throws(CloudProviderError) -> [CloudInstance] {
        try await inner.instances(region: region, ids: ids)
    }

    func terminate(region: String, ids: [String]) async throws(CloudProviderError) -> [CloudInstance] {
        try await inner.terminate(region: region, ids: ids)
    }

    func defaultImage(region: String, arch: String) async throws(CloudProviderError) -> String {
        try await inner.defaultImage(region: region, arch: arch)
    }
}
