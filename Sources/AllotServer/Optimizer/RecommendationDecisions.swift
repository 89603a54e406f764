import AllotAPI

/// What users decided about recommendations: the latest decision per kind and target, and how often each
/// kind is accepted. A dismissed recommendation stays away from its target until its savings grow by a factor;
/// kinds users keep dismissing rank lower.
struct RecommendationDecisions: Sendable {
    private(set) var latest: [String: FeedbackEntry] = [:]
    private(set) var counts: [String: (accepted: Int, dismissed: Int)] = [:]

    init(_ entries: [FeedbackEntry] = []) {
        for entry in entries { record(entry) }
    }

    static func key(kind: String, target: String) -> String { "\(kind)|\(target)" }

    mutating func record(_ entry: FeedbackEntry) {
        guard entry.kind == .recommendation, let kind = entry.recommendationKind, let target = entry.target, let decision = entry.decision else {
            return
        }
        latest[Self.key(kind: kind, target: target)] = entry
        var count = counts[kind] ?? (0, 0)
        if decision == .accept { count.accepted += 1 } else { count.dismissed += 1 }
        counts[kind] = count
    }

    func rate(_ kind: String) -> AcceptanceRate {
        let count = counts[kind] ?? (0, 0)
        return AcceptanceRate(kind: kind, accepted: count.accepted, dismissed: count.dismissed)
    }

    /// Whether a dismissal still holds: the same kind and target, and savings not grown by `factor` since.
    func suppresses(_ recommendation: Recommendation, factor: Double) -> Bool {
        guard let entry = latest[Self.key(kind: recommendation.kind.rawValue, target: recommendation.target)], entry.decision == .dismiss else {
            return false
        }
        guard let now = recommendation.monthlySavings, let then = entry.monthlySavings, then > 0 else { return true }
        return now < then * factor
    }

    /// Orders recommendations: estimated monthly savings weighted by how often users accept their kind.
    func ranked(_ recommendations: [Recommendation]) -> [Recommendation] {
        recommendations.map { recommendation in
            var ranked = recommendation
            ranked.rank = rate(recommendation.kind.rawValue).rate * (1 + (recommendation.monthlySavings ?? 0))
            return ranked
        }
        .enumerated().sorted { ($0.element.rank ?? 0, -$0.offset) > ($1.element.rank ?? 0, -$1.offset) }.map(\.element)
    }
}
