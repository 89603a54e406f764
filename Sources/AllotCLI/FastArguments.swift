/// A one-off client command's arguments read without ArgumentParser: long options with or without a value
/// (`--name value`, `--name=value`), positional arguments where the command takes them, and, after `--`, the
/// rest as given.
///
/// ArgumentParser builds a command by reflection, and in a process that makes one call the Swift runtime's
/// first lookups of each option type's conformances cost more than the call (about half of an `allot submit`).
/// This reads only the plain case. Anything else — help, a short or unknown option, a value missing or
/// malformed, an argument the command does not take, a single option given twice — makes it give up (`nil`), and the
/// command goes through ArgumentParser, which says what is wrong as for any command.
public struct FastArguments: Sendable {
    /// The options given, in order (a list: a dictionary of lists is a type the runtime would build first).
    private var values: [(name: String, value: String?)] = []
    /// What follows `--`.
    public private(set) var terminated: [String] = []
    /// The positional arguments, in order.
    public private(set) var positional: [String] = []

    /// The options a command takes: `valued` take one value, `repeatable` take one each time they are given,
    /// `flags` take none; then how many positional arguments it takes, and whether `--` and the rest.
    /// Lists, not sets: a handful of names, and a set's first use costs the one-off call more than the searches.
    public struct Grammar: Sendable {
        public var valued: [String]
        public var repeatable: [String] = []
        public var flags: [String] = []
        public var positional = 0
        public var rest = false

        public init(valued: [String], repeatable: [String] = [], flags: [String] = [], positional: Int = 0, rest: Bool = false) {
            self.valued = valued
            self.repeatable = repeatable
            self.flags = flags
            self.positional = positional
            self.rest = rest
        }

        /// Every option name.
        public var names: [String] { valued + repeatable + flags }

        /// `--server`, `--token`, `--ca` and `--ca-fingerprint` (``ClientOptions``).
        public static let client = ["server", "token", "ca", "ca-fingerprint"]
        /// `--output` (``OutputOptions``).
        public static let output = ["output"]
    }

    /// `nil` also when fewer positional arguments are given than the command takes.
    public init?(_ arguments: [String], grammar: Grammar) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            if argument == "--" {
                guard grammar.rest else { return nil }
                while let rest = iterator.next() { terminated.append(rest) }
                break
            }
            if !argument.hasPrefix("-") && positional.count < grammar.positional {
                positional.append(argument)
                continue
            }
            guard argument.hasPrefix("--") else { return nil }
            var name = String(argument.dropFirst(2))
            var inline: String?
            if let equals = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            let given = values.contains { $0.name == name }
            if grammar.flags.contains(name) {
                guard inline == nil, !given else { return nil }
                values.append((name, nil))
                continue
            }
            let repeatable = grammar.repeatable.contains(name)
            guard repeatable || grammar.valued.contains(name) else { return nil }
            guard repeatable || !given else { return nil }
            guard let value = inline ?? iterator.next(), inline != nil || !value.hasPrefix("-") else { return nil }
            values.append((name, value))
        }
        guard positional.count == grammar.positional else { return nil }
    }

    /// The value of a single-value option, if given.
    public func value(_ name: String) -> String? { values.first { $0.name == name }?.value }

    /// Every value of a repeatable option, in order.
    public func all(_ name: String) -> [String] { values.compactMap { $0.name == name ? $0.value : nil } }

    public func flag(_ name: String) -> Bool { values.contains { $0.name == name } }

    /// `--output`, `table` when not given; `nil` when given but not a format (give up).
    public var output: OutputFormat? { typed("output", OutputFormat.init(rawValue:)).map { $0 ?? .table } }

    /// The value read as `T`; `.some(nil)` when not given, `nil` when given but not a `T` (give up).
    public func typed<T>(_ name: String, _ read: (String) -> T?) -> T?? {
        guard let text = value(name) else { return .some(nil) }
        guard let value = read(text) else { return nil }
        return .some(value)
    }
}

/// A one-off client command that can run from ``FastArguments``.
protocol FastCommand: Sendable {
    /// `nil` when the arguments must go through ArgumentParser.
    init?(fast arguments: [String])
    func validate() throws
    func run() async throws
}

extension FastCommand {
    func validate() throws {}
}
