/// Something a user told Allot: free-form product feedback, or a decision on a recommendation.
public struct FeedbackEntry: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable {
        case product
        case recommendation
    }

    public enum Decision: String, Codable, Sendable {
        case accept, dismiss
    }

    /// Assigned by the store, from 1.
    public var sequence: Int64
    public var at: Double
    public var kind: Kind
    /// Who: the token's id, and its tenant.
    public var actor: String
    public var tenant: String
    /// The text, or the reason given with a decision.
    public var text: String?
    /// For a decision: the recommendation, its kind and target, and its estimated monthly savings then.
    public var recommendation: String?
    public var recommendationKind: String?
    public var target: String?
    public var decision: Decision?
    public var monthlySavings: Double?

    public init(
        sequence: Int64 = 0,
        at: Double,
        kind: Kind,
        actor: String,
        tenant: String,
        text: String? = nil,
        recommendation: String? = nil,
        recommendationKind: String? = nil,
        target: String? = nil,
        decision: Decision? = nil,
        monthlySavings: Double? = nil
    ) {
        self.sequence = sequence
        self.at = at
        self.kind = kind
        self.actor = actor
        self.tenant = tenant
        self.text = text
        self.recommendation = recommendation
        self.recommendationKind = recommendationKind
        self.target = target
        self.decision = decision
        self.monthlySavings = monthlySavings
    }
}

/// `POST /v1/feedback`.
public struct ProductFeedbackRequest: Codable, Equatable, Sendable {
    public var text: String

    public init(text: String) { self.text = text }
}

/// `POST /v1/recommendations/{id}/feedback`.
public struct RecommendationDecisionRequest: Codable, Equatable, Sendable {
    public var decision: FeedbackEntry.Decision
    public var reason: String?

    public init(decision: FeedbackEntry.Decision, reason: String? = nil) {
        self.decision = decision
        self.reason = reason
    }
}

/// How often users accept a kind of recommendation (`GET /v1/recommendations/acceptance`).
public struct AcceptanceRate: Codable, Equatable, Sendable {
    public var kind: String
    public var accepted: Int
    public var dismissed: Int
    /// Accepted of decided, smoothed ((accepted + 1) / (decided + 2)): ½ with no decisions.
    public var rate: Double

    public init(kind: String, accepted: Int, dismissed: Int) {
        self.kind = kind
        self.accepted = accepted
        self.dismissed = dismissed
        rate = Double(accepted + 1) / Double(accepted + dismissed + 2)
    }
}
