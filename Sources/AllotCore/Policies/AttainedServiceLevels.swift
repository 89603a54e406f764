/// Least-attained-service levels (as in Tiresias' discretized LAS): a task's priority falls one level each
/// time the service it has received (GPU-seconds, or CPU-seconds for CPU-only work) passes a threshold.
/// New work starts at the top level and preempts work that has already had more; tasks within a level keep
/// their submission order, so equal levels never evict each other.
public struct AttainedServiceLevels: Sendable, Equatable {
    /// Ascending service thresholds, in resource-seconds.
    public var thresholds: [Double]

    /// - Parameter thresholds: ascending and positive.
    public init(thresholds: [Double]) throws(QuantityError) {
        for (index, threshold) in thresholds.enumerated() where !(threshold > 0) || (index > 0 && threshold <= thresholds[index - 1]) {
            throw QuantityError(field: "thresholds", value: Quantity.format(threshold), reason: "thresholds must be positive and ascending")
        }
        self.thresholds = thresholds
    }

    /// The default: a geometric ladder from one GPU-minute to about 46 GPU-days, factor 4 per level.
    public static let standard = try! AttainedServiceLevels(thresholds: (0..<11).map { 60 * pow4($0) })

    /// The level (0 = highest) for the given attained service.
    public func level(attained: Double) -> Int {
        var low = 0
        var high = thresholds.count
        while low < high {
            let middle = (low + high) / 2
            if thresholds[middle] <= attained { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The scheduler priority for the given attained service: higher levels are lower priorities.
    public func priority(attained: Double, base: Int = 0) -> Int { base - level(attained: attained) }

    /// The next threshold above `attained`, or `nil` at the bottom level.
    public func nextThreshold(after attained: Double) -> Double? {
        let level = level(attained: attained)
        return level < thresholds.count ? thresholds[level] : nil
    }

    private static func pow4(_ exponent: Int) -> Double {
        var value = 1.0
        for _ in 0..<exponent { value *= 4 }
        return value
    }
}
