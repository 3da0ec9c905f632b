import DatasetFormat
import Foundation
import Layers
import Numerics
import TKDCore
import TensorStore

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

    struct Conv: Sendable {
        let weight: [Float]  // [K·Cin/g, Cout/g] per group, concatenated over groups
        let bias: [Float]?
        let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, groups: Int
    }
    struct Norm: Sendable { let gamma: [Float], beta: [Float] }
    /// `weight` is kept transposed, [in, out] (PyTorch stores [out, in]): OpenBLAS runs x·W without a
    /// transposed operand a few per cent faster.
    struct Linear: Sendable { let weight: [Float], bias: [Float], inputs: Int, outputs: Int }
    struct Layer: Sendable {
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
    /// softmax(`layer_weights`) when the head reads the weighted sum of the hidden states.
    let layerWeights: [Float]?

    public init(folder: URL) throws {
        self.folder = folder
        let layout = ModelFolderLayout(folder)
        config = try Wav2Vec2Config(url: layout.config)
        let weightsURL = layout.weights
        guard FileManager.default.fileExists(atPath: weightsURL.path) else { throw Self.missingWeights(folder) }
        let file = try SafeTensorsFile(weightsURL)
        normalizeInput = try Self.doNormalize(folder)
        let c = config
        let prefix = file.entries["wav2vec2.feature_projection.projection.weight"] != nil ? "wav2vec2." : ""
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let e = file.entries[name] else {
                throw TeacherError.missingTensor(path: weightsURL.path, name: name)
            }
            guard e.shape == shape else {
                throw TeacherError.shape(path: weightsURL.path, name: name, shape: e.shape, expected: shape)
            }
            return try file.values(name)
        }
        func norm(_ name: String, _ n: Int) throws -> Norm {
            Norm(gamma: try tensor("\(name).weight", [n]), beta: try tensor("\(name).bias", [n]))
        }
        func linear(_ name: String, _ inputs: Int, _ outputs: Int) throws -> Linear {
            let w = try tensor("\(name).weight", [outputs, inputs])
            var transposed = [Float](repeating: 0, count: w.count)
            for o in 0..<outputs { for i in 0..<inputs { transposed[i * outputs + o] = w[o * inputs + i] } }
            return Linear(
                weight: transposed, bias: try tensor("\(name).bias", [outputs]), inputs: inputs, outputs: outputs)
        }
        var convs: [Conv] = [], norms: [Norm?] = []
        var inChannels = 1
        for i in 0..<c.convDim.count {
            let name = "\(prefix)feature_extractor.conv_layers.\(i)"
            let w = try tensor("\(name).conv.weight", [c.convDim[i], inChannels, c.convKernel[i]])
            let b = c.convBias ? try tensor("\(name).conv.bias", [c.convDim[i]]) : nil
            convs.append(
                Self.conv(
                    w, bias: b, inChannels: inChannels, outChannels: c.convDim[i], kernel: c.convKernel[i],
                    stride: c.convStride[i], padding: 0, groups: 1))
            norms.append(c.featExtractNorm == .layer || i == 0 ? try norm("\(name).layer_norm", c.convDim[i]) : nil)
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
            let (gName, vName) =
                file.entries["\(pos).weight_g"] != nil
                ? ("\(pos).weight_g", "\(pos).weight_v")
                : ("\(pos).parametrizations.weight.original0", "\(pos).parametrizations.weight.original1")
            let g = try tensor(gName, [1, 1, k]), v = try tensor(vName, [h, perGroup, k])
            var norms = [Double](repeating: 0, count: k)
            for i in 0..<(h * perGroup) { for j in 0..<k { norms[j] += Double(v[i * k + j]) * Double(v[i * k + j]) } }
            weight = (0..<(h * perGroup * k)).map { i in
                Float(Double(g[i % k]) * Double(v[i]) / norms[i % k].squareRoot())
            }
        }
        positional = Self.conv(
            weight, bias: try tensor("\(pos).bias", [h]), inChannels: h, outChannels: h, kernel: k, stride: 1,
            padding: k / 2, groups: c.positionalGroups)
        encoderNorm = try norm("\(prefix)encoder.layer_norm", h)
        layers = try (0..<c.layers).map { i in
            let l = "\(prefix)encoder.layers.\(i)"
            return Layer(
                q: try linear("\(l).attention.q_proj", h, h), k: try linear("\(l).attention.k_proj", h, h),
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
            projector = nil
            classifier = nil
            hasClassifier = false
        }
        if hasClassifier && c.useWeightedLayerSum {
            let w = try tensor("layer_weights", [c.layers + 1])
            guard w.allSatisfy(\.isFinite) else {
                throw TeacherError.input(path: weightsURL.path, reason: "'layer_weights' has non-finite values")
            }
            layerWeights = Self.softmax(w)
        } else {
            layerWeights = nil
        }
    }

    /// The error for a folder without `model.safetensors`: naming the converter when it holds PyTorch pickles.
    static func missingWeights(_ folder: URL) -> TeacherError {
        let url = ModelFolderLayout(folder).weights
        let pickled = ["pytorch_model.bin", "pytorch_model.bin.index.json"].first {
            FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path)
        }
        if let pickled {
            return TeacherError.input(
                path: url.path,
                reason: "missing; the folder holds \(pickled), which tkd does not read (a pickle can run code "
                    + "when loaded): convert it once with `.venv-reference/bin/python "
                    + "Scripts/convert_to_safetensors.py \(folder.path)`")
        }
        return TeacherError.input(
            path: url.path, reason: "no model.safetensors (save the model with safe_serialization=True)")
    }

    /// softmax over a small vector (the weighted layer sum's weights), in Double.
    static func softmax(_ v: [Float]) -> [Float] {
        let top = Double(v.max() ?? 0)
        let e = v.map { exp(Double($0) - top) }
        let total = e.reduce(0, +)
        return e.map { Float($0 / total) }
    }

    /// `do_normalize` from `folder/preprocessor_config.json` (false when the file is absent).
    static func doNormalize(_ folder: URL) throws -> Bool {
        let url = ModelFolderLayout(folder).preprocessor
        guard let data = try RegularFile.contents(url) else { return false }
        guard let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TeacherError.input(path: url.path, reason: "not a JSON object")
        }
        guard let v = o["do_normalize"] else { return false }
        guard let b = v as? Bool else {
            throw TeacherError.config(path: url.path, field: "do_normalize", value: "\(v)", expected: "true or false")
        }
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
    static func conv(
        _ w: [Float], bias: [Float]?, inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int,
        groups: Int
    ) -> Conv {
        let cin = inChannels / groups, cout = outChannels / groups
        var out = [Float](repeating: 0, count: groups * kernel * cin * cout)
        for g in 0..<groups {
            for o in 0..<cout {
                for ci in 0..<cin {
                    for k in 0..<kernel {
                        out[g * kernel * cin * cout + (k * cin + ci) * cout + o] =
                            w[((g * cout + o) * cin + ci) * kernel + k]
                    }
                }
            }
        }
        return Conv(
            weight: out, bias: bias, inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
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

    /// Runs one waveform (16 kHz floats as read; normalised first when `normalizeInput`).
    public func forward(_ waveform: [Float], keepHiddenStates: Bool = false) throws -> Output {
        try forward(batch: [waveform], pool: WorkPool(jobs: 1), keepHiddenStates: keepHiddenStates)[0]
    }

    /// Row blocks of the stacked linear layers: as many as `rows / 256` rounded up, of equal size (a function
    /// of the rows only, never of the thread count), large enough for OpenBLAS's sgemm to run near its peak.
    static func rowBlocks(_ rows: Int) -> (count: Int, size: Int) {
        let count = max(1, (rows + 255) / 256)
        return (count, (rows + count - 1) / count)
    }

    /// Runs waveforms of one length together: the convolutions per clip, the transformer's linear layers
    /// over every clip's frames stacked (`rowBlocks`), attention per clip and head, all on
    /// `pool`. Each clip's output is the same whatever the batch or the pool (rows are independent).
    public func forward(batch waveforms: [[Float]], pool: WorkPool, keepHiddenStates: Bool = false) throws -> [Output] {
        guard let samples = waveforms.first?.count else { return [] }
        guard waveforms.allSatisfy({ $0.count == samples }) else {
            throw TeacherError.input(path: folder.path, reason: "a batch needs clips of one length")
        }
        let c = config, b = waveforms.count, t = c.frames(samples: samples), hs = c.hiddenSize
        guard t > 0 else {
            throw TeacherError.input(
                path: folder.path, reason: "\(samples) samples are too short for the feature extractor")
        }
        let features = try pool.map(b) { e in self.features(waveforms[e]) }
        var h = features.flatMap { $0 }
        try Self.rowwise(pool, rows: b * t, width: h.count / (b * t), &h) { row, n in
            Self.layerNorm(row, count: n, self.projectionNorm, eps: c.layerNormEpsilon)
        }
        h = try Self.apply(projection, h, rows: b * t, pool: pool)
        // Positional embedding per clip: grouped conv, padding K/2, last frame dropped for an even kernel, GELU.
        let projected0 = h
        let positions = try pool.map(b) { e -> [Float] in
            var pos = Self.apply(self.positional, Array(projected0[(e * t * hs)..<((e + 1) * t * hs)]), length: t)
            let produced = t + 2 * self.positional.padding - self.positional.kernel + 1
            if produced > t { pos.removeLast((produced - t) * hs) }
            Self.gelu(&pos)
            return pos
        }
        for e in 0..<b { for i in 0..<(t * hs) { h[e * t * hs + i] += positions[e][i] } }
        if !c.stableLayerNorm { try normRows(pool, &h, rows: b * t, encoderNorm) }
        var hidden: [[Float]] = [], attentions: [[Float]] = []
        let keep = keepHiddenStates || layerWeights != nil
        for layer in layers {
            if keep { hidden.append(h) }
            let (next, probabilities) = try self.layer(layer, h, clips: b, frames: t, pool: pool)
            h = next
            attentions.append(probabilities)
        }
        // transformers returns the last state before the stable layout's final LayerNorm.
        if keep { hidden.append(h) }
        if c.stableLayerNorm { try normRows(pool, &h, rows: b * t, encoderNorm) }
        var projected: [Float] = []
        if let projector {
            var input = h
            if let w = layerWeights {
                // The weighted sum of the hidden states transformers returns, in their order.
                input = [Float](repeating: 0, count: h.count)
                for (state, weight) in zip(hidden, w) { for i in input.indices { input[i] += weight * state[i] } }
            }
            projected = try Self.apply(projector, input, rows: b * t, pool: pool)
        }
        return try (0..<b).map { e in
            var logits: [Float]?, pooled: [Float]?
            if let projector, let classifier {
                let p = projector.outputs, base = e * t * p
                var mean = [Float](repeating: 0, count: p)
                if c.pooling == .first {
                    mean = Array(projected[base..<(base + p)])
                } else {
                    for r in 0..<t { for j in 0..<p { mean[j] += projected[base + r * p + j] } }
                    for j in mean.indices { mean[j] /= Float(t) }
                }
                pooled = mean
                logits = try Self.apply(classifier, mean, rows: 1, pool: pool)
            }
            let perLayer = attentions.map { Array($0[(e * c.heads * t * t)..<((e + 1) * c.heads * t * t)]) }
            let states = keepHiddenStates ? hidden.map { Array($0[(e * t * hs)..<((e + 1) * t * hs)]) } : []
            return Output(
                logits: logits, attentions: perLayer, hiddenStates: states, features: features[e], pooled: pooled,
                frames: t)
        }
    }

    /// The convolutional feature extractor on one waveform: conv → (norm) → GELU, channels last [T, C].
    func features(_ waveform: [Float]) -> [Float] {
        let c = config
        var x = waveform, length = waveform.count
        if normalizeInput { Self.normalize(&x) }
        for (i, conv) in featureConvs.enumerated() {
            x = Self.apply(conv, x, length: length)
            length = (length - conv.kernel) / conv.stride + 1
            if let n = featureNorms[i] {
                // transformers builds these norms with PyTorch's default ε (1e-5), not `layer_norm_eps`.
                if c.featExtractNorm == .layer {
                    Self.layerNorm(&x, rows: length, n, eps: 1e-5)
                } else {
                    Self.channelNorm(&x, rows: length, n, eps: 1e-5)
                }
            }
            Self.gelu(&x)
        }
        return x
    }

    func normRows(_ pool: WorkPool, _ x: inout [Float], rows: Int, _ n: Norm) throws {
        let eps = config.layerNormEpsilon
        try Self.rowwise(pool, rows: rows, width: n.gamma.count, &x) { row, count in
            Self.layerNorm(row, count: count, n, eps: eps)
        }
    }

    /// Runs `body` on every row of x [rows, width], in blocks on `pool`.
    static func rowwise(
        _ pool: WorkPool, rows: Int, width: Int, _ x: inout [Float],
        _ body: @escaping @Sendable (UnsafeMutablePointer<Float>, Int) -> Void
    ) throws {
        let (blocks, size) = rowBlocks(rows)
        try x.withUnsafeMutableBufferPointer { xp in
            let base = SendablePointer(xp.baseAddress!)
            try pool.forEach(blocks) { k in
                for r in (k * size)..<min(rows, (k + 1) * size) { body(base[r * width], width) }
            }
        }
    }

    /// One encoder layer over `clips` stacked clips of `frames` rows; returns the new state and the
    /// attention probabilities [clips, heads, T, T].
    func layer(_ l: Layer, _ x: [Float], clips b: Int, frames t: Int, pool: WorkPool) throws -> ([Float], [Float]) {
        let c = config, h = c.hiddenSize, heads = c.heads, d = h / heads, rows = b * t
        var input = x
        if c.stableLayerNorm { try normRows(pool, &input, rows: rows, l.norm) }
        let q = try Self.apply(l.q, input, rows: rows, pool: pool)
        let k = try Self.apply(l.k, input, rows: rows, pool: pool),
            v = try Self.apply(l.v, input, rows: rows, pool: pool)
        let scale = 1 / Float(d).squareRoot()
        var probabilities = uninitializedFloats(b * heads * t * t)
        var context = uninitializedFloats(rows * h)
        try q.withUnsafeBufferPointer { qp in
            try k.withUnsafeBufferPointer { kp in
                try v.withUnsafeBufferPointer { vp in
                    try probabilities.withUnsafeMutableBufferPointer { pp in
                        try context.withUnsafeMutableBufferPointer { cp in
                            let (qs, ks, vs) = (
                                SendableConstPointer(qp.baseAddress!), SendableConstPointer(kp.baseAddress!),
                                SendableConstPointer(vp.baseAddress!)
                            )
                            let (ps, cs) = (SendablePointer(pp.baseAddress!), SendablePointer(cp.baseAddress!))
                            try pool.forEach(b * heads) { job in
                                let e = job / heads, head = job % heads, o = e * t * h + head * d
                                var scores = uninitializedFloats(t * t)
                                // (q·scale)·kᵀ: the scale folded into the product, as transformers scales q.
                                BLAS.gemm(
                                    transB: true, m: t, n: t, k: d, alpha: scale, a: qs[o], lda: h, b: ks[o], ldb: h,
                                    c: &scores, ldc: t)
                                let pe = ps[job * t * t]
                                Softmax.forwardFast(scores, rows: t, width: t, into: pe)
                                BLAS.gemm(m: t, n: d, k: t, a: pe, lda: t, b: vs[o], ldb: h, c: cs[o], ldc: h)
                            }
                        }
                    }
                }
            }
        }
        let attended = try Self.apply(l.out, context, rows: rows, pool: pool)
        var y = x
        for i in y.indices { y[i] += attended[i] }
        if c.stableLayerNorm {
            var normed = y
            try normRows(pool, &normed, rows: rows, l.finalNorm)
            let ff = try feedForward(l, normed, rows: rows, pool: pool)
            for i in y.indices { y[i] += ff[i] }
        } else {
            try normRows(pool, &y, rows: rows, l.norm)
            let ff = try feedForward(l, y, rows: rows, pool: pool)
            for i in y.indices { y[i] += ff[i] }
            try normRows(pool, &y, rows: rows, l.finalNorm)
        }
        return (y, probabilities)
    }

    func feedForward(_ l: Layer, _ x: [Float], rows: Int, pool: WorkPool) throws -> [Float] {
        var mid = try Self.apply(l.intermediate, x, rows: rows, pool: pool)
        try Self.rowwise(pool, rows: rows, width: l.intermediate.outputs, &mid) { row, n in Vector.gelu(row, count: n) }
        return try Self.apply(l.output, mid, rows: rows, pool: pool)
    }
}
