import Foundation
import Numerics
import TensorStore
import TKDCore

/// wav2vec 2.0 inference (Hugging Face `Wav2Vec2Model` / `Wav2Vec2ForSequenceClassification`) on the CPU
/// with OpenBLAS, from a model folder (`config.json` + `model.safetensors`; float32, float16 or bfloat16
/// weights). Both layouts: base (GroupNorm in the first convolution, post-LN transformer) and
/// large / XLSR (`do_stable_layer_norm`: LayerNorm in every convolution, pre-LN, final LayerNorm). The
/// weight-normed positional convolution is read under either naming (`weight_g`/`weight_v` or
/// `parametrizations.weight.original0/1`). Waveforms go in as read, unless the folder's
/// `preprocessor_config.json` sets `do_normalize` (zero mean, unit variance per waveform, as
/// `Wav2Vec2FeatureExtractor` does it).
public final class Wav2Vec2Model: @unchecked Sendable {
    public let config: Wav2Vec2Config
    public let folder: URL
    /// Whether the checkpoint has a sequence-classification head (projector, pooling, classifier).
    public let hasClassifier: Bool
    /// `do_normalize` of `preprocessor_config.json` (false without that file).
    public let normalizeInput: Bool

    struct Conv {
        let weight: [Float]     // [K·Cin/g, Cout/g] per group, concatenated over groups
        let bias: [Float]?
        let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, groups: Int
    }
    struct Norm { let gamma: [Float], beta: [Float] }
    struct Linear { let weight: [Float], bias: [Float], inputs: Int, outputs: Int }   // weight [out, in] (PyTorch)
    struct Layer {
        let q: Linear, k: Linear, v: Linear, out: Linear
        let norm: Norm, finalNorm: Norm
        let intermediate: Linear, output: Linear
    }

    let featureConvs: [Conv]
    let featureNorms: [Norm?]
    let projectionNorm: Norm
    let projection: Linear
    let positional: Conv
    let encoderNorm: Norm
    let layers: [Layer]
    let projector: Linear?
    let classifier: Linear?

