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

    public func run() async throws {
        let nodes = try await withClientErrors { try await client.client().nodes() }
        if output.output == .json {
            print(try JSONOutput.render(nodes))
            return
        }
        var table = TextTable(["NAME", "STATE", "CPU", "MEMORY", "GPUS", "JOBS"])
        for node in nodes {
            let spec = node.inventory.nodeSpec
            let state = node.state.rawValue + (node.draining ? ",draining" : node.cordoned ? ",cordoned" : "")
            let gpus = Dictionary(grouping: spec.gpus, by: \.model).map { "\($0.value.count)x\($0.key)" }.sorted().joined(separator: ",")
            table.add([
                node.name, state, Quantity.formatCPU(spec.capacity.cpuMillis), Quantity.formatBytes(spec.capacity.memoryBytes),
                gpus.isEmpty ? "-" : gpus, "\(node.jobs?.count ?? 0)",
            ])
        }
        print(table.render())
    }
}

/// `allot node NAME [cordon|drain|uncordon]`.
public struct NodeCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "node", abstract: "Show a node, or cordon, drain or uncordon it.")

    @Argument(help: "The node name.") public var name: String
    @Argument(help: "cordon, drain or uncordon.") public var action: String?
    @OptionGroup public var client: ClientOptions
    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws {
        if let action, !["cordon", "drain", "uncordon"].contains(action) {
            throw ValidationError("invalid action \"\(action)\": use cordon, drain or uncordon")
        }
    }

    public func run() async throws {
        let node = try await withClientErrors {
            let client = try client.client()
            if let action { return try await client.node(name, action: action) }
            return try await client.node(name)
        }
        print(try JSONOutput.render(node))
    }
}
