/// When an allocation counts as idle: every sample of its GPUs' utilization under `threshold` for `window`
/// seconds without a gap longer than `maxGap` (missing samples are not idleness).
public struct IdleRule: Sendable, Equatable {
    /// Utilization as a fraction (0.05 = 5 %).
    public var threshold: Double
    public var window: Double
    public var maxGap: Double

    public init(threshold: Double = 0.05, window: Double = 1_800, maxGap: Double = 60) {
        self.threshold = threshold
        self.window = window
        self.maxGap = maxGap
    }
}

/// An idle stretch at the end of a series.
public struct IdleFinding: Sendable, Equatable {
    public var since: Double
    public var samples: Int
    public var mean: Double
    public var max: Double
}

/// What rightsizing suggests for one requested amount.
public struct RightsizingFinding: Sendable, Equatable {
    public var requested: Double
    public var p95: Double
    public var peak: Double
    public var samples: Int
    /// p95 plus the margin, rounded up to `step`.
    public var suggested: Double
}

public enum UsageDetectors {
    /// The idle stretch that ends the series at `now`, when it lasts at least the rule's window.
    public static func idle(_ points: [HistoryPoint], now: Double, rule: IdleRule) -> IdleFinding? {
        guard let last = points.last, now - last.time <= rule.maxGap else { return nil }
        var since = last.time
        var count = 0
        var sum = 0.0
        var peak = 0.0
        var later = now
        for point in points.reversed() {
            guard point.max < rule.threshold, later - point.time <= rule.maxGap else { break }
            since = point.time
            count += 1
            sum += point.mean
            peak = Swift.max(peak, point.max)
            later = point.time
        }
        guard count > 0, now - since >= rule.window else { return nil }
        return IdleFinding(since: since, samples: count, mean: sum / Double(count), max: peak)
    }

    /// The nearest-rank percentile (`p` in 0...1) of `values`; 0 when empty.
    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[Swift.max(0, Swift.min(sorted.count - 1, rank - 1))]
    }

    /// Suggests a smaller request when the p95 of `used`, plus `margin` (0.2 = 20 %) and rounded up to `step`,
    /// saves at least `minimumSaving` (0.25 = a quarter) of `requested`. Needs `minimumSamples`.
    public static func rightsize(
        requested: Double,
        used: [Double],
        margin: Double = 0.2,
        step: Double,
        minimumSaving: Double = 0.25,
        minimumSamples: Int = 30
    ) -> RightsizingFinding? {
        guard requested > 0, used.count >= minimumSamples, step > 0 else { return nil }
        let p95 = percentile(used, 0.95)
        let suggested = Swift.max(step, (p95 * (1 + margin) / step).rounded(.up) * step)
        guard suggested <= requested * (1 - minimumSaving) else { return nil }
        return RightsizingFinding(requested: requested, p95: p95, peak: used.max() ?? 0, samples: used.count, suggested: suggested)
    }
}
