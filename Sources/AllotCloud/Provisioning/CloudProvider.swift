import Foundation

/// One machine a cloud runs for Allot, as the provider describes it.
public struct CloudInstance: Sendable, Equatable, Codable {
    /// The provider's id (`i-0123456789abcdef0`).
    public var id: String
    /// `aws`, …
    public var provider: String
    public var region: String
    public var zone: String?
    public var instanceType: String
    /// The provider's lifecycle word: `pending`, `running`, `shutting-down`, `terminated`, `stopping`, `stopped`.
    public var state: String
    public var spot: Bool
    public var tags: [String: String]
    public var launchedAt: Date?
    public var privateAddress: String?

    public init(
        id: String,
        provider: String,
        region: String,
        zone: String? = nil,
        instanceType: String,
        state: String,
        spot: Bool = false,
        tags: [String: String] = [:],
        launchedAt: Date? = nil,
        privateAddress: String? = nil
    ) {
        self.id = id
        self.provider = provider
        self.region = region
        self.zone = zone
        self.instanceType = instanceType
        self.state = state
        self.spot = spot
        self.tags = tags
        self.launchedAt = launchedAt
        self.privateAddress = privateAddress
    }

    /// Gone or going: nothing more will run there.
    public var isEnding: Bool { ["shutting-down", "terminated", "stopping", "stopped"].contains(state) }
}

/// What to launch: `count` machines of one type in one region.
public struct LaunchRequest: Sendable, Equatable {
    public var region: String
    public var instanceType: String
    /// The machine image (an AMI on AWS).
    public var image: String
    public var subnet: String?
    public var securityGroups: [String]
    /// Spot (interruptible) capacity instead of on-demand.
    public var spot: Bool
    public var count: Int
    /// A script the machine runs at first boot.
    public var userData: String?
    public var tags: [String: String]
    /// Makes a retried launch idempotent where the provider honours it (EC2's `ClientToken`).
    public var clientToken: String?

    public init(
        region: String,
        instanceType: String,
        image: String,
        subnet: String? = nil,
        securityGroups: [String] = [],
        spot: Bool = false,
        count: Int = 1,
        userData: String? = nil,
        tags: [String: String] = [:],
        clientToken: String? = nil
    ) {
        self.region = region
        self.instanceType = instanceType
        self.image = image
        self.subnet = subnet
        self.securityGroups = securityGroups
        self.spot = spot
        self.count = count
        self.userData = userData
        self.tags = tags
        self.clientToken = clientToken
    }
}

/// A provider's refusal, with the provider's own code (`InsufficientInstanceCapacity`, `InvalidInstanceType`, …).
public struct CloudProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    /// The HTTP status, when the provider answered.
    public var status: Int?
    /// Worth trying again later (throttling, a server error, a connection that failed).
    public var retryable: Bool

    public init(code: String, message: String, status: Int? = nil, retryable: Bool = false) {
        self.code = code
        self.message = message
        self.status = status
        self.retryable = retryable
    }

    public var description: String { "\(code): \(message)" }
}

/// Buys, lists and gives back machines in one cloud. Every call names its region: a provider's API is regional.
public protocol CloudProvider: Sendable {
    /// `aws`, …: the catalog's name for the cloud.
    var name: String { get }
    func launch(_ request: LaunchRequest) async throws(CloudProviderError) -> [CloudInstance]
    /// Instances carrying every one of `tags` (any state but those long gone).
    func instances(region: String, tagged tags: [String: String]) async throws(CloudProviderError) -> [CloudInstance]
    /// These instances, as they are now.
    func instances(region: String, ids: [String]) async throws(CloudProviderError) -> [CloudInstance]
    /// Asks for these instances to end; returns their states after the call.
    func terminate(region: String, ids: [String]) async throws(CloudProviderError) -> [CloudInstance]
    /// The image to boot when none is named: a current Ubuntu LTS server image for `arch` in `region`.
    func defaultImage(region: String, arch: String) async throws(CloudProviderError) -> String
}

/// The tags Allot puts on what it launches.
public enum ProvisioningTags {
    /// Which Allot cluster owns the instance.
    public static let cluster = "allot:cluster"
    /// The durable launch intent the instance was bought for.
    public static let intent = "allot:intent"
    public static let name = "Name"
}
