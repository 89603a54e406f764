import AllotAPI
import AllotCLI
import AllotCore
import Foundation

/// One frame of `allot top`: the cluster's resources, each node and GPU, the queue and the bottlenecks.
struct TopView {
    var time: Double
    var utilization: UtilizationView
    var nodes: [NodeStatus]
    var pending: [JobView]
    var bottlenecks: [BottleneckView]

    func render(width: Int = 120) -> String {
        var lines: [String] = []
        let stamp = Date(timeIntervalSince1970: time).formatted(.iso8601)
        lines.append("allot top  \(stamp)  \(nodes.filter { $0.state == .ready }.count)/\(nodes.count) nodes ready")
        lines.append("")
        var cluster = TextTable(["RESOURCE", "CAPACITY", "ALLOCATED", "USED"])
        for resource in utilization.resources {
            let format: (Double) -> String = { value in
                switch resource.name {
                case "memory", "gpu_memory": return Quantity.formatBytes(Int64(value))
                default: return Quantity.format((value * 10).rounded() / 10)
                }
            }
            cluster.add([
                resource.name, format(resource.capacity), "\(format(resource.allocated)) (\(Self.percent(resource.allocatedRatio)))",
                resource.used.map { "\(format($0)) (\(Self.percent(resource.usedRatio ?? 0)))" } ?? "-",
            ])
        }
        lines.append(cluster.render())
        lines.append("")
        let allocated = Dictionary(utilization.allocatedPools.map { ("\($0.node)|\($0.resource)", $0) }, uniquingKeysWith: { first, _ in first })
        let used = Dictionary(utilization.usedPools.map { ("\($0.node)|\($0.resource)", $0) }, uniquingKeysWith: { first, _ in first })
        var table = TextTable(["NODE", "STATE", "CPU ALLOC", "CPU USED", "MEM ALLOC", "MEM USED", "JOBS"])
        for node in nodes {
            let state = node.state.rawValue + (node.draining ? ",draining" : node.cordoned ? ",cordoned" : "")
            table.add([
                node.name, state, Self.bar(allocated["\(node.name)|cpu"]?.utilization), Self.bar(used["\(node.name)|cpu"]?.utilization),
                Self.bar(allocated["\(node.name)|memory"]?.utilization), Self.bar(used["\(node.name)|memory"]?.utilization),
                "\(node.jobs?.count ?? 0)",
            ])
        }
        lines.append(table.render())
        let gpus = nodes.flatMap { node in node.inventory.gpus.map { (node.name, $0) } }
        if !gpus.isEmpty {
            lines.append("")
            var table = TextTable(["NODE", "GPU", "MODEL", "MEM ALLOC", "MEM USED", "UTIL"])
            for (node, gpu) in gpus {
                let key = "\(node)|gpu\(gpu.index)"
                table.add([
                    node, "\(gpu.index)", gpu.name, Self.bar(allocated[key + ".memory"]?.utilization), Self.bar(used[key + ".memory"]?.utilization),
                    Self.bar(used[key + ".compute"]?.utilization),
                ])
            }
            lines.append(table.render())
        }
        lines.append("")
        let oldest = pending.map { time - $0.job.submittedAt }.max()
        lines.append("QUEUE  \(pending.count) pending" + (oldest.map { ", oldest waiting \(Self.duration($0))" } ?? ""))
        if !pending.isEmpty {
            var table = TextTable(["JOB", "TENANT", "POSITION", "WAITING", "REASON"])
            for view in pending.prefix(10) {
                table.add([
                    view.job.id.rawValue, view.job.tenant, view.queuePosition.map(String.init) ?? "-", Self.duration(time - view.job.submittedAt),
                    String((view.job.reason ?? "").prefix(60)),
                ])
            }
            lines.append(table.render())
        }
        lines.append("")
        lines.append("BOTTLENECKS  \(bottlenecks.count)")
        if !bottlenecks.isEmpty {
            var table = TextTable(["NODE", "RESOURCE", "BASIS", "UTIL", "SEVERITY", "ACTION"])
            for item in bottlenecks.prefix(10) {
                table.add([item.node, item.resource, item.basis, Self.percent(item.utilization), item.severity.rawValue, item.action.rawValue])
            }
            lines.append(table.render())
        }
        return lines.joined(separator: "\n").split(separator: "\n", omittingEmptySubsequences: false).map { String($0.prefix(width)) }
            .joined(separator: "\n")
    }

    static func percent(_ ratio: Double) -> String { "\(Int((ratio * 100).rounded())) %" }

    /// `[#####     ]  50 %`, or `-` without a value.
    static func bar(_ ratio: Double?) -> String {
        guard let ratio else { return "-" }
        let filled = max(0, min(10, Int((ratio * 10).rounded())))
        let text = percent(ratio)
        return "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: 10 - filled) + "] "
            + String(repeating: " ", count: max(0, 5 - text.count)) + text
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(max(0, seconds))
        if total >= 3_600 { return "\(total / 3_600)h\(total % 3_600 / 60)m" }
        if total >= 60 { return "\(total / 60)m\(total % 60)s" }
        return "\(total)s"
    }
}
