/// Something the optimizer suggests, with its evidence and estimated effect.
public struct Recommendation: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Move preemptible jobs so that a queued job fits.
        case consolidation
        /// Move every job off a node so that it can be released.
        case drain
        /// An allocation whose GPUs sit idle.
        case idle
        /// Requests far above what is used.
        case rightsizing
        /// A node that has run nothing for a while.
        case scaleDown = "scale-down"
        /// The same machine (or a larger one) cheaper in another region or cloud.
        case cheaperOffer = "cheaper-offer"
        /// Spot capacity for a node that runs only preemptible work.
        case spot
        /// A reserved instance or committed-use discount for a node that runs all the time.
        case commitment
    }

    /// One measured fact behind it.
    public struct Evidence: Codable, Equatable, Sendable {
        public var name: String
        public var value: Double
        /// `ratio`, `bytes`, `cores`, `gpus`, `seconds`, `count`.
        public var unit: String

        public init(name: String, value: Double, unit: String) {
            self.name = name
            self.value = value
            self.unit = unit
        }
    }

    /// A consolidation or drain move: the job stops where it is and starts on the `to` nodes.
    public struct Move: Codable, Equatable, Sendable {
        public var job: String
        public var from: [String]
        public var to: [String]

        public init(job: String, from: [String], to: [String]) {
            self.job = job
            self.from = from
            self.to = to
        }
    }

    /// Stable while the situation is the same: the kind, the target and the plan's moves.
    public var id: String
    public var kind: Kind
    public var title: String
    /// What it is about: a job id, a node name, or `tenant/name` for a group of jobs.
    public var target: String
    /// The tenant it concerns, when it concerns one.
    public var tenant: String?
    public var evidence: [Evidence]
    /// The estimated effect, in words.
    public var effect: String
    /// GPUs, nodes, CPU cores and memory bytes it would free.
    public var freesGPUs: Double
    public var freesNodes: Int
    public var freesCPUCores: Double
    public var freesMemoryBytes: Double
    /// The moves, for consolidation and drain (which `POST /v1/recommendations/{id}/apply` carries out).
    public var moves: [Move]?
    /// Where the target job starts once the moves are done.
    public var startsOn: [String]?
    /// Estimated USD saved per month (730 hours) when it is carried out, where a price is known.
    public var monthlySavings: Double?
    /// Its place in the list: savings weighted by how often users accept its kind (higher first).
    public var rank: Double?

    public init(
        id: String,
        kind: Kind,
        title: String,
        target: String,
        tenant: String? = nil,
        evidence: [Evidence],
        effect: String,
        freesGPUs: Double = 0,
        freesNodes: Int = 0,
        freesCPUCores: Double = 0,
        freesMemoryBytes: Double = 0,
        moves: [Move]? = nil,
        startsOn: [String]? = nil,
        monthlySavings: Double? = nil
    ) {
        self.id = id
        self.kind = kind
        self.title = title
        self.target = target
        self.tenant = tenant
        self.evidence = evidence
        self.effect = effect
        self.freesGPUs = freesGPUs
        self.freesNodes = freesNodes
        self.freesCPUCores = freesCPUCores
        self.freesMemoryBytes = freesMemoryBytes
        self.moves = moves
        self.startsOn = startsOn
        self.monthlySavings = monthlySavings
    }
}

/// What applying a plan did.
public struct ApplyResult: Codable, Equatable, Sendable {
    public var recommendation: String
    /// The jobs stopped (SIGTERM, then the grace period) and started again elsewhere.
    public var moved: [Recommendation.Move]
    /// The job the moves made room for, now started.
    public var started: String?
    public var gracePeriodSeconds: Double

    public init(recommendation: String, moved: [Recommendation.Move], started: String?, gracePeriodSeconds: Double) {
        self.recommendation = recommendation
        self.moved = moved
        self.started = started
        self.gracePeriodSeconds = gracePeriodSeconds
    }
}
