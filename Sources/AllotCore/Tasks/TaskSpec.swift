/// The service class of a task: how hard Allot works to keep it running.
public enum SLAClass: String, Sendable, CaseIterable, Codable {
    /// May use the allocation headroom and may preempt preemptible non-critical work.
    case critical
    case standard
    case bestEffort = "best-effort"
}

/// What one replica of a task asks for.
public struct ResourceRequest: Equatable, Sendable, Codable {
    public var resources: ResourceVector
    /// Whole GPUs (exclusive devices), or, with ``gpuMemoryBytes``, the number of devices to take a share of.
    public var gpus: Int
    /// A GPU model the devices must be (case-insensitive); `nil` takes any.
    public var gpuModel: String?
    /// A share of one device's memory; several tasks share a device, as inference model instances do.
    public var gpuMemoryBytes: Int64?

    public init(resources: ResourceVector = .zero, gpus: Int = 0, gpuModel: String? = nil, gpuMemoryBytes: Int64? = nil) {
        self.resources = resources
        self.gpus = gpus
        self.gpuModel = gpuModel
        self.gpuMemoryBytes = gpuMemoryBytes
    }

    /// The number of devices this request touches (whole or shared).
    public var deviceCount: Int { gpuMemoryBytes != nil ? max(gpus, 1) : gpus }
    /// Whether this request shares devices by memory rather than taking them whole.
    public var sharesDevices: Bool { gpuMemoryBytes != nil }
}

/// A unit of work to place: one replica, or a gang of identical replicas placed all at once or not at all.
public struct TaskSpec: Equatable, Sendable, Codable {
    public var id: TaskID
    public var tenant: TenantID
    /// Higher runs first.
    public var priority: Int
    public var slaClass: SLAClass
    /// The guaranteed minimum of each replica.
    public var requests: ResourceRequest
    /// An elastic maximum of CPU and memory; the replica gets its requests, then a fair share of what is left up to this.
    public var limits: ResourceVector?
    /// Replicas placed together or not at all.
    public var gang: Int
    /// Whether a higher-priority or critical task may evict this one (it is requeued, never lost).
    public var preemptible: Bool
    /// A runtime estimate in seconds, used by backfill and estimate-driven policies.
    public var estimateSeconds: Double?

    public init(
        id: TaskID,
        tenant: TenantID = "default",
        priority: Int = 0,
        slaClass: SLAClass = .standard,
        requests: ResourceRequest = ResourceRequest(),
        limits: ResourceVector? = nil,
        gang: Int = 1,
        preemptible: Bool = false,
        estimateSeconds: Double? = nil
    ) {
        self.id = id
        self.tenant = tenant
        self.priority = priority
        self.slaClass = slaClass
        self.requests = requests
        self.limits = limits
        self.gang = gang
        self.preemptible = preemptible
        self.estimateSeconds = estimateSeconds
    }
}
