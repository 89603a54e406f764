import AllotAPI
import AllotCore
import Foundation

/// The nodes page: a row per node, built in code (see ``nodeRow(_:admin:csrf:names:)``).
extension APIRoutes {

    func nodesPage(_ session: WebRequest) async -> WebPage {
        let nodes = await plane.nodeList(for: session.identity)
        let admin = session.identity.isAdmin
        var page = WebPage(title: "Nodes", name: "nodes")
        page.context = [
            "count": nodes.count, "ready": nodes.filter { $0.state == .ready }.count, "gpuCount": nodes.map(\.inventory.gpus.count).reduce(0, +),
            "admin": admin,
            // The rows are built here rather than as template sections: a thousand nodes with eight GPUs each are
            // too many template contexts to stay within the page's time budget.
            "rows": {
                var names = NodeRowNames()
                return nodes.map { node in nodeRow(node, admin: admin, csrf: session.csrf, names: &names) }.joined(separator: "\n")
            }(),
            "autoscaler": plane.provisioning.enabled,
            "bought": plane.provisioning.intents.filter { $0.state.isLive }.map { intent in
                [
                    "id": intent.id, "instance": intent.instanceID ?? "-", "node": intent.node ?? "-",
                    "state": intent.state == .launching || intent.state == .booting ? "provisioning" : intent.state.rawValue,
                    "why": intent.why,
                ]
            },
        ]
        return page
    }

    /// One node's table row, every text escaped.
    func nodeRow(_ node: NodeStatus, admin: Bool, csrf: String, names: inout NodeRowNames) -> String {
        let escape = SVGCharts.escape
        let usage = Dictionary(uniqueKeysWithValues: (node.usage?.gpus ?? []).map { ($0.index, $0) })
        let state = node.state == .down ? "down" : node.draining ? "draining" : node.cordoned ? "cordoned" : "ready"
        let name = escape(node.name)
        let cpu =
            "\(Quantity.format(node.inventory.cpu.schedulableCores)) cores" + (node.usage?.cpuUtilization.map { ", \(Self.percent($0)) busy" } ?? "")
        var gpus = ""
        for gpu in node.inventory.gpus {
            let used = usage[gpu.index]?.memoryUsedBytes ?? gpu.memoryUsedBytes ?? 0
            let util = (usage[gpu.index]?.utilizationPercent ?? gpu.utilizationPercent ?? 0) / 100
            let memory = gpu.memoryTotalBytes > 0 ? Double(used) / Double(gpu.memoryTotalBytes) : 0
            let title =
                "GPU \(gpu.index) \(names.model(gpu.name)): \(names.bytes(used)) of \(names.bytes(gpu.memoryTotalBytes)) used, \(Self.percent(util)) busy"
            gpus += "<span class=\"gpu\" role=\"img\" title=\"\(escape(title))\"><span class=\"mem\" style=\"height:\(Self.width(memory))%\"></span>"
            gpus += "<span class=\"util\" style=\"height:\(Self.width(util))%\"></span></span>"
        }
        var row = "<tr id=\"node-\(name)\"><th scope=\"row\">\(name)</th><td><span class=\"badge \(state)\">\(state)</span></td>"
        row +=
            "<td>\(escape(cpu))</td><td>\(Quantity.formatBytes(node.inventory.memoryBytes))</td><td class=\"gpus\">\(gpus.isEmpty ? "–" : gpus)</td>"
        row += "<td>\(node.inventory.pricing?.hourlyPrice.map { "$\(Self.cents($0))/h" } ?? "–")</td><td>\(node.jobs?.count ?? 0)</td>"
        if admin {
            row += "<td>"
            for action in node.cordoned ? ["uncordon"] : ["cordon", "drain"] {
                row +=
                    "<form method=\"post\" action=\"/ui/nodes/\(name)/\(action)\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"\(csrf)\">"
                row += "<button type=\"submit\" aria-label=\"\(action) \(name)\">\(action)</button></form>"
            }
            row += "</td>"
        }
        return row + "</tr>"
    }
}

/// Names the nodes page repeats thousands of times (GPU models, memory sizes), each worked out once.
struct NodeRowNames {
    private var models: [String: String] = [:]
    private var sizes: [Int64: String] = [:]

    mutating func model(_ name: String) -> String {
        if let known = models[name] { return known }
        let model = SVGCharts.escape(GPUModelName.normalize(name))
        models[name] = model
        return model
    }

    mutating func bytes(_ value: Int64) -> String {
        if let known = sizes[value] { return known }
        let text = Quantity.formatBytes(value)
        sizes[value] = text
        return text
    }
}
