/// A typed identifier: a node's, a task's or a tenant's name, never mixed up with another kind.
public struct Identifier<Tag>: Hashable, Comparable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

public enum NodeTag {}
public enum TaskTag {}
public enum TenantTag {}

/// The name of a node (machine).
public typealias NodeID = Identifier<NodeTag>
/// The identifier of a task (a job, possibly with several gang replicas).
public typealias TaskID = Identifier<TaskTag>
/// The name of a tenant (a team or an organisation).
public typealias TenantID = Identifier<TenantTag>
