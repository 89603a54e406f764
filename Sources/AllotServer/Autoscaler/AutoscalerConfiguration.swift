import AllotAPI
import Foundation

/// `allot server --autoscale FILE`: what the autoscaler may buy, and when it gives machines back.
public struct AutoscalerConfiguration: Codable, Sendable, Equatable {
    /// The cloud: `aws`.
    public var provider: String
    public var regions: [String]
    /// Exact instance types allowed (`g5.xlarge`).
    public var instanceTypes: [String]
    /// Instance families allowed (`g5` admits every `g5.*`). With neither list, any type.
    public var instanceFamilies: [String]
    /// Whether preemptible jobs may go to spot capacity.
    public var spot: Bool
    /// The most machines the autoscaler keeps at once (launching, booting or joined).
    public var maxNodes: Int
    /// The most USD per hour its machines may cost together, at catalog prices.
    public var maxSpendPerHour: Double
    /// A node it bought that has run nothing this long is drained and terminated.
    public var idleMinutes: Double
    /// An instance that has not joined this long after launch is terminated and its jobs planned again.
    public var bootTimeoutMinutes: Double
    /// A job waits this long for existing capacity before a machine is bought for it.
    public var pendingSeconds: Double
    /// Seconds between the autoscaler's passes.
    public var checkSeconds: Double
    /// The machine image; the provider's current Ubuntu LTS image when absent.
    public var image: String?
    public var subnet: String?
    public var securityGroups: [String]
    /// The URL the machines' agents reach this server at.
    public var serverURL: String
    /// Where a machine downloads the `allot` binary when its image has none.
    public var agentURL: String?
    /// The SHA-256 fingerprint of the server's TLS CA, passed to the agent to pin it.
    public var caFingerprint: String?
    /// Tags every instance carries as `allot:cluster`; the server's cluster name when absent.
    public var cluster: String?
    /// Where job inputs live, by URL prefix: `{"s3://lake/": "aws/us-east-1"}`. A job whose inputs are in one of
    /// these places pays egress, in the choice of machine, for moving them to another region or cloud.
    public var dataLocations: [String: String]

    public init(
        provider: String = "aws",
        regions: [String],
        instanceTypes: [String] = [],
        instanceFamilies: [String] = [],
        spot: Bool = false,
        maxNodes: Int,
        maxSpendPerHour: Double,
        idleMinutes: Double = 10,
        bootTimeoutMinutes: Double = 10,
        pendingSeconds: Double = 30,
        checkSeconds: Double = 5,
        image: String? = nil,
        subnet: String? = nil,
        securityGroups: [String] = [],
        serverURL: String,
        agentURL: String? = nil,
        caFingerprint: String? = nil,
        cluster: String? = nil,
        dataLocations: [String: String] = [:]
    ) {
        self.provider = provider
        self.regions = regions
        self.instanceTypes = instanceTypes
        self.instanceFamilies = instanceFamilies
        self.spot = spot
        self.maxNodes = maxNodes
        self.maxSpendPerHour = maxSpendPerHour
        self.idleMinutes = idleMinutes
        self.bootTimeoutMinutes = bootTimeoutMinutes
        self.pendingSeconds = pendingSeconds
        self.checkSeconds = checkSeconds
        self.image = image
        self.subnet = subnet
        self.securityGroups = securityGroups
        self.serverURL = serverURL
        self.agentURL = agentURL
        self.caFingerprint = caFingerprint
        self.cluster = cluster
        self.dataLocations = dataLocations
    }

    /// The cloud and region of the longest `dataLocations` prefix of `url`.
    public func location(of url: String) -> (cloud: String, region: String)? {
        guard let prefix = dataLocations.keys.filter({ url.hasPrefix($0) }).max(by: { $0.count < $1.count }) else { return nil }
        let parts = dataLocations[prefix]!.split(separator: "/", maxSplits: 1).map(String.init)
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }

    enum CodingKeys: String, CodingKey {
        case provider, regions, instanceTypes, instanceFamilies, spot, maxNodes, maxSpendPerHour, idleMinutes, bootTimeoutMinutes
        case pendingSeconds, checkSeconds, image, subnet, securityGroups, serverURL, agentURL, caFingerprint, cluster, dataLocations
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        provider = try container.decodeIfPresent(String.self, forKey: .provider) ?? "aws"
        regions = try container.decode([String].self, forKey: .regions)
        instanceTypes = try container.decodeIfPresent([String].self, forKey: .instanceTypes) ?? []
        instanceFamilies = try container.decodeIfPresent([String].self, forKey: .instanceFamilies) ?? []
        spot = try container.decodeIfPresent(Bool.self, forKey: .spot) ?? false
        maxNodes = try container.decode(Int.self, forKey: .maxNodes)
        maxSpendPerHour = try container.decode(Double.self, forKey: .maxSpendPerHour)
        idleMinutes = try container.decodeIfPresent(Double.self, forKey: .idleMinutes) ?? 10
        bootTimeoutMinutes = try container.decodeIfPresent(Double.self, forKey: .bootTimeoutMinutes) ?? 10
        pendingSeconds = try container.decodeIfPresent(Double.self, forKey: .pendingSeconds) ?? 30
        checkSeconds = try container.decodeIfPresent(Double.self, forKey: .checkSeconds) ?? 5
        image = try container.decodeIfPresent(String.self, forKey: .image)
        subnet = try container.decodeIfPresent(String.self, forKey: .subnet)
        securityGroups = try container.decodeIfPresent([String].self, forKey: .securityGroups) ?? []
        serverURL = try container.decode(String.self, forKey: .serverURL)
        agentURL = try container.decodeIfPresent(String.self, forKey: .agentURL)
        caFingerprint = try container.decodeIfPresent(String.self, forKey: .caFingerprint)
        cluster = try container.decodeIfPresent(String.self, forKey: .cluster)
        dataLocations = try container.decodeIfPresent([String: String].self, forKey: .dataLocations) ?? [:]
    }

    /// Reads and checks a file, naming the first bad field.
    public static func load(_ bytes: [UInt8]) throws(InputError) -> AutoscalerConfiguration {
        let configuration: AutoscalerConfiguration
        do {
            configuration = try JSONDecoder().decode(AutoscalerConfiguration.self, from: Data(bytes))
        } catch {
            throw InputError(path: "autoscale", "not a valid autoscaler file: \(error)")
        }
        try configuration.validate()
        return configuration
    }

    public func validate() throws(InputError) {
        guard !regions.isEmpty else { throw InputError(path: "regions", "name at least one region") }
        guard maxNodes >= 0 else { throw InputError(path: "maxNodes", "must be 0 or more") }
        guard maxSpendPerHour >= 0, maxSpendPerHour.isFinite else { throw InputError(path: "maxSpendPerHour", "must be 0 or more USD") }
        for (name, value) in [
            ("idleMinutes", idleMinutes), ("bootTimeoutMinutes", bootTimeoutMinutes), ("pendingSeconds", pendingSeconds),
        ] where !(value >= 0 && value.isFinite) {
            throw InputError(path: name, "must be 0 or more")
        }
        guard checkSeconds > 0, checkSeconds.isFinite else { throw InputError(path: "checkSeconds", "must be positive") }
        for (prefix, place) in dataLocations where place.split(separator: "/").count != 2 || prefix.isEmpty {
            throw InputError(path: "dataLocations.\(prefix)", "expected CLOUD/REGION, as \"aws/us-east-1\"")
        }
        guard let url = URL(string: serverURL), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw InputError(path: "serverURL", "an http:// or https:// URL the machines can reach")
        }
    }
}
