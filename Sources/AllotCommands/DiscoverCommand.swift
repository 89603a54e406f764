import AllotAPI
import AllotAgent
import AllotCLI
import AllotCore
import ArgumentParser

/// `allot discover`: what the agent would report for this machine.
public struct DiscoverCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "discover",
        abstract: "Discover this machine's CPU, memory, disks, network and GPUs as the agent reports them."
    )

    @Option(help: "The node name (the host name when absent).")
    public var name: String?

    @Option(name: .customLong("disk"), help: "A path whose file system to report (repeatable; / when absent).")
    public var disks: [String] = []

    @Option(help: "Declared resources replacing discovery, e.g. cpu=8,memory=32GiB,gpus=2xA100:80GiB.")
    public var resources: String?

    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws {
        if let resources {
            do { _ = try ResourceOverride.parse(resources) } catch {
                throw ValidationError("--\(error.field): invalid value \"\(error.value)\": \(error.reason)")
            }
        }
    }

    public func run() throws { print(try render()) }

    public func render() throws -> String {
        var inventory = NodeDiscovery(name: name, diskPaths: disks.isEmpty ? ["/"] : disks).inventory()
        if let resources { inventory = try ResourceOverride.parse(resources).apply(to: inventory) }
        if output.output == .json { return try JSONOutput.render(inventory) }
        var lines = [
            "node: \(inventory.name)",
            "cpu: \(inventory.cpu.model), \(inventory.cpu.logicalCores) logical cores"
                + (inventory.cpu.quotaCores.map { ", quota \(Quantity.format($0))" } ?? ""),
            "memory: \(Quantity.formatBytes(inventory.memoryBytes))",
        ]
        for disk in inventory.disks {
            lines.append("disk \(disk.path): \(Quantity.formatBytes(disk.totalBytes)) total, \(Quantity.formatBytes(disk.freeBytes)) free")
        }
        for interface in inventory.network {
            let speed = interface.speedBitsPerSecond.map { "\(Quantity.format(Double($0) / 1e9)) Gbit/s" } ?? "speed unknown"
            lines.append("network \(interface.name): \(speed), \(interface.up ? "up" : "down")")
        }
        var gpus = TextTable(["GPU", "MODEL", "NAME", "MEMORY", "USED", "UTIL", "MIG", "UUID"])
        for gpu in inventory.gpus {
            gpus.add([
                "\(gpu.index)", GPUModelName.normalize(gpu.name), gpu.name, Quantity.formatBytes(gpu.memoryTotalBytes),
                gpu.memoryUsedBytes.map(Quantity.formatBytes) ?? "?", gpu.utilizationPercent.map { Quantity.format($0) + "%" } ?? "?",
                gpu.migEnabled.map { $0 ? "on" : "off" } ?? "?", gpu.uuid ?? "?",
            ])
        }
        if !inventory.gpus.isEmpty { lines.append(gpus.render()) }
        lines += inventory.notes.map { "note: \($0)" }
        return lines.joined(separator: "\n")
    }
}
