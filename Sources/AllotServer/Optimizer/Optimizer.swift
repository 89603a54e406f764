import AllotAPI
import AllotLifecycle
import AllotStore
import Foundation
import HTTPTypes

/// The optimizer: recommendations ranked by what users decided about earlier ones, and the feedback they
/// gave. Owns those decisions; reads the cluster through a ``RecommendationBuilder`` the control plane hands
/// it (a copy of its state, so recommendations are computed off the control plane's actor).
public actor Optimizer {
    let store: any AllotStore
    let configuration: ServerConfiguration
    let now: @Sendable () -> Double
    /// Decisions users made on recommendations (latest per kind and target), and counts per kind.
    var decisions = RecommendationDecisions()
    var source: (@Sendable () async -> RecommendationBuilder?)?

    init(store: any AllotStore, configuration: ServerConfiguration, now: @escaping @Sendable () -> Double) {
        self.store = store
        self.configuration = configuration
        self.now = now
    }

    func connect(_ source: @escaping @Sendable () async -> RecommendationBuilder?) { self.source = source }

    /// Reads the decisions kept in the store.
    func load() async throws(StoreError) { decisions = RecommendationDecisions(try await store.feedback(tenants: nil)) }

    /// What the optimizer suggests now, as `identity` may see it (see ``RecommendationBuilder/all(at:for:)``),
    /// ranked by savings weighted by their kind's acceptance rate; ones a user dismissed stay away (see
    /// ``decide(recommendation:_:by:)``).
    public func recommendations(for identity: Identity, includeDismissed: Bool = false) async -> [Recommendation] {
        guard var builder = await source?() else { return [] }
        var result = await builder.all(at: now(), for: identity)
        if !includeDismissed { result.removeAll { decisions.suppresses($0, factor: configuration.dismissedReturnFactor) } }
        return decisions.ranked(result)
    }

    /// Records a user's decision on a recommendation they can see now: a dismissed one stops being listed for
    /// its target until its savings grow by ``ServerConfiguration/dismissedReturnFactor``; every decision moves
    /// its kind's acceptance rate, which weighs the ranking.
    public func decide(
        recommendation id: String,
        _ request: RecommendationDecisionRequest,
        by identity: Identity
    ) async throws(APIError)
        -> FeedbackEntry
    {
        if let reason = request.reason, reason.count > 2_000 {
            throw APIError(.unprocessableContent, .invalidField, "reason: at most 2000 characters")
        }
        guard let recommendation = await recommendations(for: identity, includeDismissed: true).first(where: { $0.id == id }) else {
            throw APIError.notFound("recommendation \(id)")
        }
        let entry = FeedbackEntry(
            at: now(),
            kind: .recommendation,
            actor: identity.actor,
            tenant: recommendation.tenant ?? identity.tenant,
            text: request.reason,
            recommendation: id,
            recommendationKind: recommendation.kind.rawValue,
            target: recommendation.target,
            decision: request.decision,
            monthlySavings: recommendation.monthlySavings
        )
        let stored: FeedbackEntry
        do { stored = try await store.appendFeedback(entry) } catch { throw APIError.from(error) }
        decisions.record(stored)
        return stored
    }

    /// Stores free-form product feedback with who gave it.
    public func productFeedback(_ request: ProductFeedbackRequest, by identity: Identity) async throws(APIError) -> FeedbackEntry {
        let text = request.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, text.count <= 10_000 else { throw APIError(.unprocessableContent, .invalidField, "text: 1 to 10000 characters") }
        do {
            return try await store.appendFeedback(
                FeedbackEntry(at: now(), kind: .product, actor: identity.actor, tenant: identity.tenant, text: text)
            )
        } catch {
            throw APIError.from(error)
        }
    }

    /// Feedback in the caller's tenants (all for admins), oldest first.
    public func feedback(for identity: Identity) async throws(APIError) -> [FeedbackEntry] {
        do { return try await store.feedback(tenants: identity.scope) } catch { throw APIError.from(error) }
    }

    /// How often each kind of recommendation is accepted.
    public func acceptanceRates() -> [AcceptanceRate] {
        Recommendation.Kind.allCases.map { decisions.rate($0.rawValue) }
    }
}
