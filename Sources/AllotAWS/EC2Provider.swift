import AllotCloud
import Foundation

/// Amazon EC2 as a `CloudProvider`: `RunInstances`, `DescribeInstances` and `TerminateInstances`.
public struct EC2Provider: CloudProvider {
    public let name = "aws"
    public var client: EC2Client

    public init(client: EC2Client) { self.client = client }

    /// Credentials and endpoint from the standard environment variables; `nil` without credentials.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> EC2Provider? {
        guard let credentials = AWSCredentials.fromEnvironment(environment) else { return nil }
        return EC2Provider(client: EC2Client(credentials: credentials, endpoint: .fromEnvironment(environment)))
    }

    public func launch(_ request: LaunchRequest) async throws(CloudProviderError) -> [CloudInstance] {
        let root = try await client.call("RunInstances", region: request.region, Self.runParameters(request))
        return root.items("instancesSet").map { Self.instance($0, region: request.region) }
    }

    public func instances(region: String, tagged tags: [String: String]) async throws(CloudProviderError) -> [CloudInstance] {
        var filters: [(String, String)] = []
        for (index, (key, value)) in tags.sorted(by: { $0.key < $1.key }).enumerated() {
            filters += [("Filter.\(index + 1).Name", "tag:\(key)"), ("Filter.\(index + 1).Value.1", value)]
        }
        return try await describe(region: region, filters)
    }

    public func instances(region: String, ids: [String]) async throws(CloudProviderError) -> [CloudInstance] {
        guard !ids.isEmpty else { return [] }
        return try await describe(region: region, ids.enumerated().map { ("InstanceId.\($0.offset + 1)", $0.element) })
    }

    public func terminate(region: String, ids: [String]) async throws(CloudProviderError) -> [CloudInstance] {
        guard !ids.isEmpty else { return [] }
        let root = try await client.call("TerminateInstances", region: region, ids.enumerated().map { ("InstanceId.\($0.offset + 1)", $0.element) })
        let ended = root.items("instancesSet").map { $0.value("instanceId") ?? "" }
        // TerminateInstances answers ids and states only: describe them for their types and tags.
        return try await instances(region: region, ids: ended.filter { !$0.isEmpty })
    }

    /// Canonical's newest Ubuntu LTS server image (account 099720109477), by the release date in its name.
    public func defaultImage(region: String, arch: String) async throws(CloudProviderError) -> String {
        let machine = arch == "arm64" ? "arm64" : "amd64"
        let root = try await client.call(
            "DescribeImages",
            region: region,
            [
                ("Owner.1", "099720109477"),
                ("Filter.1.Name", "name"), ("Filter.1.Value.1", "ubuntu/images/*ubuntu-*-\(machine)-server-*"),
                ("Filter.2.Name", "state"), ("Filter.2.Value.1", "available"),
            ]
        )
        let images = root.items("imagesSet").compactMap { item in item.value("imageId").map { ($0, item.value("name") ?? "") } }
        guard let newest = images.max(by: { Self.imageOrder($0.1) < Self.imageOrder($1.1) }) else {
            throw CloudProviderError(code: "NoDefaultImage", message: "no Ubuntu server image for \(machine) in \(region); name one with --image")
        }
        return newest.0
    }

    /// Orders Ubuntu image names by release then build date: `…ubuntu-noble-24.04-amd64-server-20250115`.
    static func imageOrder(_ name: String) -> String {
        let parts = name.split(separator: "-")
        let version = parts.first { $0.contains(".") && $0.first?.isNumber == true }.map(String.init) ?? ""
        return version.split(separator: ".").map { String(repeating: "0", count: max(0, 4 - $0.count)) + $0 }.joined(separator: ".")
            + "|" + (parts.last.map(String.init) ?? "")
    }

    /// Every page of `DescribeInstances`.
    private func describe(region: String, _ parameters: [(String, String)]) async throws(CloudProviderError) -> [CloudInstance] {
        var found: [CloudInstance] = []
        var next: String?
        repeat {
            let page = parameters + (next.map { [("NextToken", $0)] } ?? [])
            let root = try await client.call("DescribeInstances", region: region, page)
            for reservation in root.items("reservationSet") {
                found += reservation.items("instancesSet").map { Self.instance($0, region: region) }
            }
            next = root.value("nextToken")
        } while next != nil
        return found
    }

    /// `RunInstances`'s parameters in the Query API's flattened form.
    static func runParameters(_ request: LaunchRequest) -> [(String, String)] {
        var parameters: [(String, String)] = [
            ("ImageId", request.image),
            ("InstanceType", request.instanceType),
            ("MinCount", String(request.count)),
            ("MaxCount", String(request.count)),
        ]
        if let token = request.clientToken { parameters.append(("ClientToken", token)) }
        if let subnet = request.subnet { parameters.append(("SubnetId", subnet)) }
        for (index, group) in request.securityGroups.enumerated() { parameters.append(("SecurityGroupId.\(index + 1)", group)) }
        if let userData = request.userData { parameters.append(("UserData", Data(userData.utf8).base64EncodedString())) }
        if request.spot {
            parameters += [
                ("InstanceMarketOptions.MarketType", "spot"),
                ("InstanceMarketOptions.SpotOptions.SpotInstanceType", "one-time"),
                ("InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior", "terminate"),
            ]
        }
        if !request.tags.isEmpty {
            parameters.append(("TagSpecification.1.ResourceType", "instance"))
            for (index, (key, value)) in request.tags.sorted(by: { $0.key < $1.key }).enumerated() {
                parameters += [("TagSpecification.1.Tag.\(index + 1).Key", key), ("TagSpecification.1.Tag.\(index + 1).Value", value)]
            }
        }
        return parameters
    }

    /// An `<item>` of an `instancesSet`.
    static func instance(_ item: AWSXMLElement, region: String) -> CloudInstance {
        var tags: [String: String] = [:]
        for tag in item.items("tagSet") {
            if let key = tag.value("key") { tags[key] = tag.value("value") ?? "" }
        }
        return CloudInstance(
            id: item.value("instanceId") ?? "",
            provider: "aws",
            region: region,
            zone: item.value("placement", "availabilityZone"),
            instanceType: item.value("instanceType") ?? "",
            state: item.value("instanceState", "name") ?? item.value("currentState", "name") ?? "unknown",
            spot: item.value("instanceLifecycle") == "spot",
            tags: tags,
            launchedAt: item.value("launchTime").flatMap(Self.date),
            privateAddress: item.value("privateIpAddress")
        )
    }

    static func date(_ text: String) -> Date? {
        let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        return (try? withFraction.parse(text)) ?? (try? Date.ISO8601FormatStyle().parse(text))  // either form is AWS's; neither: unknown
    }
}
