import AllotAWS
import AllotCLI
import AllotCloud
import ArgumentParser
import Foundation

/// Which cloud and region a machine command speaks to.
public struct CloudTargetOptions: ParsableArguments {
    @Option(help: "The cloud: aws.") public var provider: String = "aws"
    @Option(help: "The region (default: AWS_REGION, then AWS_DEFAULT_REGION).") public var region: String?

    public init() {}

    func resolvedRegion() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        guard let region = region ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"], !region.isEmpty else {
            throw ValidationError("--region: required (or set AWS_REGION)")
        }
        return region
    }

    func resolvedProvider() throws -> any CloudProvider { try cloudProvider(named: provider) }
}

/// The provider for a cloud's name, its credentials and endpoint from the environment.
func cloudProvider(named name: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any CloudProvider {
    switch name.lowercased() {
    case "aws":
        guard let provider = EC2Provider.fromEnvironment(environment) else {
            throw CommandFailure("aws: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)")
        }
        return provider
    default:
        throw ValidationError("--provider: \(name) cannot launch machines yet (aws can)")
    }
}

/// `allot cloud launch --provider aws --region R --instance-type T [--spot] [--image AMI] [--count N]`.
public struct CloudLaunchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "launch", abstract: "Buy machines in a cloud, tagged as Allot's.")

    @OptionGroup public var target: CloudTargetOptions
    @Option(name: .customLong("instance-type"), help: "The instance type: g5.xlarge.") public var instanceType: String
    @Flag(help: "Spot capacity (interruptible, cheaper).") public var spot = false
    @Option(help: "The machine image (default: the newest Ubuntu LTS server image).") public var image: String?
    @Option(help: "How many machines.") public var count: Int = 1
    @Option(help: "A subnet to launch in.") public var subnet: String?
    @Option(name: .customLong("security-group"), help: "A security group id (repeatable).") public var securityGroups: [String] = []
    @Option(name: .customLong("user-data"), help: "A file the machine runs at first boot.") public var userData: String?
    @Option(help: "The cluster tag (allot:cluster).") public var cluster: String = "allot"
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws {
        guard (1...100).contains(count) else { throw ValidationError("--count: 1 to 100") }
    }

    public func run() async throws {
        let provider = try target.resolvedProvider()
        let region = try target.resolvedRegion()
        let script = try userData.map { String(decoding: try readFile($0, option: "--user-data"), as: UTF8.self) }
        let chosenImage: String
        if let image { chosenImage = image } else { chosenImage = try await provider.defaultImage(region: region, arch: "x86_64") }
        let request = LaunchRequest(
            region: region,
            instanceType: instanceType,
            image: chosenImage,
            subnet: subnet,
            securityGroups: securityGroups,
            spot: spot,
            count: count,
            userData: script,
            tags: [ProvisioningTags.cluster: cluster, ProvisioningTags.intent: "manual", ProvisioningTags.name: "allot-\(cluster)"],
            clientToken: UUID().uuidString
        )
        let instances = try await provider.launch(request)
        try printInstances(instances, output.output)
    }
}

/// `allot cloud instances [--provider aws] [--region R] [--all]`.
public struct CloudInstancesCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "instances", abstract: "The machines Allot bought in a region.")

    @OptionGroup public var target: CloudTargetOptions
    @Option(help: "Only this cluster's (allot:cluster); every Allot cluster's by default.") public var cluster: String?
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func run() async throws {
        let instances = try await target.resolvedProvider().instances(
            region: try target.resolvedRegion(),
            tagged: [ProvisioningTags.cluster: cluster ?? "*"]
        )
        try printInstances(instances, output.output)
    }
}

/// `allot cloud terminate ID…`.
public struct CloudTerminateCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "terminate", abstract: "Give machines back to their cloud.")

    @OptionGroup public var target: CloudTargetOptions
    @Argument(help: "Instance ids.") public var ids: [String]
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws {
        guard !ids.isEmpty else { throw ValidationError("name at least one instance id") }
    }

    public func run() async throws {
        let instances = try await target.resolvedProvider().terminate(region: try target.resolvedRegion(), ids: ids)
        try printInstances(instances, output.output)
    }
}

func printInstances(_ instances: [CloudInstance], _ format: OutputFormat) throws {
    if format == .json {
        print(try JSONOutput.render(instances))
        return
    }
    var table = TextTable(["ID", "TYPE", "REGION", "ZONE", "STATE", "CAPACITY", "CLUSTER", "INTENT", "LAUNCHED"])
    for instance in instances {
        table.add([
            instance.id, instance.instanceType, instance.region, instance.zone ?? "-", instance.state, instance.spot ? "spot" : "on-demand",
            instance.tags[ProvisioningTags.cluster] ?? "-", instance.tags[ProvisioningTags.intent] ?? "-",
            instance.launchedAt.map { $0.formatted(.iso8601) } ?? "-",
        ])
    }
    print(table.render())
}
