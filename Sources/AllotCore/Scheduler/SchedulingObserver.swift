/// Sees each scheduling decision as it happens, so that a shell can time or count them; the core itself
/// reads no clock.
public protocol SchedulingObserver {
    mutating func decisionStarted()
    mutating func decisionFinished(placed: Bool)
}

/// Observes nothing.
public struct NoSchedulingObserver: SchedulingObserver {
    public init() {}
    @inlinable public mutating func decisionStarted() {}
    @inlinable public mutating func decisionFinished(placed: Bool) {}
}
