/// A numeric format for weights, gradients or the KV cache.
public enum DType: String, Sendable, CaseIterable {
    case fp32, tf32, fp16, bf16, fp8, int8, int4

    /// Bytes per element.
    public var bytes: Double {
        switch self {
        case .fp32, .tf32: 4
        case .fp16, .bf16: 2
        case .fp8, .int8: 1
        case .int4: 0.5
        }
    }

    public static func named(_ text: String, field: String = "dtype") throws(QuantityError) -> DType {
        let lower = text.lowercased()
        let aliases: [String: DType] = ["float32": .fp32, "float": .fp32, "float16": .fp16, "half": .fp16, "bfloat16": .bf16, "e4m3": .fp8]
        if let value = DType(rawValue: lower) ?? aliases[lower] { return value }
        throw QuantityError(field: field, value: text, reason: "unknown dtype (use \(allCases.map(\.rawValue).joined(separator: ", ")))")
    }
}

/// What a model run is: serving requests or training.
public enum WorkloadMode: String, Sendable, CaseIterable {
    case inference
    case training
}

/// A transformer model run to size, with the shape fields optional (derived from the parameter count when absent).
public struct ModelDescription: Sendable, Equatable {
    public var parameters: Double
    public var dtype: DType
    public var batch: Int
    public var sequence: Int
    public var mode: WorkloadMode
    public var layers: Int?
    public var hidden: Int?
    public var heads: Int?
    /// Key/value heads (fewer than `heads` with grouped-query attention).
    public var kvHeads: Int?
    /// The KV cache's format; the weights' by default.
    public var kvDType: DType?
    /// Training only: keep attention scores (eager attention) rather than recompute them (flash attention).
    public var eagerAttention: Bool
    /// Training only: recompute every layer's activations in the backward pass (store only layer inputs).
    public var fullRecompute: Bool
    /// The memory of the GPU model to run on, to count the GPUs needed.
    public var deviceMemoryBytes: Int64?

    public init(
        parameters: Double,
        dtype: DType = .bf16,
        batch: Int = 1,
        sequence: Int = 2048,
        mode: WorkloadMode = .inference,
        layers: Int? = nil,
        hidden: Int? = nil,
        heads: Int? = nil,
        kvHeads: Int? = nil,
        kvDType: DType? = nil,
        eagerAttention: Bool = false,
        fullRecompute: Bool = false,
        deviceMemoryBytes: Int64? = nil
    ) {
        self.parameters = parameters
        self.dtype = dtype
        self.batch = batch
        self.sequence = sequence
        self.mode = mode
        self.layers = layers
        self.hidden = hidden
        self.heads = heads
        self.kvHeads = kvHeads
        self.kvDType = kvDType
        self.eagerAttention = eagerAttention
        self.fullRecompute = fullRecompute
        self.deviceMemoryBytes = deviceMemoryBytes
    }

    /// Parses a parameter count such as `7B`, `1.5b`, `350M`, `70e9` or `7000000000`.
    public static func parameters(_ text: String, field: String = "params") throws(QuantityError) -> Double {
        let trimmed = text.trimmingSpaces()
        let multipliers: [Character: Double] = ["k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "b": 1e9, "B": 1e9, "g": 1e9, "G": 1e9, "t": 1e12, "T": 1e12]
        var number = trimmed
        var multiplier = 1.0
        if let last = trimmed.last, let scale = multipliers[last] {
            multiplier = scale
            number = String(trimmed.dropLast())
        }
        guard let value = Double(number), value.isFinite, value > 0 else {
            throw QuantityError(field: field, value: text, reason: "expected a positive parameter count such as 7B, 350M or 7e9")
        }
        return value * multiplier
    }
}

/// A transformer's shape.
public struct ModelShape: Sendable, Equatable {
    public var layers: Int
    public var hidden: Int
    public var heads: Int
    public var kvHeads: Int

    /// Published shapes of common open models, used when the parameter count is within 10 % of one:
    /// Llama 2 7B/13B/70B (Touvron et al., 2023, table 1 and the released configs) and Llama 3 8B.
    public static let reference: [(parameters: Double, shape: ModelShape)] = [
        (6.74e9, ModelShape(layers: 32, hidden: 4096, heads: 32, kvHeads: 32)),
        (8.03e9, ModelShape(layers: 32, hidden: 4096, heads: 32, kvHeads: 8)),
        (13.0e9, ModelShape(layers: 40, hidden: 5120, heads: 40, kvHeads: 40)),
        (69.0e9, ModelShape(layers: 80, hidden: 8192, heads: 64, kvHeads: 8)),
    ]

    /// The shape for a description: given fields win; the rest come from the nearest reference shape, or
    /// from `parameters ≈ 12 · layers · hidden²` with layers = hidden / 128 (Llama 7B's aspect ratio).
    public static func derive(_ model: ModelDescription) -> ModelShape {
        var shape: ModelShape
        if let nearest = reference.min(by: { abs($0.parameters - model.parameters) < abs($1.parameters - model.parameters) }),
            abs(nearest.parameters - model.parameters) / model.parameters <= 0.10
        {
            shape = nearest.shape
        } else {
            let hidden = max(256, Int((cubeRoot(model.parameters * 128 / 12) / 256).rounded()) * 256)
            let layers = max(1, Int((model.parameters / (12 * Double(hidden) * Double(hidden))).rounded()))
            shape = ModelShape(layers: layers, hidden: hidden, heads: max(1, hidden / 128), kvHeads: max(1, hidden / 128))
        }
        if let hidden = model.hidden {
            shape.hidden = hidden
            if model.heads == nil { shape.heads = max(1, hidden / 128) }
            if model.kvHeads == nil { shape.kvHeads = model.heads ?? shape.heads }
        }
        if let layers = model.layers { shape.layers = layers }
        if let heads = model.heads {
            shape.heads = heads
            if model.kvHeads == nil { shape.kvHeads = heads }
        }
        if let kvHeads = model.kvHeads { shape.kvHeads = kvHeads }
        return shape
    }

    private static func cubeRoot(_ value: Double) -> Double {
        var guess = value > 1 ? value / 3 : 1
        for _ in 0..<200 { guess = (2 * guess + value / (guess * guess)) / 3 }
        return guess
    }
}
