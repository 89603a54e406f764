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
