import Foundation

/// One machine the autoscaler decided to buy, recorded before it asks the cloud, and followed until the
/// machine is given back.
public struct LaunchIntent: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable, CaseIterable {
        /// Recorded; `RunInstances` may or may not have been called.
        case launching
        /// The cloud has the instance; its agent has not joined yet (the node shows as `provisioning`).
        case booting
        /// Its agent joined as a node.
        case joined
        /// Idle past the limit: drained, to be terminated once it runs nothing.
        case draining
        /// Given back to the cloud.
        case terminated
        /// The launch was refused by the cloud.
        case failed

        public var isLive: Bool { [.launching, .booting, .joined, .draining].contains(self) }
    }

    /// `intent-…`: also the launch's client token and the instance's `allot:intent` tag.
    public var id: String
    public var state: State
    public var provider: String
    public var region: String
    public var instanceType: String
    public var spot: Bool
    /// Catalog USD per hour.
    public var hourlyPrice: Double
    /// The jobs it was bought for.
    public var jobs: [String]
    /// Offers it beat, as `type region $/h` (per replica of the same work).
    public var alternatives: [String]
    public var createdAt: Double
    public var instanceID: String?
    public var launchedAt: Double?
    /// The node its agent joined as.
    public var node: String?
    public var joinedAt: Double?
    /// Since when its node has run nothing.
    public var idleSince: Double?
    public var endedAt: Double?
    /// Why it ended (boot timeout, idle, the cloud's error).
    public var reason: String?

    public init(
        id: String,
        state: State,
        provider: String,
        region: String,
        instanceType: String,
        spot: Bool,
        hourlyPrice: Double,
        jobs: [String],
        alternatives: [String],
        createdAt: Double
    ) {
        self.id = id
        self.state = state
        self.provider = provider
        self.region = region
        self.instanceType = instanceType
        self.spot = spot
        self.hourlyPrice = hourlyPrice
        self.jobs = jobs
        self.alternatives = alternatives
        self.createdAt = createdAt
    }

    /// Why it was bought, in one line.
    public var why: String {
        let price = String(format: "$%.4f/h", hourlyPrice)
        let capacity = spot ? "spot" : "on-demand"
        let others = alternatives.isEmpty ? "" : "; beat \(alternatives.joined(separator: ", "))"
        return "for \(jobs.joined(separator: ", ")): \(instanceType) \(capacity) in \(region) at \(price)\(others)"
    }
}

/// `GET /v1/autoscaler`.
public struct AutoscalerStatus: Codable, Sendable, Equatable {
    public var enabled: Bool
    public var instances: [LaunchIntent]

    public init(enabled: Bool, instances: [LaunchIntent]) {
        self.enabled = enabled
        self.instances = instances
    }
}
