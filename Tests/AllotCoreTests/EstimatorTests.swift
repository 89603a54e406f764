import Testing

@testable import AllotCore

/// The estimator against published figures.
struct EstimatorTests {
    @Test func weightsOfA7BModelInBF16AreAbout14GB() throws {
        let estimate = try ModelEstimator.estimate(ModelDescription(parameters: try ModelDescription.parameters("7B"), dtype: .bf16))
        #expect(estimate.weightsBytes == 14e9)
        #expect(estimate.shape == ModelShape(layers: 32, hidden: 4096, heads: 32, kvHeads: 32))
    }

    /// vLLM (Kwon et al., SOSP 2023, §3): "the KV cache of a single token demands 800 KB of space" for OPT-13B
    /// (2 × 5120 hidden × 40 layers × 2 bytes).
    @Test func kvCacheOfOPT13BIs800KBPerToken() throws {
        let model = ModelDescription(parameters: 13e9, dtype: .fp16, batch: 1, sequence: 1, layers: 40, hidden: 5120, heads: 40)
        #expect(try ModelEstimator.estimate(model).kvCacheBytes == 819_200)
    }

    /// Llama 2 70B uses grouped-query attention with 8 KV heads: 2 × 80 × 8 × 128 × 2 bytes = 320 KiB a token.
    @Test func groupedQueryAttentionShrinksTheKVCache() throws {
        let model = ModelDescription(parameters: 70e9, dtype: .bf16, batch: 4, sequence: 4096)
        let estimate = try ModelEstimator.estimate(model)
        #expect(estimate.shape.kvHeads == 8)
        #expect(estimate.kvCacheBytes == 327_680 * 4 * 4096)
    }

    /// ZeRO (Rajbhandari et al., SC 2020, §3.1): mixed-precision Adam holds 16 bytes per parameter, so a
    /// 7.5B-parameter model needs 120 GB of model states, and GPT-2 1.5B needs 24 GB.
    @Test(arguments: [(7.5e9, 120e9), (1.5e9, 24e9)])
    func trainingStatesAre16BytesPerParameter(parameters: Double, states: Double) throws {
        let estimate = try ModelEstimator.estimate(ModelDescription(parameters: parameters, dtype: .fp16, mode: .training))
        #expect(estimate.weightsBytes + estimate.gradientBytes + estimate.optimizerBytes == states)
    }

    /// Korthikanti et al. (2022), eq. 1: activations per layer are s·b·h·(34 + 5·a·s/h) bytes without parallelism.
    @Test func trainingActivationsFollowKorthikanti() throws {
        let eager = ModelDescription(
            parameters: 1e9,
            dtype: .bf16,
            batch: 2,
            sequence: 1024,
            mode: .training,
            layers: 10,
            hidden: 2048,
            heads: 16,
            eagerAttention: true
        )
        let attention: Double = 5.0 * 16 * 1024 / 2048
        let perLayer: Double = 1024.0 * 2 * 2048 * (34 + attention)
        #expect(try ModelEstimator.estimate(eager).activationBytes == 10 * perLayer)
        var recompute = eager
        recompute.fullRecompute = true
        let stored: Double = 10.0 * 1024 * 2 * 2048 * 2
        #expect(try ModelEstimator.estimate(recompute).activationBytes == stored)
    }

    @Test func gpusNeededFollowDeviceMemory() throws {
        var model = ModelDescription(parameters: 70e9, dtype: .bf16, batch: 1, sequence: 4096)
        model.deviceMemoryBytes = 80 * GiB
        let estimate = try ModelEstimator.estimate(model)
        #expect(estimate.gpus == 2)
        #expect(estimate.cpuCores == 4)
    }

    @Test(arguments: ["7B", "350M", "1.5b", "70e9", "7000000000"])
    func parameterCountsParse(text: String) throws {
        #expect(try ModelDescription.parameters(text) > 0)
    }

    @Test(arguments: ["seven", "-7B", "0", "7X"])
    func badParameterCountsAreRefused(text: String) {
        #expect(throws: QuantityError.self) { try ModelDescription.parameters(text) }
    }
}
