import DatasetFormat
import Foundation
import Layers
import TKDCore
import TensorStore
import TrainingLoop

/// wav2vec 2.0 for sequence classification, built from the trainer's layers so it can be trained here: the
/// base layout (GroupNorm in the first convolution, post-LN transformer) and the large / XLSR layout
/// (LayerNorm after every convolution, optional convolution biases, pre-LN transformer with a final
/// LayerNorm), a weight-normed positional convolution, then projector, pooling (mean or the first frame)
/// and classifier, reading the last hidden state or (`use_weighted_layer_sum`) the softmax-weighted sum of
/// every hidden state. Parameters carry Hugging Face's state-dict names, so `save` writes a folder that
/// `Wav2Vec2Model` and `transformers` both load; `loadEncoder` takes every encoder weight of a pretrained
/// checkpoint (fine-tuning), `freezeFeatureEncoder` / `frozenLayers` keep parts fixed.
public final class TrainableWav2Vec2: TrainableModel {
    public let config: Wav2Vec2Config
    public let dropout: Float
    /// Normalise each waveform to zero mean and unit variance first (`do_normalize` in
    /// `preprocessor_config.json`, which `save` writes).
    public var normalizeInput = false
    /// Keep the convolutional feature encoder fixed (transformers' `freeze_feature_encoder`): its weights are
    /// not trained and no gradient is computed below the feature projection.
    public var freezeFeatureEncoder = false {
        didSet { projectionNorm.needsInputGradient = !freezeFeatureEncoder }
    }
    /// Keep the first N transformer layers fixed (gradients still flow through them to the layers below).
    public var frozenLayers = 0

    struct Block {
        let attention: SelfAttentionLayer
        let attentionDropout: DropoutLayer
        let norm: LayerNormLayer
        let intermediate: LinearLayer
        let activation: GELULayer
        let output: LinearLayer
        let outputDropout: DropoutLayer
        let finalNorm: LayerNormLayer

        /// The block's tensors, in checkpoint order.
        var parameters: [Parameter] {
            attention.parameters + norm.parameters + intermediate.parameters + output.parameters
                + finalNorm.parameters
        }

        /// The feed-forward sublayer: dense, GELU, dense, dropout (both layouts).
        func feedForward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
            let f = try activation.forward(try intermediate.forward(x, context), context)
            return try outputDropout.forward(try output.forward(f, context), context)
        }

