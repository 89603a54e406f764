import AllotAPI
import AllotCore
import AllotStore

/// What the shell must do after an event, in this order: a `persist` first (when its commit fails, nothing
/// after it is done and the caller is answered `503`), then the rest.
public enum LifecycleAction: Equatable, Sendable {
    /// Write these records in one transaction; everything below stands on it.
    case persist(WriteBatch)
    /// Announce a job's change on the event stream (its write has committed).
    case publishJob(Job)
    /// Announce a node's change.
    case publishNode(NodeStatus)
    /// Wake these nodes' agents (sorted names): what they must run has changed, and is durable.
    case wake([String])
    /// Run a scheduling cycle.
    case schedule
    /// Memory no longer matches the store: load it again (``Lifecycle/restore(_:now:reviveNodes:)``).
    case reload
}

/// Why an event was refused.
public struct LifecycleError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The store does not take writes: nothing was changed.
        case storeUnavailable
        case notFound
        /// The scheduler refused (its own code and message).
        case scheduler(SchedulerError.Code)
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func from(_ error: SchedulerError) -> LifecycleError { LifecycleError(.scheduler(error.code), error.message) }
}
