import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Layers

func randomValues(_ n: Int, seed: UInt64, scale: Double = 1) -> [Float] {
    TestValues.uniform(n, seed: seed, scale: scale, key: "training-test")
}

/// Backward of `layer` against central finite differences of L = Σ R ⊙ layer(x) (R fixed, random),
/// for sampled input elements and sampled elements of every trainable parameter. Float32 forward passes:
/// h = 1e-3 and a Double sum keep truncation and rounding under `tolerance` (relative to max(1, |g|)).
/// Chunks of 2 examples and 2 threads exercise the chunked, fixed-order reduction.
func expectLayerGradients(
    _ layer: Layer, input: Tensor, samples: Int = 24, step h: Float = 1e-3, tolerance: Double = 4e-3,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let run = RunContext(mode: .training, jobs: 2, chunkSize: 2, seed: 5, step: 9)
    for p in layer.parameters where p.trainable {
        p.value = randomValues(p.count, seed: UInt64(p.name.utf8.count * 31 + p.count), scale: 0.5)
        if p.name.hasSuffix("gamma") { p.value = p.value.map { $0 + 1 } }
    }
    let y = try layer.forward(input, run)
    let r = randomValues(y.data.count, seed: 77)
    for p in layer.parameters { p.zeroGradient() }
    layer.needsInputGradient = true
    let dx = try layer.backward(Tensor(shape: y.shape, data: r), run)
    var currentInput = input
    func loss() throws -> Double {
        let out = try layer.forward(currentInput, run)
        return zip(out.data, r).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }
    try FiniteDifferences.expect(
        "\(layer.name) input", count: input.data.count, samples: samples, step: h, tolerance: tolerance,
        relative: true, sourceLocation: sourceLocation, gradient: { dx.data[$0] }
    ) { i, delta in
        let original = currentInput.data[i]
        currentInput.data[i] = original + delta
        defer { currentInput.data[i] = original }
        return try loss()
    }
    for p in layer.parameters where p.trainable {
        let g = p.gradient
        try FiniteDifferences.expect(
            "\(layer.name) \(p.name)", count: p.count, samples: samples, step: h, tolerance: tolerance,
            relative: true, sourceLocation: sourceLocation, gradient: { g[$0] }
        ) { i, delta in
            let original = p.value[i]
            p.value[i] = original + delta
            defer { p.value[i] = original }
            return try loss()
        }
    }
}

@Suite("Layers: backward against finite differences")
struct LayerGradientTests {
    func input(_ shape: [Int], seed: UInt64 = 3) -> Tensor {
        Tensor(shape: shape, data: randomValues(shape.reduce(1, *), seed: seed))
    }

    @Test("conv2d: same and valid padding, stride 2, dilation, ReLU")
    func conv() throws {
        try expectLayerGradients(
            ConvLayer(name: "c", inChannels: 3, filters: 4, kernel: (3, 2), padding: .valid, activation: .relu),
            input: input([5, 7, 4, 3]))
        try expectLayerGradients(
            ConvLayer(
                name: "c", inChannels: 3, filters: 2, kernel: (5, 1), stride: (2, 1), padding: .same,
                activation: .linear), input: input([3, 9, 1, 3]))
        try expectLayerGradients(
            ConvLayer(
                name: "c", inChannels: 2, filters: 3, kernel: (3, 3), dilation: (2, 1), padding: .same,
                activation: .linear), input: input([3, 8, 5, 2]))
    }

    @Test("batch norm (training mode: batch statistics)")
    func batchNorm() throws {
        try expectLayerGradients(BatchNormLayer(name: "bn", channels: 3), input: input([5, 4, 2, 3]))
    }

    @Test("dense with ReLU, ReLU, dropout, global average pool, last step")
    func simple() throws {
        try expectLayerGradients(DenseLayer(name: "d", inputs: 6, units: 5, activation: .relu), input: input([5, 6]))
        try expectLayerGradients(ActivationLayer(name: "r", activation: .relu), input: input([3, 4, 5]))
        try expectLayerGradients(DropoutLayer(name: "dr", rate: 0.4), input: input([4, 10]))
        try expectLayerGradients(GlobalAveragePoolLayer(name: "gap"), input: input([3, 5, 1, 4]))
        try expectLayerGradients(LastStepLayer(name: "last"), input: input([3, 5, 4]))
    }