        func feedForwardBackward(_ g: Tensor, _ context: RunContext) throws -> Tensor {
            let f = try activation.backward(
                try output.backward(try outputDropout.backward(g, context), context), context)
            return try intermediate.backward(f, context)
        }
    }

    let convs: [Conv1DLayer]
    /// After convolution i: GroupNorm over time (base, the first only) or LayerNorm over channels (every one).
    let convNorms: [(any Layer)?]
    let convActivations: [GELULayer]
    let projectionNorm: LayerNormLayer
    let projection: LinearLayer
    let projectionDropout: DropoutLayer
    let positional: Conv1DLayer
    let positionalActivation: GELULayer
    let encoderNorm: LayerNormLayer
    let encoderDropout: DropoutLayer
    let blocks: [Block]
    let projector: LinearLayer
    let classifier: LinearLayer
    /// `layer_weights` [layers + 1] of the weighted layer sum.
    let layerWeights: Parameter?

    /// Every tensor of the checkpoint, in a fixed order.
    public let parameters: [Parameter]

    /// A freshly initialised model (Hugging Face's `_init_weights` scales, drawn from the counter RNG
    /// keyed by `seed` and the parameter's name, so the same seed gives the same bytes).
    /// How the feature encoder starts (see `TeacherTrainConfig.FrontEndInit`).
    public enum FrontEndStart: Sendable { case kaiming, gabor, spectral }

    public init(config c: Wav2Vec2Config, dropout: Float = 0, seed: UInt64 = 0, frontEnd: FrontEndStart = .kaiming) {
        config = c
        self.dropout = dropout
        let p = "wav2vec2"
        var convs: [Conv1DLayer] = [], inChannels = 1
        for i in 0..<c.convDim.count {
            convs.append(
                Conv1DLayer(
                    name: "\(p).feature_extractor.conv_layers.\(i).conv", inChannels: inChannels,
                    outChannels: c.convDim[i], kernel: c.convKernel[i], stride: c.convStride[i], bias: c.convBias))
            inChannels = c.convDim[i]
        }
        convs[0].needsInputGradient = false
        self.convs = convs
        // transformers builds these norms with PyTorch's default ε (1e-5), not `layer_norm_eps`.
        convNorms = (0..<c.convDim.count).map { i -> (any Layer)? in
            let name = "\(p).feature_extractor.conv_layers.\(i).layer_norm"
            switch c.featExtractNorm {
            case .group: return i == 0 ? ChannelNormLayer(name: name, channels: c.convDim[i]) : nil
            case .layer: return LayerNormLayer(name: name, channels: c.convDim[i])
            }
        }
        convActivations = (0..<c.convDim.count).map { GELULayer(name: "conv\($0).gelu") }
        let h = c.hiddenSize
        projectionNorm = LayerNormLayer(
            name: "\(p).feature_projection.layer_norm", channels: inChannels, epsilon: c.layerNormEpsilon)
        projection = LinearLayer(name: "\(p).feature_projection.projection", inputs: inChannels, outputs: h)
        projectionDropout = DropoutLayer(name: "\(p).feature_projection.dropout", rate: dropout)
        positional = Conv1DLayer(
            name: "\(p).encoder.pos_conv_embed.conv", inChannels: h, outChannels: h, kernel: c.positionalKernel,
            padding: c.positionalKernel / 2, groups: c.positionalGroups, bias: true, weightNorm: true,
            trimToInput: true)
        positionalActivation = GELULayer(name: "pos.gelu")
        encoderNorm = LayerNormLayer(name: "\(p).encoder.layer_norm", channels: h, epsilon: c.layerNormEpsilon)
        encoderDropout = DropoutLayer(name: "\(p).encoder.dropout", rate: dropout)
        blocks = (0..<c.layers).map { i in
            let l = "\(p).encoder.layers.\(i)"
            return Block(
                attention: SelfAttentionLayer(name: "\(l).attention", hidden: h, heads: c.heads),
                attentionDropout: DropoutLayer(name: "\(l).dropout", rate: dropout),
                norm: LayerNormLayer(name: "\(l).layer_norm", channels: h, epsilon: c.layerNormEpsilon),
                intermediate: LinearLayer(
                    name: "\(l).feed_forward.intermediate_dense", inputs: h, outputs: c.intermediateSize),
                activation: GELULayer(name: "\(l).gelu"),
                output: LinearLayer(name: "\(l).feed_forward.output_dense", inputs: c.intermediateSize, outputs: h),
                outputDropout: DropoutLayer(name: "\(l).feed_forward.output_dropout", rate: dropout),
                finalNorm: LayerNormLayer(name: "\(l).final_layer_norm", channels: h, epsilon: c.layerNormEpsilon))
        }
        projector = LinearLayer(name: "projector", inputs: h, outputs: c.classifierProjectionSize)
        classifier = LinearLayer(name: "classifier", inputs: c.classifierProjectionSize, outputs: c.labels)
        layerWeights = c.useWeightedLayerSum ? Parameter("layer_weights", shape: [c.layers + 1]) : nil
        var all: [Parameter] = []
        for (conv, norm) in zip(convs, convNorms) { all += conv.parameters + (norm?.parameters ?? []) }
        all += projectionNorm.parameters + projection.parameters
        all += positional.parameters + encoderNorm.parameters
        for b in blocks { all += b.parameters }
        parameters = all + projector.parameters + classifier.parameters + (layerWeights.map { [$0] } ?? [])
        initialise(seed: seed)
        switch frontEnd {
        case .kaiming: break
        case .gabor: initialiseGabor()
        case .spectral: initialiseSpectral()
        }
    }

    /// The mel-spaced centre frequency of band `i` of `count` (60 Hz to 7.6 kHz).
    static func melCentre(_ i: Int, of count: Int) -> Double {
        func mel(_ f: Double) -> Double { 2595 * log10(1 + f / 700) }
        func hz(_ m: Double) -> Double { 700 * (pow(10, m / 2595) - 1) }
        let lo = mel(60), hi = mel(7_600)
        return hz(lo + (hi - lo) * Double(i) / Double(max(1, count - 1)))
    }

    /// A Hann-windowed cosine (or sine) kernel of `k` taps at `f` Hz, of L2 norm √2 (Kaiming's expected norm).
    static func gaborKernel(_ k: Int, frequency f: Double, sine: Bool) -> [Float] {
        let row = (0..<k).map { i -> Double in
            let window = 0.5 - 0.5 * cos(2 * Double.pi * Double(i) / Double(max(1, k - 1)))
            let phase = 2 * Double.pi * f * (Double(i) - Double(k - 1) / 2) / 16_000
            return window * (sine ? sin(phase) : cos(phase))
        }
        let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return row.map { Float($0 / max(norm, 1e-12) * 2.0.squareRoot()) }
    }

    /// A band-energy analysis from the first step: the first convolution as quadruples of kernels per
    /// mel-spaced band (+cos, −cos, +sin, −sin, `gaborKernel`), and the second as each band's rectifier, the
    /// mean of its four channels over the kernel. After the per-channel GroupNorm, GELU(x) + GELU(−x) =
    /// x·erf(x/√2) is an even, energy-like function of the band signal (≈ x² near 0, ≈ |x| beyond), and
    /// |cos θ| + |sin θ| varies by at most √2 with the carrier's phase: the second layer's first channels
    /// start as a phase-insensitive band envelope, like a magnitude spectrogram, instead of the aliased
    /// carrier samples a strided filterbank alone gives. Channels beyond the bands keep their Kaiming start.
    /// Needs at least two convolutions and four channels in the first.
    func initialiseSpectral() {
        precondition(convs.count >= 2 && convs[0].outChannels >= 4, "the spectral start needs two convolutions")
        let first = convs[0], second = convs[1], k0 = first.kernel, k1 = second.kernel
        let bands = first.outChannels / 4, c0 = first.outChannels, c1 = second.outChannels
        var w0 = first.weight!.value
        for b in 0..<bands {
            let f = Self.melCentre(b, of: bands)
            let cosine = Self.gaborKernel(k0, frequency: f, sine: false)
            let sine = Self.gaborKernel(k0, frequency: f, sine: true)
            for (j, (row, sign)) in [(cosine, Float(1)), (cosine, -1), (sine, 1), (sine, -1)].enumerated() {
                let o = 4 * b + j
                for i in 0..<k0 { w0[o * k0 + i] = sign * row[i] }
            }
        }
        first.weight!.value = w0
        // Output channel o < bands (or every channel, when there are fewer channels than bands) averages its
        // band(s): weight 1/(4·K) on each of the band's four input channels at every tap.
        var w1 = second.weight!.value
        let rectifiers = min(bands, c1)
        for o in 0..<rectifiers {
            for i in 0..<(c0 * k1) { w1[o * c0 * k1 + i] = 0 }
            let members = (0..<bands).filter { $0 * rectifiers / bands == o }
            for b in members {
                for j in 0..<4 {
                    for t in 0..<k1 { w1[(o * c0 + 4 * b + j) * k1 + t] = 1 / Float(4 * k1 * members.count) }
                }
            }
        }
        second.weight!.value = w1
    }

    /// The first convolution as a filterbank: channel pairs of Hann-windowed cosine and sine kernels at
    /// mel-spaced centre frequencies from 60 Hz to 7.6 kHz (each kernel of L2 norm √2, Kaiming's expected
    /// norm). A learned front end from a few hundred clips starts from a spectrogram-like analysis instead
    /// of noise; training still adapts it.
    func initialiseGabor() {
        let conv = convs[0], k = conv.kernel, channels = conv.outChannels
        let pairs = (channels + 1) / 2
        var w = [Float](repeating: 0, count: channels * k)
        for o in 0..<channels {
            let row = Self.gaborKernel(k, frequency: Self.melCentre(o / 2, of: pairs), sine: o % 2 == 1)
            for i in 0..<k { w[o * k + i] = row[i] }
        }
        conv.weight!.value = w
    }

    /// Normal weights with Hugging Face's scales: linear layers N(0, 0.02) with zero bias, feature
    /// convolutions Kaiming-normal, the positional convolution N(0, 2/√(K·C)) with g = ‖v‖ per tap.
    func initialise(seed: UInt64) {
        func fill(_ p: Parameter, std: Double) {
            var rng = CounterRNG(seed: seed, key: ["teacher", "init", p.name])
            p.value = (0..<p.count).map { _ in Float(rng.normal(mean: 0, std: std)) }
        }
        for conv in convs { fill(conv.weight!, std: (2 / Double(conv.inChannels * conv.kernel)).squareRoot()) }
        let linears =
            [projection, projector, classifier]
            + blocks.flatMap {
                [$0.attention.q, $0.attention.k, $0.attention.v, $0.attention.out, $0.intermediate, $0.output]
            }
        for l in linears { fill(l.weight, std: 0.02) }
        // transformers: ones / (layers + 1), an even mixture.
        if let w = layerWeights { w.value = [Float](repeating: 1 / Float(w.count), count: w.count) }
        fill(positional.weightV!, std: 2 * (1 / Double(positional.kernel * positional.inChannels)).squareRoot())
        let v = positional.weightV!.value, k = positional.kernel
        var norms = [Double](repeating: 0, count: k)
        for i in v.indices { norms[i % k] += Double(v[i]) * Double(v[i]) }
        positional.weightG!.value = norms.map { Float($0.squareRoot()) }
    }

    /// Logits [B, labels] of waveforms [B, L] (16 kHz, as read). Training mode keeps what `backward` needs.
    public func forward(_ waveforms: Tensor, _ context: RunContext) throws -> ModelOutput {
        var x = Tensor(shape: [waveforms.batch, waveforms.shape[1], 1], data: waveforms.data)
        if normalizeInput {
            let l = waveforms.shape[1]
            for e in 0..<x.batch {
                var w = Array(x.data[(e * l)..<((e + 1) * l)])
                Wav2Vec2Model.normalize(&w)
                x.data.replaceSubrange((e * l)..<((e + 1) * l), with: w)
            }
        }
        for (i, conv) in convs.enumerated() {
            x = try conv.forward(x, context)
            if let norm = convNorms[i] { x = try norm.forward(x, context) }
            x = try convActivations[i].forward(x, context)
        }
        x = try projectionNorm.forward(x, context)
        x = try projection.forward(x, context)
        x = try projectionDropout.forward(x, context)
        let pos = try positionalActivation.forward(try positional.forward(x, context), context)
        for i in x.data.indices { x.data[i] += pos.data[i] }
        if !config.stableLayerNorm { x = try encoderNorm.forward(x, context) }
        x = try encoderDropout.forward(x, context)
        // The hidden states as transformers returns them: each layer's input, then the last layer's output
        // (for the stable layout before the final LayerNorm).
        var states: [Tensor] = []
        for b in blocks {
            if layerWeights != nil { states.append(x) }
            if config.stableLayerNorm {
                let a = try b.attentionDropout.forward(
                    try b.attention.forward(try b.norm.forward(x, context), context), context)
                for i in x.data.indices { x.data[i] += a.data[i] }
                let f = try b.feedForward(try b.finalNorm.forward(x, context), context)
                for i in x.data.indices { x.data[i] += f.data[i] }
            } else {
                let a = try b.attentionDropout.forward(try b.attention.forward(x, context), context)
                for i in x.data.indices { x.data[i] += a.data[i] }
                x = try b.norm.forward(x, context)
                let f = try b.feedForward(x, context)
                for i in x.data.indices { x.data[i] += f.data[i] }
                x = try b.finalNorm.forward(x, context)
            }
        }
        var head: Tensor
        if let w = layerWeights {
            states.append(x)
            let mix = Wav2Vec2Model.softmax(w.value)
            head = Tensor(shape: x.shape, data: [Float](repeating: 0, count: x.data.count))
            for (state, weight) in zip(states, mix) {
                for i in head.data.indices { head.data[i] += weight * state.data[i] }
            }
            hiddenStates = states
        } else {
            head = config.stableLayerNorm ? try encoderNorm.forward(x, context) : x
        }
        let projected = try projector.forward(head, context)
        frameCount = x.shape[1]
        return ModelOutput(logits: try classifier.forward(pool(projected), context))
    }

    private var frameCount = 0
    /// The hidden states of the last forward, kept for the weighted layer sum's backward.
    private var hiddenStates: [Tensor] = []

    /// The classification head's tensors: what a fine-tuning starts fresh.
    var headParameters: [Parameter] { projector.parameters + classifier.parameters + (layerWeights.map { [$0] } ?? []) }

    /// Mean (or first-frame) pooling [B, T, P] → [B, P].
    func pool(_ x: Tensor) -> Tensor {
        let b = x.batch, t = x.shape[1], p = x.shape[2]
        var y = [Float](repeating: 0, count: b * p)
        for e in 0..<b {
            if config.pooling == .first {
                for j in 0..<p { y[e * p + j] = x.data[e * t * p + j] }
                continue
            }
            for r in 0..<t { for j in 0..<p { y[e * p + j] += x.data[(e * t + r) * p + j] } }
            for j in 0..<p { y[e * p + j] /= Float(t) }
        }
        return Tensor(shape: [b, p], data: y)
    }

    func poolBackward(_ dy: Tensor) -> Tensor {
        let b = dy.batch, t = frameCount, p = dy.shape[1]
        var dx = [Float](repeating: 0, count: b * t * p)
        for e in 0..<b {
            if config.pooling == .first {
                for j in 0..<p { dx[e * t * p + j] = dy.data[e * p + j] }
                continue
            }
            for r in 0..<t { for j in 0..<p { dx[(e * t + r) * p + j] = dy.data[e * p + j] / Float(t) } }
        }
        return Tensor(shape: [b, t, p], data: dx)
    }

    /// Adds dLoss/dParameter into every parameter's gradient, given dLoss/dLogits (the model has no
    /// distillation head, so `contextGradient` is unused).
    public func backward(
        logitGradient dLogits: Tensor, contextGradient: Tensor? = nil, attentionGradient: Tensor? = nil,
        _ context: RunContext
    ) throws {
        let dHead = try projector.backward(poolBackward(try classifier.backward(dLogits, context)), context)
        var g: Tensor
        var mix: [Float] = []
        if let w = layerWeights {
            // head = Σᵢ sᵢ·Hᵢ with s = softmax(w): dHᵢ = sᵢ·dHead;
            // dwᵢ = sᵢ·(⟨dHead, Hᵢ⟩ − Σⱼ sⱼ·⟨dHead, Hⱼ⟩).
            mix = Wav2Vec2Model.softmax(w.value)
            let dots = hiddenStates.map { s in zip(s.data, dHead.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            }
            let mean = zip(mix, dots).reduce(0.0) { $0 + Double($1.0) * $1.1 }
            for i in 0..<w.count { w.gradient[i] += Float(Double(mix[i]) * (dots[i] - mean)) }
            g = Tensor(shape: dHead.shape, data: dHead.data.map { $0 * mix[blocks.count] })
        } else {
            g = config.stableLayerNorm ? try encoderNorm.backward(dHead, context) : dHead
        }
        for (index, b) in blocks.enumerated().reversed() {
            if config.stableLayerNorm {
                let f = try b.finalNorm.backward(try b.feedForwardBackward(g, context), context)
                for i in g.data.indices { g.data[i] += f.data[i] }
                let a = try b.attentionDropout.backward(g, context)
                let da = try b.norm.backward(try b.attention.backward(a, context), context)
                for i in g.data.indices { g.data[i] += da.data[i] }
            } else {
                g = try b.finalNorm.backward(g, context)
                let f = try b.feedForwardBackward(g, context)
                for i in g.data.indices { g.data[i] += f.data[i] }
                g = try b.norm.backward(g, context)
                let a = try b.attention.backward(try b.attentionDropout.backward(g, context), context)
                for i in g.data.indices { g.data[i] += a.data[i] }
            }
            if layerWeights != nil { for i in g.data.indices { g.data[i] += mix[index] * dHead.data[i] } }
        }
        g = try encoderDropout.backward(g, context)
        if !config.stableLayerNorm { g = try encoderNorm.backward(g, context) }
        let p = try positional.backward(try positionalActivation.backward(g, context), context)
        for i in g.data.indices { g.data[i] += p.data[i] }
        g = try projectionDropout.backward(g, context)
        g = try projection.backward(g, context)
        g = try projectionNorm.backward(g, context)
        guard !freezeFeatureEncoder else { return }
        for i in convs.indices.reversed() {
            g = try convActivations[i].backward(g, context)
            if let norm = convNorms[i] { g = try norm.backward(g, context) }
            g = try convs[i].backward(g, context)
        }
    }

    /// The attention maps of the last forward, per layer [B, heads, T, T].
    public var attentions: [[Float]] { blocks.map(\.attention.probabilities) }

    public var stateParameters: [Parameter] { parameters }
    /// Every parameter but the frozen ones (the feature encoder's, the first `frozenLayers` layers').
    public var trainableParameters: [Parameter] {
        var frozen = Set<ObjectIdentifier>()
        if freezeFeatureEncoder {
            for (conv, norm) in zip(convs, convNorms) {
                for q in conv.parameters + (norm?.parameters ?? []) { frozen.insert(ObjectIdentifier(q)) }
            }
        }
        for b in blocks.prefix(frozenLayers) { for q in b.parameters { frozen.insert(ObjectIdentifier(q)) } }
        return parameters.filter { !frozen.contains(ObjectIdentifier($0)) }
    }
    public var distillationQuery: Parameter? { nil }

    /// Loads the weights of a Hugging Face folder written by `save` (or any base-layout checkpoint
    /// with this configuration).
    public func load(_ folder: URL) throws {
        let url = ModelFolderLayout(folder).weights
        let file = try SafeTensorsFile(url)
        for p in parameters {
            guard let e = file.entries[p.name] else { throw TeacherError.missingTensor(path: url.path, name: p.name) }
            guard e.shape == p.shape else {
                throw TeacherError.shape(path: url.path, name: p.name, shape: e.shape, expected: p.shape)
            }
            p.value = try file.values(p.name)
        }
        normalizeInput = try Wav2Vec2Model.doNormalize(folder)
    }

    /// Every encoder weight of a pretrained checkpoint (`Wav2Vec2Model`, `…ForPreTraining`, `…ForCTC` or
    /// `…ForSequenceClassification`, float32 / float16 / bfloat16): names with or without the `wav2vec2.`
    /// prefix, the positional convolution's weight norm under either naming or as a plain `weight` (then
    /// g = ‖weight‖ per tap). The head (projector, classifier, layer weights) keeps its fresh start; tensors
    /// of other heads (quantizer, CTC) are ignored. `do_normalize` comes from the folder's preprocessor config.
    public func loadEncoder(_ folder: URL) throws {
        let url = ModelFolderLayout(folder).weights
        guard FileManager.default.fileExists(atPath: url.path) else { throw Wav2Vec2Model.missingWeights(folder) }
        let file = try SafeTensorsFile(url)
        let prefixed = file.entries["wav2vec2.feature_projection.projection.weight"] != nil
        let head = Set(headParameters.map(\.name))
        let pos = "wav2vec2.encoder.pos_conv_embed.conv."
        for p in parameters where !head.contains(p.name) {
            let stored = prefixed ? p.name : String(p.name.dropFirst("wav2vec2.".count))
            var candidates = [stored]
            let posStored = prefixed ? pos : String(pos.dropFirst("wav2vec2.".count))
            if p.name == pos + "parametrizations.weight.original0" { candidates.append(posStored + "weight_g") }
            if p.name == pos + "parametrizations.weight.original1" { candidates.append(posStored + "weight_v") }
            if let name = candidates.first(where: { file.entries[$0] != nil }) {
                guard file.entries[name]!.shape == p.shape else {
                    throw TeacherError.shape(
                        path: url.path, name: name, shape: file.entries[name]!.shape, expected: p.shape)
                }
                p.value = try file.values(name)
                continue
            }
            // A plain positional weight (weight norm folded in): v = weight, g = ‖v[:, :, k]‖.
            let plain = posStored + "weight"
            if p.name.hasPrefix(pos + "parametrizations.weight."), let e = file.entries[plain] {
                let v = try file.values(plain), k = positional.kernel
                guard e.shape == positional.weightV!.shape else {
                    throw TeacherError.shape(
                        path: url.path, name: plain, shape: e.shape, expected: positional.weightV!.shape)
                }
                if p.name.hasSuffix("original1") {
                    p.value = v
                } else {
                    var norms = [Double](repeating: 0, count: k)
                    for i in v.indices { norms[i % k] += Double(v[i]) * Double(v[i]) }
                    p.value = norms.map { Float($0.squareRoot()) }
                }
                continue
            }
            throw TeacherError.missingTensor(path: url.path, name: stored)
        }
        normalizeInput = try Wav2Vec2Model.doNormalize(folder)
    }

    /// The checkpoint's tensors (float32, Hugging Face names).
    public func tensors() -> [SafeTensors.Tensor] {
        parameters.map { SafeTensors.Tensor(name: $0.name, shape: $0.shape, values: $0.value) }
    }

    /// Writes `folder/config.json`, `model.safetensors` and `preprocessor_config.json` (each atomically).
    public func save(to folder: URL, extraConfig: [String: Any] = [:]) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let weights = SafeTensors.encode(tensors(), metadata: ["format": "pt"])
        let layout = ModelFolderLayout(folder)
        try AtomicFile.write(weights, to: layout.weights, durable: true)
        let json = try JSONSerialization.data(
            withJSONObject: config.jsonObject(extra: extraConfig), options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(json + Data("\n".utf8), to: layout.config, durable: true)
        let pre: [String: Any] = [
            "feature_extractor_type": "Wav2Vec2FeatureExtractor", "feature_size": 1, "sampling_rate": 16_000,
            "padding_value": 0.0, "padding_side": "right", "do_normalize": normalizeInput,
            "return_attention_mask": false,
        ]
        let preData = try JSONSerialization.data(withJSONObject: pre, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(preData + Data("\n".utf8), to: layout.preprocessor, durable: true)
    }
}
