/// One machine type in one cloud location, with its hourly prices: the unit the catalog keeps.
public struct CloudOffer: Sendable, Equatable, Codable {
    /// `aws`, `gcp`, `azure`, `lambda`, `vast`, `alicloud`, `huaweicloud`.
    public var cloud: String
    public var region: String
    /// The zone, for clouds priced per zone (GCP, Alibaba); `nil` otherwise.
    public var zone: String?
    public var instanceType: String
    public var vCPUs: Double
    public var memoryGiB: Double
    /// The accelerator's canonical name (`A100`, `H100`, `L4`, `tpu-v5litepod-8`); `nil` for CPU-only types.
    public var gpu: String?
    public var gpuCount: Double
    /// Memory of one accelerator, when known.
    public var gpuMemoryGiB: Double?
    /// `x86_64` or `arm64`.
    public var arch: String
    /// On-demand USD per hour; `nil` when only spot is offered.
    public var price: Double?
    /// Spot (preemptible) USD per hour; `nil` when the cloud offers none here (AWS in this catalog).
    public var spotPrice: Double?

    public init(
        cloud: String,
        region: String,
        zone: String? = nil,
        instanceType: String,
        vCPUs: Double,
        memoryGiB: Double,
        gpu: String? = nil,
        gpuCount: Double = 0,
        gpuMemoryGiB: Double? = nil,
        arch: String = "x86_64",
        price: Double?,
        spotPrice: Double? = nil
    ) {
        self.cloud = cloud
        self.region = region
        self.zone = zone
        self.instanceType = instanceType
        self.vCPUs = vCPUs
        self.memoryGiB = memoryGiB
        self.gpu = gpu
        self.gpuCount = gpuCount
        self.gpuMemoryGiB = gpuMemoryGiB
        self.arch = arch
        self.price = price
        self.spotPrice = spotPrice
    }
}

/// On-demand or spot.
public enum CapacityType: String, Sendable, Codable, CaseIterable {
    case onDemand = "on-demand"
    case spot
}

/// An offer at one capacity type: what a search returns.
public struct PricedOffer: Sendable, Equatable, Codable {
    public var offer: CloudOffer
    public var capacity: CapacityType
    /// USD per hour at that capacity type.
    public var hourlyPrice: Double

    public init(offer: CloudOffer, capacity: CapacityType, hourlyPrice: Double) {
        self.offer = offer
        self.capacity = capacity
        self.hourlyPrice = hourlyPrice
    }
}