    @Test("GRU, unidirectional and bidirectional")
    func gru() throws {
        try expectLayerGradients(
            GRULayer(name: "g", inputs: 3, units: 4, bidirectional: false), input: input([3, 6, 3]))
        try expectLayerGradients(
            GRULayer(name: "g", inputs: 3, units: 4, bidirectional: true), input: input([5, 6, 3]))
    }

    @Test("LSTM with peepholes and projection")
    func lstm() throws {
        try expectLayerGradients(
            PeepholeLSTMLayer(name: "lstm", inputs: 3, units: 5, projection: 2), input: input([3, 6, 3]))
    }

    @Test("query attention, one and several heads")
    func attention() throws {
        try expectLayerGradients(QueryAttentionLayer(name: "att", width: 4, heads: 1), input: input([3, 7, 4]))
        try expectLayerGradients(QueryAttentionLayer(name: "att", width: 4, heads: 3), input: input([3, 6, 4]))
    }

    @Test("residual block: identity and projection shortcut with stride 2")
    func residual() throws {
        try expectLayerGradients(
            ResidualBlockLayer(name: "res", inChannels: 3, filters: 3, kernel: 3, stride: 1, momentum: 0.99),
            input: input([4, 7, 1, 3]))
        try expectLayerGradients(
            ResidualBlockLayer(name: "res", inChannels: 3, filters: 4, kernel: 3, stride: 2, momentum: 0.99),
            input: input([4, 7, 1, 3]))
    }

    @Test("dropout: inverted scaling, rate respected, off in inference, same mask for any chunking")
    func dropout() throws {
        let layer = DropoutLayer(name: "dr", rate: 0.25)
        let x = Tensor(shape: [10, 1000], data: [Float](repeating: 1, count: 10_000))
        let y = try layer.forward(x, RunContext(mode: .training, jobs: 1, chunkSize: 3, seed: 1, step: 4))
        let kept = y.data.filter { $0 != 0 }
        #expect(Set(kept) == [Float(1 / 0.75)])
        #expect(abs(Double(kept.count) / 10_000 - 0.75) < 0.02)
        let again = try layer.forward(x, RunContext(mode: .training, jobs: 2, chunkSize: 7, seed: 1, step: 4))
        #expect(again.data == y.data)
        let next = try layer.forward(x, RunContext(mode: .training, jobs: 1, seed: 1, step: 5))
        #expect(next.data != y.data)
        #expect(try layer.forward(x, RunContext(mode: .inference)).data == x.data)
    }

    @Test("sequence layers: linear, layer norm, per-channel group norm, GELU")
    func sequenceLayers() throws {
        try expectLayerGradients(LinearLayer(name: "lin", inputs: 5, outputs: 3), input: input([5, 4, 5]))
        try expectLayerGradients(LayerNormLayer(name: "ln", channels: 6), input: input([5, 3, 6]))
        try expectLayerGradients(ChannelNormLayer(name: "gn", channels: 4), input: input([5, 7, 4]))
        try expectLayerGradients(GELULayer(name: "gelu"), input: input([5, 3, 4]))
    }

    @Test("conv1d: stride and bias; groups with padding, weight norm and same-pad trimming")
    func conv1d() throws {
        try expectLayerGradients(
            Conv1DLayer(name: "c", inChannels: 3, outChannels: 4, kernel: 3, stride: 2, bias: true),
            input: input([5, 11, 3]))
        try expectLayerGradients(
            Conv1DLayer(name: "c", inChannels: 1, outChannels: 3, kernel: 4, stride: 3, bias: false),
            input: input([3, 14, 1]))
        // Even kernel with padding K/2: one extra frame, dropped (wav2vec 2.0's positional convolution).
        let pos = Conv1DLayer(
            name: "p", inChannels: 4, outChannels: 4, kernel: 4, padding: 2, groups: 2, bias: true,
            weightNorm: true, trimToInput: true)
        #expect(pos.outputLength(7) == 7)
        try expectLayerGradients(pos, input: input([5, 7, 4]))
    }

    @Test("multi-head self-attention: every projection and the input")
    func selfAttention() throws {
        let layer = SelfAttentionLayer(name: "attn", hidden: 6, heads: 2)
        try expectLayerGradients(layer, input: input([5, 4, 6]))
        // Probabilities are row-stochastic [B, heads, T, T].
        let p = layer.probabilities
        #expect(p.count == 5 * 2 * 4 * 4)
        for row in 0..<(5 * 2 * 4) { #expect(abs(p[(row * 4)..<(row * 4 + 4)].reduce(0, +) - 1) < 1e-5) }
    }
}
