import AllotCore

/// A file or request that could not be understood, with the path of the offending field (`tasks[2].requests.memory`).
public struct InputError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public init(_ error: QuantityError) {
        self.path = error.field
        self.message = "invalid value \"\(error.value)\": \(error.reason)"
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}
