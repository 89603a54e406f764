import AllotCLI
import AllotCore
import ArgumentParser

/// `allot estimate`: GPU memory, host memory and CPU for a transformer model run.
public struct EstimateCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "estimate",
        abstract: "Estimate GPU memory, host memory and CPU cores for a model (inference or training).",
        discussion:
            "Formulas: weights P*bytes; KV cache 2*L*kvHeads*headDim*seq*batch*bytes; training adds gradients and Adam states (16 bytes/parameter in mixed precision) and activations (Korthikanti et al. 2022)."
    )

    @Option(help: "Parameter count, e.g. 7B, 350M, 70e9.")
    public var params: String

    @Option(help: "Weights dtype: fp32, tf32, fp16, bf16, fp8, int8, int4.")
    public var dtype: String = "bf16"

    @Option(help: "Batch size.")
    public var batch: Int = 1

    @Option(help: "Sequence length in tokens.")
    public var seq: Int = 2048

    @Option(help: "inference or training.")
    public var mode: String = "inference"

    @Option(help: "Transformer layers (derived from the parameter count when absent).")
    public var layers: Int?

    @Option(help: "Hidden size (derived when absent).")
    public var hidden: Int?

    @Option(help: "Attention heads (hidden/128 when absent).")
    public var heads: Int?

    @Option(name: .customLong("kv-heads"), help: "Key/value heads for grouped-query attention (= heads when absent).")
    public var kvHeads: Int?

    @Option(name: .customLong("kv-dtype"), help: "KV cache dtype (the weights' when absent).")
    public var kvDType: String?

    @Flag(name: .customLong("eager-attention"), help: "Training: keep attention scores (no flash attention).")
    public var eagerAttention = false

    @Flag(name: .customLong("full-recompute"), help: "Training: recompute activations in the backward pass.")
    public var fullRecompute = false

    @Option(name: .customLong("gpu-memory"), help: "Memory of one GPU (e.g. 80GiB), to count the GPUs needed.")
    public var gpuMemory: String?

    @OptionGroup public var output: OutputOptions

    public init() {}

    public func validate() throws { _ = try description() }

    func description() throws -> ModelDescription {
        do {
            guard let workload = WorkloadMode(rawValue: mode.lowercased()) else {
                throw QuantityError(field: "mode", value: mode, reason: "use inference or training")
            }
            guard batch >= 1 else { throw QuantityError(field: "batch", value: "\(batch)", reason: "must be at least 1") }
            guard seq >= 1 else { throw QuantityError(field: "seq", value: "\(seq)", reason: "must be at least 1") }
            for (name, value) in [("layers", layers), ("hidden", hidden), ("heads", heads), ("kv-heads", kvHeads)] {
                if let value, value < 1 { throw QuantityError(field: name, value: "\(value)", reason: "must be at least 1") }
            }
            return ModelDescription(
                parameters: try ModelDescription.parameters(params),
                dtype: try DType.named(dtype),
                batch: batch,
                sequence: seq,
                mode: workload,
                layers: layers,
                hidden: hidden,
                heads: heads,
                kvHeads: kvHeads,
                kvDType: try kvDType.map { name throws(QuantityError) in try DType.named(name, field: "kv-dtype") },
                eagerAttention: eagerAttention,
                fullRecompute: fullRecompute,
                deviceMemoryBytes: try gpuMemory.map { text throws(QuantityError) in try Quantity.bytes(text, field: "gpu-memory") }
            )
        } catch let error as QuantityError {
            throw ValidationError("--\(error.field): invalid value \"\(error.value)\": \(error.reason)")
        }
    }

    public func run() throws { print(try render()) }

    public func render() throws -> String {
        let model = try description()
        let estimate: ResourceEstimate
        do { estimate = try ModelEstimator.estimate(model) } catch {
            throw ValidationError("--\(error.field): invalid value \"\(error.value)\": \(error.reason)")
        }
        let report = EstimateReport(model: model, estimate: estimate)
        if output.output == .json { return try JSONOutput.render(report) }
        var table = TextTable(["PART", "BYTES", "SIZE"])
        let parts: [(String, Double)] = [
            ("weights", estimate.weightsBytes), ("kv cache", estimate.kvCacheBytes), ("activations", estimate.activationBytes),
            ("gradients", estimate.gradientBytes), ("optimizer states", estimate.optimizerBytes), ("runtime overhead", estimate.overheadBytes),
            ("gpu memory (total)", estimate.gpuMemoryBytes), ("host memory", estimate.hostMemoryBytes),
        ]
        for (name, bytes) in parts { table.add([name, String(Int64(bytes)), Quantity.formatBytes(Int64(bytes))]) }
        let shape = estimate.shape
        return """
            model: \(Quantity.format(model.parameters / 1e9))B parameters, \(model.dtype.rawValue), \(model.mode.rawValue), batch \(model.batch), sequence \(model.sequence)
            shape: \(shape.layers) layers, hidden \(shape.hidden), \(shape.heads) heads, \(shape.kvHeads) KV heads
            \(table.render())
            gpus: \(estimate.gpus)\(model.deviceMemoryBytes.map { " of \(Quantity.formatBytes($0))" } ?? "")
            cpu: \(Quantity.format(estimate.cpuCores)) cores
            """
    }
}

/// The JSON form of an estimate.
struct EstimateReport: Encodable {
    var parameters: Double
    var dtype: String
    var mode: String
    var batch: Int
    var sequence: Int
    var layers: Int
    var hidden: Int
    var heads: Int
    var kvHeads: Int
    var weightsBytes: Int64
    var kvCacheBytes: Int64
    var activationBytes: Int64
    var gradientBytes: Int64
    var optimizerBytes: Int64
    var overheadBytes: Int64
    var gpuMemoryBytes: Int64
    var gpus: Int
    var hostMemoryBytes: Int64
    var cpuCores: Double

    init(model: ModelDescription, estimate: ResourceEstimate) {
        parameters = model.parameters
        dtype = model.dtype.rawValue
        mode = model.mode.rawValue
        batch = model.batch
        sequence = model.sequence
        layers = estimate.shape.layers
        hidden = estimate.shape.hidden
        heads = estimate.shape.heads
        kvHeads = estimate.shape.kvHeads
        weightsBytes = Int64(estimate.weightsBytes)
        kvCacheBytes = Int64(estimate.kvCacheBytes)
        activationBytes = Int64(estimate.activationBytes)
        gradientBytes = Int64(estimate.gradientBytes)
        optimizerBytes = Int64(estimate.optimizerBytes)
        overheadBytes = Int64(estimate.overheadBytes)
        gpuMemoryBytes = Int64(estimate.gpuMemoryBytes)
        gpus = estimate.gpus
        hostMemoryBytes = Int64(estimate.hostMemoryBytes)
        cpuCores = estimate.cpuCores
    }
}
