import AllotAPI
import AllotClient
import AllotCore
import ArgumentParser

/// `allot nodes`.
public struct NodesCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "nodes", abstract: "List nodes.")

    @OptionGroup public var client: ClientOptions
    @OptionGroup public var output: OutputOptions

    public init() {}

    public var request: NodesRequest { NodesRequest(client: client.settings, output: output.output) }

    public func run() async throws { try await request.run() }
}

/// What `allot nodes` is asked, as plain values (see ``SubmitRequest``).
public struct NodesRequest: FastCommand, Equatable {
    public var client: ClientSettings
    public var output: OutputFormat

    public init(client: ClientSettings, output: OutputFormat) {
        self.client = client
        self.output = output
    }

    public static let grammar = FastArguments.Grammar(valued: FastArguments.Grammar.client + FastArguments.Grammar.output)

    public init?(fast arguments: [String]) {
        guard let parsed = FastArguments(arguments, grammar: Self.grammar), let output = parsed.output else { return nil }
        self.init(client: ClientSettings(fast: parsed), output: output)
    }

    public func run() async throws {
        let api = try client.client()
        let nodes = try await withClientErrors { try await api.nodes() }
        let bought = try await withClientErrors { try await api.autoscaler() }
        if output == .json {
            print(try JSONOutput.render(nodes))
            return
        }
        let intents = Dictionary(bought.instances.compactMap { intent in intent.node.map { ($0, intent) } }) { first, _ in first }
        var table = TextTable(["NAME", "STATE", "CPU", "MEMORY", "GPUS", "JOBS", "BOUGHT"])
        for node in nodes {
            let spec = node.inventory.nodeSpec
            let state = node.state.rawValue + (node.draining ? ",draining" : node.cordoned ? ",cordoned" : "")
            let gpus = Dictionary(grouping: spec.gpus, by: \.model).map { "\($0.value.count)x\($0.key)" }.sorted().joined(separator: ",")
            table.add([
                node.name, state, Quantity.formatCPU(spec.capacity.cpuMillis), Quantity.formatBytes(spec.capacity.memoryBytes),
                gpus.isEmpty ? "-" : gpus, "\(node.jobs?.count ?? 0)", intents[node.name].map { $0.id } ?? "-",
            ])
        }
        // Machines bought and not joined yet.
        for intent in bought.instances where intent.state == .launching || intent.state == .booting {
            table.add([intent.instanceID ?? intent.id, "provisioning", "-", "-", "-", "0", intent.id])
        }
        print(table.render())
        let shown = bought.instances.filter { $0.state.isLive }
        guard !shown.isEmpty else { return }
        print("")
        for intent in shown {
            print(TextTable.printable("\(intent.id) (\(intent.instanceID ?? "no instance yet"), \(intent.state.rawValue)): bought \(intent.why)"))
        }
    }
}

/// `allot node NAME [cordon|drain|uncordon|revoke]`.
public struct NodeCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Show a node; cordon, drain or uncordon it; or revoke its own certificate (it must join again with the join token)."
    )

    @Argument(help: "The node name.") public var name: String
    @Argument(help: "cordon, drain, uncordon or revoke.") public var action: String?
    @OptionGroup public var client: ClientOptions
    @OptionGroup public var output: OutputOptions

    public init() {}

    public var request: NodeRequest { NodeRequest(name: name, action: action, client: client.settings, output: output.output) }

    public func validate() throws { try request.validate() }

    public func run() async throws { try await request.run() }
}

/// What `allot node NAME [ACTION]` is asked, as plain values. Only the plain `allot node NAME` is read without
/// ArgumentParser; an action goes through it.
public struct NodeRequest: FastCommand, Equatable {
    public var name: String
    public var action: String?
    public var client: ClientSettings
    public var output: OutputFormat

    public init(name: String, action: String?, client: ClientSettings, output: OutputFormat) {
        self.name = name
        self.action = action
        self.client = client
        self.output = output
    }

    public static let grammar = FastArguments.Grammar(valued: FastArguments.Grammar.client + FastArguments.Grammar.output, positional: 1)

    public init?(fast arguments: [String]) {
        guard let parsed = FastArguments(arguments, grammar: Self.grammar), let output = parsed.output else { return nil }
        self.init(name: parsed.positional[0], action: nil, client: ClientSettings(fast: parsed), output: output)
    }

    public func validate() throws {
        if let action, !["cordon", "drain", "uncordon", "revoke"].contains(action) {
            throw ValidationError("invalid action \"\(action)\": use cordon, drain, uncordon or revoke")
        }
    }

    public func run() async throws {
        if action == "revoke" {
            let binding = try await withClientErrors { try await client.client().revokeNodeCertificate(name) }
            if output == .json { return print(try JSONOutput.render(binding)) }
            return print("revoked the certificate of node \(name) (SHA-256 \(binding.fingerprint)): its agent must join again with the join token")
        }
        let node = try await withClientErrors {
            let client = try client.client()
            if let action { return try await client.node(name, action: action) }
            return try await client.node(name)
        }
        print(try JSONOutput.render(node))
    }
}
