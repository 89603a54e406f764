import AllotAPI
import AllotCore
import AllotLifecycle
import HTTPTypes

extension ControlPlane {
    /// A copy of the cluster for the optimizer to compute recommendations from.
    func recommendationBuilder() -> RecommendationBuilder {
        RecommendationBuilder(lifecycle: lifecycle, emptySince: emptySince, configuration: configuration, recorder: recorder, logger: logger)
    }

    /// Carries out a consolidation or drain recommendation: each moved job gets SIGTERM and the grace period
    /// on its old node (through its agent's directive) and starts on its new one; the target starts where the
    /// moves made room. The plan is computed again, and must still be the one listed.
    public func apply(recommendation id: String) async throws(APIError) -> ApplyResult {
        let time = now()
        let builder = recommendationBuilder()
        // The identifier names its kind: only plans of that kind are computed again.
        let candidates =
            id.hasPrefix("consolidation-") ? builder.consolidationPlans().map(\.plan) : id.hasPrefix("drain-") ? builder.drainPlans().map(\.plan) : []
        guard let plan = candidates.first(where: { RecommendationBuilder.identifier(of: $0) == id }) else {
            throw APIError(
                .conflict,
                .conflict,
                "recommendation \(id) is not a plan that can be applied now (only consolidation and drain plans are, while the cluster is as they found it): list the recommendations again"
            )
        }
        let actions: [LifecycleAction]
        do { actions = try lifecycle.apply(plan, now: time) } catch { throw Self.apiError(error) }
        try await carry(actions)
        return ApplyResult(
            recommendation: id,
            moved: builder.moves(plan),
            started: plan.target?.rawValue,
            gracePeriodSeconds: configuration.gracePeriodSeconds
        )
    }
}
