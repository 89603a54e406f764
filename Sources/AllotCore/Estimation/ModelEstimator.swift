/// GPU memory, host memory and CPU cores a transformer run needs.
///
/// The formulas, per part (P parameters, L layers, h hidden size, a heads, s sequence, b batch):
/// - weights: `P · bytes(dtype)` (a 7B model in bf16 is 14 GB);
/// - inference KV cache: `2 · L · kvHeads · (h / a) · s · b · bytes(kv dtype)` (OPT-13B in fp16: 800 KiB a token,
///   as the vLLM paper reports);
/// - inference activations: the transient buffers of one forward pass over the batch, `b · s · 4h · bytes · 2`;
/// - training, mixed precision with Adam (ZeRO paper, Rajbhandari et al. 2020): gradients `P · bytes(dtype)`,
///   optimizer states `12 P` (fp32 master weights, momentum, variance) for 16-bit weights, `8 P` for fp32;
///   16 bytes a parameter in all, so 7.5B parameters need 120 GB before activations;
/// - training activations (Korthikanti et al. 2022): `L · s · b · h · (34 + 5 a s / h)` bytes with eager attention,
///   `34 · L · s · b · h` with flash attention (the default), `2 · L · s · b · h` with full recomputation;
/// - runtime overhead: 1 GiB for the CUDA context and allocator slack (a rule of thumb).
///
/// Host memory and CPU are rules of thumb, stated as such: host memory holds one copy of the weights for
/// loading and checkpointing plus 4 GiB for the runtime and data loading; CPU is 2 cores plus 1 a GPU for
/// serving, 4 cores a GPU (at least 4) for training's data loaders.
public struct ResourceEstimate: Sendable, Equatable {
    public var shape: ModelShape
    public var weightsBytes: Double
    public var kvCacheBytes: Double
    public var activationBytes: Double
    public var gradientBytes: Double
    public var optimizerBytes: Double
    public var overheadBytes: Double
    /// All of the above.
    public var gpuMemoryBytes: Double
    /// GPUs of the described memory needed to hold it (1 when no device memory was given).
    public var gpus: Int
    public var hostMemoryBytes: Double
    public var cpuCores: Double
}

public enum ModelEstimator {
    public static let overheadBytes = 1_073_741_824.0

    public static func estimate(_ model: ModelDescription) throws(QuantityError) -> ResourceEstimate {
        guard model.parameters > 0 else { throw QuantityError(field: "params", value: Quantity.format(model.parameters), reason: "must be positive") }
        guard model.batch > 0 else { throw QuantityError(field: "batch", value: "\(model.batch)", reason: "must be at least 1") }
        guard model.sequence > 0 else { throw QuantityError(field: "seq", value: "\(model.sequence)", reason: "must be at least 1") }
        let shape = ModelShape.derive(model)
        guard shape.heads > 0, shape.kvHeads > 0, shape.kvHeads <= shape.heads, shape.hidden % shape.heads == 0 else {
            throw QuantityError(
                field: "heads",
                value: "\(shape.heads)/\(shape.kvHeads)",
                reason: "heads must divide the hidden size \(shape.hidden) and be at least the KV heads"
            )
        }
        let parameters = model.parameters
        let bytes = model.dtype.bytes
        let (layers, hidden, sequence, batch) = (Double(shape.layers), Double(shape.hidden), Double(model.sequence), Double(model.batch))
        let weights = parameters * bytes
        var kvCache = 0.0
        var activations = 0.0
        var gradients = 0.0
        var optimizer = 0.0
        switch model.mode {
        case .inference:
            let headDimension = hidden / Double(shape.heads)
            kvCache = 2 * layers * Double(shape.kvHeads) * headDimension * sequence * batch * (model.kvDType ?? model.dtype).bytes
            activations = batch * sequence * 4 * hidden * bytes * 2
        case .training:
            gradients = parameters * bytes
            optimizer = parameters * (bytes >= 4 ? 8 : 12)
            let perLayer: Double
            if model.fullRecompute {
                perLayer = 2
            } else if model.eagerAttention {
                perLayer = 34 + 5 * Double(shape.heads) * sequence / hidden
            } else {
                perLayer = 34
            }
            activations = layers * sequence * batch * hidden * perLayer
        }
        let total = weights + kvCache + activations + gradients + optimizer + overheadBytes
        var gpus = 1
        if let device = model.deviceMemoryBytes {
            let usable = Double(device) - overheadBytes
            guard usable > 0 else {
                throw QuantityError(field: "gpu-memory", value: Quantity.formatBytes(device), reason: "must exceed the 1 GiB runtime overhead")
            }
            gpus = max(1, Int(((total - overheadBytes) / usable).rounded(.up)))
        }
        let host = weights + 4 * 1_073_741_824
        let cpu: Double = model.mode == .inference ? 2 + Double(gpus) : max(4, 4 * Double(gpus))
        return ResourceEstimate(
            shape: shape,
            weightsBytes: weights,
            kvCacheBytes: kvCache,
            activationBytes: activations,
            gradientBytes: gradients,
            optimizerBytes: optimizer,
            overheadBytes: overheadBytes,
            gpuMemoryBytes: total,
            gpus: gpus,
            hostMemoryBytes: host,
            cpuCores: cpu
        )
    }
}
