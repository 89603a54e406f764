import AllotAPI
import AllotCore
import Foundation

/// `--resources "cpu=8,memory=32GiB,gpus=2xA100:80GiB"`: declared resources that replace discovery, so tests
/// and demos can stand up nodes of any shape. Keys: `cpu`, `memory`, `disk`, `network`, `gpus` (groups of
/// `COUNTxMODEL:MEMORY` joined by `+`, e.g. `8xH100:80GiB+1xL4:24GiB`).
public struct ResourceOverride: Equatable, Sendable {
    public var cpuMillis: Int64?
    public var memoryBytes: Int64?
    public var diskBytes: Int64?
    public var networkBitsPerSecond: Int64?
    public var gpus: [NodeInventory.GPU]?

    public static func parse(_ text: String) throws(QuantityError) -> ResourceOverride {
        var result = ResourceOverride()
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
            guard parts.count == 2, !parts[1].isEmpty else {
                throw QuantityError(field: "resources", value: String(item), reason: "expected KEY=VALUE (cpu, memory, disk, network, gpus)")
            }
            let field = "resources.\(parts[0])"
            switch parts[0] {
            case "cpu": result.cpuMillis = try Quantity.cpuMillis(parts[1], field: field)
            case "memory": result.memoryBytes = try Quantity.bytes(parts[1], field: field)
            case "disk": result.diskBytes = try Quantity.bytes(parts[1], field: field)
            case "network": result.networkBitsPerSecond = try Quantity.bitsPerSecond(parts[1], field: field)
            case "gpus": result.gpus = try gpus(parts[1], field: field)
            default: throw QuantityError(field: field, value: parts[1], reason: "unknown resource (use cpu, memory, disk, network, gpus)")
            }
        }
        return result
    }

    private static func gpus(_ text: String, field: String) throws(QuantityError) -> [NodeInventory.GPU] {
        var devices: [NodeInventory.GPU] = []
        for group in text.split(separator: "+").map(String.init) {
            let reason = "expected COUNTxMODEL:MEMORY, e.g. 2xA100:80GiB"
            guard let times = group.firstIndex(of: "x"), let colon = group.lastIndex(of: ":"), times < colon,
                let count = Int(group[..<times]), count > 0
            else { throw QuantityError(field: field, value: group, reason: reason) }
            let model = String(group[group.index(after: times)..<colon])
            guard !model.isEmpty else { throw QuantityError(field: field, value: group, reason: reason) }
            let memory = try Quantity.bytes(String(group[group.index(after: colon)...]), field: field)
            for _ in 0..<count {
                let index = devices.count
                devices.append(
                    NodeInventory.GPU(
                        index: index,
                        uuid: "GPU-fake-\(model.lowercased())-\(index)",
                        name: model,
                        memoryTotalBytes: memory,
                        memoryUsedBytes: 0
                    )
                )
            }
        }
        return devices
    }

    /// The inventory with the declared figures in place of the discovered ones.
    public func apply(to inventory: NodeInventory) -> NodeInventory {
        var result = inventory
        if let cpuMillis {
            result.cpu = NodeInventory.CPU(
                model: inventory.cpu.model,
                logicalCores: Int((Double(cpuMillis) / 1000).rounded(.up)),
                quotaCores: Double(cpuMillis) / 1000
            )
        }
        if let memoryBytes { result.memoryBytes = memoryBytes }
        if let diskBytes { result.disks = [NodeInventory.Disk(path: "declared", totalBytes: diskBytes, freeBytes: diskBytes)] }
        if let networkBitsPerSecond {
            result.network = [NodeInventory.NetworkInterface(name: "declared", speedBitsPerSecond: networkBitsPerSecond, up: true)]
        }
        if let gpus { result.gpus = gpus }
        result.notes.append("resources declared with --resources")
        return result
    }
}