    public init(folder: URL) throws {
        self.folder = folder
        config = try Wav2Vec2Config(url: folder.appendingPathComponent("config.json"))
        let weightsURL = folder.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            throw TeacherError.input(path: weightsURL.path, reason: "no model.safetensors (save the model with safe_serialization=True)")
        }
        let file = try SafeTensorsFile(weightsURL)
        normalizeInput = try Self.doNormalize(folder)
        let c = config
        let prefix = file.entries["wav2vec2.feature_projection.projection.weight"] != nil ? "wav2vec2." : ""
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let e = file.entries[name] else { throw TeacherError.missingTensor(path: weightsURL.path, name: name) }
            guard e.shape == shape else { throw TeacherError.shape(path: weightsURL.path, name: name, shape: e.shape, expected: shape) }
            return try file.values(name)
        }
        func norm(_ name: String, _ n: Int) throws -> Norm {
            Norm(gamma: try tensor("\(name).weight", [n]), beta: try tensor("\(name).bias", [n]))
        }
        func linear(_ name: String, _ inputs: Int, _ outputs: Int) throws -> Linear {
            Linear(weight: try tensor("\(name).weight", [outputs, inputs]), bias: try tensor("\(name).bias", [outputs]),
                   inputs: inputs, outputs: outputs)
        }
        var convs: [Conv] = [], norms: [Norm?] = []
        var inChannels = 1
        for i in 0..<c.convDim.count {
            let name = "\(prefix)feature_extractor.conv_layers.\(i)"
            let w = try tensor("\(name).conv.weight", [c.convDim[i], inChannels, c.convKernel[i]])
            let b = c.convBias ? try tensor("\(name).conv.bias", [c.convDim[i]]) : nil
            convs.append(Self.conv(w, bias: b, inChannels: inChannels, outChannels: c.convDim[i], kernel: c.convKernel[i],
                                   stride: c.convStride[i], padding: 0, groups: 1))
            norms.append(c.featExtractNorm == "layer" || i == 0 ? try norm("\(name).layer_norm", c.convDim[i]) : nil)
            inChannels = c.convDim[i]
        }
        featureConvs = convs
        featureNorms = norms
        projectionNorm = try norm("\(prefix)feature_projection.layer_norm", inChannels)
        projection = try linear("\(prefix)feature_projection.projection", inChannels, c.hiddenSize)

        // Positional convolution: weight norm over every axis but the kernel's (dim = 2).
        let h = c.hiddenSize, k = c.positionalKernel, perGroup = h / c.positionalGroups
        let pos = "\(prefix)encoder.pos_conv_embed.conv"
        let weight: [Float]
        if file.entries["\(pos).weight"] != nil {
            weight = try tensor("\(pos).weight", [h, perGroup, k])
        } else {
            let (gName, vName) = file.entries["\(pos).weight_g"] != nil
                ? ("\(pos).weight_g", "\(pos).weight_v")
                : ("\(pos).parametrizations.weight.original0", "\(pos).parametrizations.weight.original1")
            let g = try tensor(gName, [1, 1, k]), v = try tensor(vName, [h, perGroup, k])
            var norms = [Double](repeating: 0, count: k)
            for i in 0..<(h * perGroup) { for j in 0..<k { norms[j] += Double(v[i * k + j]) * Double(v[i * k + j]) } }
            weight = (0..<(h * perGroup * k)).map { i in Float(Double(g[i % k]) * Double(v[i]) / norms[i % k].squareRoot()) }
        }
        positional = Self.conv(weight, bias: try tensor("\(pos).bias", [h]), inChannels: h, outChannels: h, kernel: k, stride: 1,
                               padding: k / 2, groups: c.positionalGroups)
        encoderNorm = try norm("\(prefix)encoder.layer_norm", h)
        layers = try (0..<c.layers).map { i in
            let l = "\(prefix)encoder.layers.\(i)"
            return Layer(q: try linear("\(l).attention.q_proj", h, h), k: try linear("\(l).attention.k_proj", h, h),
                         v: try linear("\(l).attention.v_proj", h, h), out: try linear("\(l).attention.out_proj", h, h),
                         norm: try norm("\(l).layer_norm", h), finalNorm: try norm("\(l).final_layer_norm", h),
                         intermediate: try linear("\(l).feed_forward.intermediate_dense", h, c.intermediateSize),
                         output: try linear("\(l).feed_forward.output_dense", c.intermediateSize, h))
        }
        if file.entries["classifier.weight"] != nil {
            projector = try linear("projector", h, c.classifierProjectionSize)
            classifier = try linear("classifier", c.classifierProjectionSize, c.labels)
            hasClassifier = true
        } else {
            projector = nil; classifier = nil; hasClassifier = false
        }
    }

    /// `do_normalize` from `folder/preprocessor_config.json` (false when the file is absent).
    static func doNormalize(_ folder: URL) throws -> Bool {
        let url = folder.appendingPathComponent("preprocessor_config.json")
        guard let data = FileManager.default.contents(atPath: url.path) else { return false }
        guard let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TeacherError.input(path: url.path, reason: "not a JSON object")
        }
        guard let v = o["do_normalize"] else { return false }
        guard let b = v as? Bool else { throw TeacherError.config(path: url.path, field: "do_normalize", value: "\(v)", expected: "true or false") }
        return b
    }

    /// Zero mean, unit variance: (x − mean) / √(var + 1e-7) (`Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm`).
    public static func normalize(_ x: inout [Float]) {
        guard !x.isEmpty else { return }
        let mean = x.reduce(0.0) { $0 + Double($1) } / Double(x.count)
        let variance = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(x.count)
        let inv = 1 / (variance + 1e-7).squareRoot()
        for i in x.indices { x[i] = Float((Double(x[i]) - mean) * inv) }
    }

    /// PyTorch conv weight [Cout, Cin/g, K] → per group [K·Cin/g, Cout/g] (row (k, c), column o).
    static func conv(_ w: [Float], bias: [Float]?, inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int,
                     groups: Int) -> Conv {
        let cin = inChannels / groups, cout = outChannels / groups
        var out = [Float](repeating: 0, count: groups * kernel * cin * cout)
        for g in 0..<groups {
            for o in 0..<cout {
                for ci in 0..<cin {
                    for k in 0..<kernel {
                        out[g * kernel * cin * cout + (k * cin + ci) * cout + o] = w[((g * cout + o) * cin + ci) * kernel + k]
                    }
                }
            }
        }
        return Conv(weight: out, bias: bias, inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
                    padding: padding, groups: groups)
    }

    /// What one forward pass returns (per example).
    public struct Output: Sendable {
        /// Classifier logits [labels] (nil without a classification head).
        public var logits: [Float]?
        /// Per layer, the attention probabilities [heads, T, T] (rows are queries).
        public var attentions: [[Float]]
        /// Hidden states as Hugging Face returns them: the encoder input of each layer, then the last
        /// layer's output (for the stable layout, before the encoder's final LayerNorm).
        public var hiddenStates: [[Float]]
        /// The convolutional features [T, C].
        public var features: [Float]
        /// The mean-pooled projector output [classifier_proj_size] (nil without a head).
        public var pooled: [Float]?
        public var frames: Int
    }

    /// Runs one waveform (16 kHz floats as read, no normalisation).
    public func forward(_ waveform: [Float], keepHiddenStates: Bool = false) throws -> Output {
        let c = config
        let t = c.frames(samples: waveform.count)
        guard t > 0 else {
            throw TeacherError.input(path: folder.path, reason: "\(waveform.count) samples are too short for the feature extractor")
        }
        // Feature extractor: conv → (norm) → GELU, channels last.
        var x = waveform, length = waveform.count
        if normalizeInput { Self.normalize(&x) }
        for (i, conv) in featureConvs.enumerated() {
            x = Self.apply(conv, x, length: length)
            length = (length - conv.kernel) / conv.stride + 1
            if let n = featureNorms[i] {
                // transformers builds these norms with PyTorch's default ε (1e-5), not `layer_norm_eps`.
                if c.featExtractNorm == "layer" { Self.layerNorm(&x, rows: length, n, eps: 1e-5) }
                else { Self.channelNorm(&x, rows: length, n, eps: 1e-5) }
            }
            Self.gelu(&x)
        }
        let features = x
        var h = x
        Self.layerNorm(&h, rows: t, projectionNorm, eps: c.layerNormEpsilon)
        h = Self.apply(projection, h, rows: t)
        // Positional embedding: grouped conv, padding K/2, last frame dropped for an even kernel, GELU.
        var pos = Self.apply(positional, h, length: t)
        let produced = t + 2 * positional.padding - positional.kernel + 1
        if produced > t { pos.removeLast((produced - t) * c.hiddenSize) }
        Self.gelu(&pos)
        for i in h.indices { h[i] += pos[i] }
        var hidden: [[Float]] = []
        if !c.stableLayerNorm { Self.layerNorm(&h, rows: t, encoderNorm, eps: c.layerNormEpsilon) }
        var attentions: [[Float]] = []
        for layer in layers {
            if keepHiddenStates { hidden.append(h) }
            let (next, probabilities) = self.layer(layer, h, rows: t)
            h = next
            attentions.append(probabilities)
        }
        // transformers returns the last state before the stable layout's final LayerNorm.
        if keepHiddenStates { hidden.append(h) }
        if c.stableLayerNorm { Self.layerNorm(&h, rows: t, encoderNorm, eps: c.layerNormEpsilon) }
        var logits: [Float]?, pooled: [Float]?
        if let projector, let classifier {
            let p = Self.apply(projector, h, rows: t)
            var mean = [Float](repeating: 0, count: projector.outputs)
            if c.pooling == "first" {
                mean = Array(p[0..<projector.outputs])
            } else {
                for r in 0..<t { for j in 0..<projector.outputs { mean[j] += p[r * projector.outputs + j] } }
                for j in mean.indices { mean[j] /= Float(t) }
            }
            pooled = mean
            logits = Self.apply(classifier, mean, rows: 1)
        }
        return Output(logits: logits, attentions: attentions, hiddenStates: hidden, features: features, pooled: pooled, frames: t)
    }

    /// One encoder layer; returns the new state and the attention probabilities [heads, T, T].
    func layer(_ l: Layer, _ x: [Float], rows t: Int) -> ([Float], [Float]) {
        let c = config, h = c.hiddenSize, heads = c.heads, d = h / heads
        var input = x
        if c.stableLayerNorm { Self.layerNorm(&input, rows: t, l.norm, eps: c.layerNormEpsilon) }
        var q = Self.apply(l.q, input, rows: t)
        let k = Self.apply(l.k, input, rows: t), v = Self.apply(l.v, input, rows: t)
        let scale = 1 / Float(d).squareRoot()
        for i in q.indices { q[i] *= scale }
        var probabilities = [Float](repeating: 0, count: heads * t * t)
        var context = [Float](repeating: 0, count: t * h)
        var scores = [Float](repeating: 0, count: t * t)
        for head in 0..<heads {
            q.withUnsafeBufferPointer { qp in
                k.withUnsafeBufferPointer { kp in
                    BLAS.gemm(transB: true, m: t, n: t, k: d, a: qp.baseAddress! + head * d, lda: h, b: kp.baseAddress! + head * d,
                              ldb: h, c: &scores, ldc: t)
                }
            }
            probabilities.withUnsafeMutableBufferPointer { pp in
                Softmax.forward(scores, rows: t, width: t, into: pp.baseAddress! + head * t * t)
                v.withUnsafeBufferPointer { vp in
                    context.withUnsafeMutableBufferPointer { cp in
                        BLAS.gemm(m: t, n: d, k: t, a: pp.baseAddress! + head * t * t, lda: t, b: vp.baseAddress! + head * d, ldb: h,
                                  c: cp.baseAddress! + head * d, ldc: h)
                    }
                }
            }
        }
        let attended = Self.apply(l.out, context, rows: t)
        var y = x
        for i in y.indices { y[i] += attended[i] }
        if c.stableLayerNorm {
            var normed = y
            Self.layerNorm(&normed, rows: t, l.finalNorm, eps: c.layerNormEpsilon)
            let ff = feedForward(l, normed, rows: t)
            for i in y.indices { y[i] += ff[i] }
        } else {
            Self.layerNorm(&y, rows: t, l.norm, eps: c.layerNormEpsilon)
            let ff = feedForward(l, y, rows: t)
            for i in y.indices { y[i] += ff[i] }
            Self.layerNorm(&y, rows: t, l.finalNorm, eps: c.layerNormEpsilon)
        }
        return (y, probabilities)
    }

    func feedForward(_ l: Layer, _ x: [Float], rows t: Int) -> [Float] {
        var mid = Self.apply(l.intermediate, x, rows: t)
        Self.gelu(&mid)
        return Self.apply(l.output, mid, rows: t)
    }

    // MARK: Kernels (channels last)

    /// y [rows, out] = x [rows, in] · Wᵀ + b.
    static func apply(_ l: Linear, _ x: [Float], rows: Int) -> [Float] {
        var y = [Float](repeating: 0, count: rows * l.outputs)
        for r in 0..<rows { for j in 0..<l.outputs { y[r * l.outputs + j] = l.bias[j] } }
        BLAS.gemm(transB: true, m: rows, n: l.outputs, k: l.inputs, a: x, lda: l.inputs, b: l.weight, ldb: l.inputs, beta: 1,
                  c: &y, ldc: l.outputs)
        return y
    }

    /// Grouped 1-D convolution of x [length, Cin] by im2col per group, in blocks of output rows (bounded
    /// memory on long inputs); output [L', Cout].
    static func apply(_ conv: Conv, _ x: [Float], length: Int) -> [Float] {
        let cin = conv.inChannels / conv.groups, cout = conv.outChannels / conv.groups, k = conv.kernel
        let out = (length + 2 * conv.padding - k) / conv.stride + 1
        var y = [Float](repeating: 0, count: out * conv.outChannels)
        if let b = conv.bias { for r in 0..<out { for j in 0..<conv.outChannels { y[r * conv.outChannels + j] = b[j] } } }
        let block = max(1, min(out, (1 << 20) / max(1, k * cin)))
        var cols = [Float](repeating: 0, count: block * k * cin)
        x.withUnsafeBufferPointer { xp in
            cols.withUnsafeMutableBufferPointer { cp in
                conv.weight.withUnsafeBufferPointer { w in
                    y.withUnsafeMutableBufferPointer { yp in
                        for g in 0..<conv.groups {
                            for start in stride(from: 0, to: out, by: block) {
                                let rows = min(block, out - start)
                                for r in 0..<rows {
                                    for tap in 0..<k {
                                        let src = (start + r) * conv.stride + tap - conv.padding
                                        let dst = cp.baseAddress! + (r * k + tap) * cin
                                        if src >= 0 && src < length {
                                            dst.update(from: xp.baseAddress! + src * conv.inChannels + g * cin, count: cin)
                                        } else {
                                            dst.update(repeating: 0, count: cin)
                                        }
                                    }
                                }
                                BLAS.gemm(m: rows, n: cout, k: k * cin, a: cp.baseAddress!, lda: k * cin,
                                          b: w.baseAddress! + g * k * cin * cout, ldb: cout, beta: 1,
                                          c: yp.baseAddress! + start * conv.outChannels + g * cout, ldc: conv.outChannels)
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    /// LayerNorm over the channels of every row (sums in Double).
    static func layerNorm(_ x: inout [Float], rows: Int, _ n: Norm, eps: Float) {
        let c = n.gamma.count
        x.withUnsafeMutableBufferPointer { xp in
            for r in 0..<rows {
                let row = xp.baseAddress! + r * c
                var sum = 0.0
                for j in 0..<c { sum += Double(row[j]) }
                let mean = sum / Double(c)
                var sq = 0.0
                for j in 0..<c { let d = Double(row[j]) - mean; sq += d * d }
                let inv = Float(1 / (sq / Double(c) + Double(eps)).squareRoot()), m = Float(mean)
                for j in 0..<c { row[j] = (row[j] - m) * inv * n.gamma[j] + n.beta[j] }
            }
        }
    }

    /// GroupNorm with one group per channel: each channel normalised over time (row-major passes).
    static func channelNorm(_ x: inout [Float], rows: Int, _ n: Norm, eps: Float) {
        let c = n.gamma.count
        var sum = [Double](repeating: 0, count: c), sq = [Double](repeating: 0, count: c)
        x.withUnsafeMutableBufferPointer { xp in
            for r in 0..<rows { let row = xp.baseAddress! + r * c; for j in 0..<c { sum[j] += Double(row[j]) } }
            let mean = sum.map { $0 / Double(rows) }
            for r in 0..<rows { let row = xp.baseAddress! + r * c; for j in 0..<c { let d = Double(row[j]) - mean[j]; sq[j] += d * d } }
            var scale = [Float](repeating: 0, count: c), shift = scale
            for j in 0..<c {
                let inv = 1 / (sq[j] / Double(rows) + Double(eps)).squareRoot()
                scale[j] = Float(inv) * n.gamma[j]
                shift[j] = n.beta[j] - Float(mean[j] * inv) * n.gamma[j]
            }
            for r in 0..<rows { let row = xp.baseAddress! + r * c; for j in 0..<c { row[j] = row[j] * scale[j] + shift[j] } }
        }
    }

    /// GELU x · Φ(x) = 0.5 x (1 + erf(x / √2)) (erf to 1.5e-7, vectorised).
    static func gelu(_ x: inout [Float]) {
        x.withUnsafeMutableBufferPointer { Vector.gelu($0.baseAddress!, count: $0.count) }
    }
}
