/// How a node (and devices) is chosen among those where a replica fits.
///
/// Every strategy measures "remaining capacity" in the replica's *primary* resource: the free memory of a
/// device for a GPU share, the number of free whole GPUs of the wanted model for whole-GPU work, CPU for
/// other work (memory when no CPU is asked). Ties go to the node that joined first. Work that asks for no
/// GPU is placed on a GPU node only when no node without GPUs fits, whatever the strategy.
public protocol PlacementStrategy: Sendable {
    /// The name used in configuration and on the command line.
    var name: String { get }
    /// The order in which candidates are visited.
    var order: CandidateOrder { get }
    /// How many feasible candidates are scored before choosing; 1 takes the first feasible one.
    var window: Int { get }
    /// The score of a candidate from its mean utilization after placement (higher wins); used when ``window`` > 1.
    func score(utilizationAfter: Double) -> Double
    /// Whether every feasible candidate is scored by the expected fragmentation it adds (``FragmentationAware``).
    var measuresFragmentation: Bool { get }
}

extension PlacementStrategy {
    public var window: Int { 1 }
    public func score(utilizationAfter: Double) -> Double { 0 }
    public var measuresFragmentation: Bool { false }
}

/// The first node, in join order, where the replica fits.
public struct FirstFit: PlacementStrategy {
    public init() {}
    public var name: String { "first-fit" }
    public var order: CandidateOrder { .lowestID }
}

/// The node (or device) with the smallest remaining primary capacity that fits.
public struct BestFit: PlacementStrategy {
    public init() {}
    public var name: String { "best-fit" }
    public var order: CandidateOrder { .ascendingFree }
}

/// The node (or device) with the largest remaining primary capacity.
public struct WorstFit: PlacementStrategy {
    public init() {}
    public var name: String { "worst-fit" }
    public var order: CandidateOrder { .descendingFree }
}

/// Score-based packing: among the `window` tightest feasible candidates, the one left most utilized over
/// every resource the replica asks for (CPU, memory, GPUs), so partly used machines fill up first.
public struct BinPack: PlacementStrategy {
    public var window: Int
    public init(window: Int = 16) { self.window = max(1, window) }
    public var name: String { "binpack" }
    public var order: CandidateOrder { .ascendingFree }
    public func score(utilizationAfter: Double) -> Double { utilizationAfter }
}

/// Score-based spreading: among the `window` emptiest feasible candidates, the one left least utilized.
public struct Spread: PlacementStrategy {
    public var window: Int
    public init(window: Int = 16) { self.window = max(1, window) }
    public var name: String { "spread" }
    public var order: CandidateOrder { .descendingFree }
    public func score(utilizationAfter: Double) -> Double { -utilizationAfter }
}

/// The strategies by name, for configuration edges.
public enum PlacementStrategies {
    public static let names = ["first-fit", "best-fit", "worst-fit", "binpack", "spread", "fragmentation"]

    /// The strategy with this name, or an error listing the valid names.
    public static func named(_ name: String, field: String = "strategy") throws(QuantityError) -> any PlacementStrategy {
        switch name.lowercased() {
        case "first-fit", "firstfit", "ff": return FirstFit()
        case "best-fit", "bestfit", "bf": return BestFit()
        case "worst-fit", "worstfit", "wf": return WorstFit()
        case "binpack", "bin-pack": return BinPack()
        case "spread": return Spread()
        case "fragmentation", "fgd": return FragmentationAware()
        default: throw QuantityError(field: field, value: name, reason: "unknown strategy (use \(names.joined(separator: ", ")))")
        }
    }
}
