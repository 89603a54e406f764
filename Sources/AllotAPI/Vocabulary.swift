import AllotCore

/// How an attempt at running a job ended.
public enum AttemptOutcome: String, Codable, Sendable, CaseIterable {
    case succeeded
    case failed
    case cancelled
    /// Its node went down, or its agent lost the process.
    case lost
    /// Evicted for a job of higher priority or a tenant owed its guarantee.
    case preempted

    /// The outcome of an attempt that ended with the job in `state` (`nil` for a state no attempt ends in).
    public init?(ending state: JobState) {
        self.init(rawValue: state.rawValue)
    }
}

/// What an admin can do to a node.
public enum NodeAction: String, Codable, Sendable, CaseIterable {
    /// Takes no new work.
    case cordon
    /// Takes no new work and is draining until its jobs end.
    case drain
    /// Takes work again.
    case uncordon
}

extension BottleneckSeverity: Codable {}

/// What to do about a bottleneck.
public enum BottleneckAction: String, Codable, Sendable, CaseIterable {
    /// The resource is scarce across the cluster, or nowhere else has it to spare.
    case addCapacity = "add-capacity"
    /// Other nodes have room: move (preemptible) work there.
    case moveWork = "move-work"
    /// Allocated far above what is used: lower the requests.
    case lowerRequest = "lower-request"
}
