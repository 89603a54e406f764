/// Why the scheduler refused an event: a struct wrapping a stable code, mapped to HTTP and exit codes at the edges.
public struct SchedulerError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case duplicateTask = "duplicate_task"
        case duplicateNode = "duplicate_node"
        case unknownTask = "unknown_task"
        case unknownNode = "unknown_node"
        case invalidTask = "invalid_task"
        case infeasible = "infeasible"
        case invalidState = "invalid_state"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
