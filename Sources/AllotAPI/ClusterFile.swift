import AllotCore

/// `cluster.json`: `{"nodes":[{"name":"n1","cpu":4,"memory":"8GiB","gpus":[{"model":"A100","memory":"16GiB"}]}]}`.
///
/// Every field but `name` is optional. A node may also give `disk`, `network`, `extended` (name → count)
/// and `labels`; a GPU may give `index`, `uuid`, `mig` and `topology`. As a shorthand, `"gpus": 8` with
/// `gpuModel` and `gpuMemory` declares eight identical GPUs.
public enum ClusterFile {
    static let nodeKeys: Set<String> = ["name", "cpu", "memory", "disk", "network", "gpus", "gpuModel", "gpuMemory", "extended", "labels"]
    static let gpuKeys: Set<String> = ["index", "model", "memory", "uuid", "mig", "topology"]

    public static func decode(_ value: JSONValue) throws(InputError) -> [NodeSpec] {
        let root = try ObjectReader(value, path: "", allowed: ["nodes"])
        guard let nodes = try root.array("nodes") else { throw InputError(path: "nodes", "required: the cluster's list of nodes") }
        var seen: Set<String> = []
        var specs: [NodeSpec] = []
        for (position, node) in nodes.enumerated() {
            let spec = try decodeNode(node, path: "nodes[\(position)]")
            guard seen.insert(spec.id.rawValue).inserted else {
                throw InputError(path: "nodes[\(position)].name", "duplicate node name \"\(spec.id)\"")
            }
            specs.append(spec)
        }
        return specs
    }

    public static func decodeNode(_ value: JSONValue, path: String) throws(InputError) -> NodeSpec {
        let node = try ObjectReader(value, path: path, allowed: nodeKeys)
        let name = try node.requiredString("name")
        var capacity = ResourceVector()
        capacity.cpuMillis = try node.cpu("cpu") ?? 0
        capacity.memoryBytes = try node.bytes("memory") ?? 0
        capacity.diskBytes = try node.bytes("disk") ?? 0
        capacity.networkBitsPerSecond = try node.bitRate("network") ?? 0
        capacity.extended = try extended(node, "extended")
        var gpus: [GPUDevice] = []
        switch node.fields["gpus"] {
        case nil, .null:
            break
        case .number(let count):
            guard count >= 0, count == count.rounded() else {
                throw InputError(path: node.at("gpus"), "invalid value \"\(Quantity.format(count))\": expected a whole number of GPUs")
            }
            let model = try node.string("gpuModel") ?? "gpu"
            let memory = try node.bytes("gpuMemory") ?? 0
            gpus = (0..<Int(count)).map { GPUDevice(index: $0, model: model, memoryBytes: memory) }
        case .array(let list):
            for (position, gpu) in list.enumerated() {
                let reader = try ObjectReader(gpu, path: "\(node.at("gpus"))[\(position)]", allowed: gpuKeys)
                let index = try reader.integer("index") ?? position
                guard !gpus.contains(where: { $0.index == index }) else { throw InputError(path: reader.at("index"), "duplicate GPU index \(index)") }
                gpus.append(
                    GPUDevice(
                        index: index,
                        model: try reader.string("model") ?? "gpu",
                        memoryBytes: try reader.bytes("memory") ?? 0,
                        uuid: try reader.string("uuid"),
                        migEnabled: try reader.bool("mig"),
                        topology: try reader.string("topology")
                    )
                )
            }
        case .some(let other):
            throw InputError(path: node.at("gpus"), "expected a list of GPUs or a count, found \(other.kind)")
        }
        var labels: [String: String] = [:]
        if node.has("labels") {
            let reader = try ObjectReader(node.fields["labels"]!, path: node.at("labels"), allowed: Set(labelKeys(node.fields["labels"]!)))
            for key in reader.fields.keys { labels[key] = try reader.string(key) }
        }
        return NodeSpec(id: NodeID(name), capacity: capacity, gpus: gpus, labels: labels)
    }

    static func extended(_ reader: ObjectReader, _ key: String) throws(InputError) -> [String: Int64] {
        guard reader.has(key), case .object(let fields) = reader.fields[key]! else {
            if reader.has(key) { throw InputError(path: reader.at(key), "expected an object of resource name to count") }
            return [:]
        }
        let inner = try ObjectReader(reader.fields[key]!, path: reader.at(key), allowed: Set(fields.keys))
        var result: [String: Int64] = [:]
        for name in fields.keys {
            result[name] = try inner.quantity(name, number: Quantity.bytes, text: Quantity.count)
        }
        return result
    }

    private static func labelKeys(_ value: JSONValue) -> [String] {
        if case .object(let fields) = value { return Array(fields.keys) }
        return []
    }
}
