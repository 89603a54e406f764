/// What finished tasks received in all, counted by level of a least-attained-service ladder, and the levels
/// ranked by their Gittins index (Gittins 1979; for GPU jobs, Tiresias, NSDI'19): for a task that has just
/// entered a level, the best ratio, over the ends of that level and of each level below, of the chance that it
/// finishes by then to the service it is expected to receive meanwhile. Under a service distribution whose
/// hazard falls (the usual heavy tail) the ranking is the ladder's own order, and the policy is least attained
/// service; where tasks tend to end soon after some point (jobs that fail within minutes, runs of a fixed
/// length), the levels before it rank higher. Non-clairvoyant: it reads no estimate, only the totals of the
/// tasks that have finished.
public struct ServiceHistory: Sendable, Equatable {
    public let levels: AttainedServiceLevels
    /// Per level: the finished tasks whose total fell in it (weights that decay), and what they received beyond
    /// the level's start.
    private var ended: [Double]
    private var beyondStart: [Double]
    /// Each level's rank, 0 first; levels no finished task reached keep the ladder's order, after the others.
    public private(set) var rank: [Int]

    /// Every task recorded counts this much less at each later one: about the last twenty shape the ranking.
    /// Recent tasks tell the most: on the Philly trace at 80 × 8 GPUs (default ladder), average JCT 14,382 s
    /// with 0.95, 14,524 s with 0.98, 14,733 s with 0.99, 15,292 s with 0.999 and 15,529 s with 0.9999.
    static let decay = 0.95

    public init(levels: AttainedServiceLevels) {
        self.levels = levels
        let count = levels.thresholds.count + 1
        ended = Array(repeating: 0, count: count)
        beyondStart = Array(repeating: 0, count: count)
        rank = Array(0..<count)
    }

    /// Records a finished task's total service; `true` when the ranking changed.
    public mutating func record(_ service: Double) -> Bool {
        for level in ended.indices {
            ended[level] *= Self.decay
            beyondStart[level] *= Self.decay
        }
        let level = levels.level(attained: service)
        ended[level] += 1
        beyondStart[level] += max(0, service - start(level))
        let ranking = ranks()
        guard ranking != rank else { return false }
        rank = ranking
        return true
    }

    /// Where `level` starts, in resource-seconds.
    func start(_ level: Int) -> Double { level == 0 ? 0 : levels.thresholds[level - 1] }

    /// The index of a task that has just entered `level`; 0 where no finished task reached it.
    public func index(_ level: Int) -> Double {
        let reached = ended[level...].reduce(0, +)
        guard reached > 0 else { return 0 }
        var best = 0.0
        var finished = 0.0
        var received = 0.0
        for end in level..<ended.count {
            finished += ended[end]
            received += beyondStart[end] + ended[end] * (start(end) - start(level))
            // Those still running at the end of level `end` received all of it; the bottom level has no end.
            let expected = end < levels.thresholds.count ? received + (reached - finished) * (levels.thresholds[end] - start(level)) : received
            if expected > 0 { best = max(best, finished / expected) }
        }
        return best
    }

    private func ranks() -> [Int] {
        let indices = ended.indices.map(index)
        let order = ended.indices.sorted { indices[$0] != indices[$1] ? indices[$0] > indices[$1] : $0 < $1 }
        var rank = Array(repeating: 0, count: ended.count)
        for (position, level) in order.enumerated() { rank[level] = position }
        return rank
    }
}
