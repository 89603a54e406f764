/// A resource quantity or setting that could not be understood.
///
/// The message always names the field and the offending value, so that a user who mistyped
/// `"16GiBs"` in a file of a thousand lines knows where to look.
public struct QuantityError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The field that held the value, e.g. `nodes[2].memory` or `memory`.
    public var field: String
    /// The value as written.
    public var value: String
    /// Why it was refused.
    public var reason: String

    public init(field: String, value: String, reason: String) {
        self.field = field
        self.value = value
        self.reason = reason
    }

    public var description: String { "\(field): invalid value \"\(value)\": \(reason)" }
}
