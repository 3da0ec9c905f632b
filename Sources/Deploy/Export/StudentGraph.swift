import Foundation
import Layers
import Numerics
import Training

/// A student's inference model as ONNX nodes, features [B, T, F] → logits [B, classes], layer by layer from
/// `StudentModel.layers` (Docs/students.md §4-9 give the Keras semantics each emitter reproduces).
///
/// Batch norm is folded into the convolution before it (`W·s`, `b·s + β − μ·s` with `s = γ/√(σ² + ε)`);
/// where a batch norm follows an activation (Att-RNN's and MHAtt-RNN's conv → ReLU → BN), folding across the
/// ReLU is not exact, so it is folded into the layer after it instead: the next convolution (with a constant
/// correction for its zero padding) or the GRU's input weights. No batch norm is left as an operator. Dropout
/// and SpecAugment are training-only and emit nothing; the training-only KD head is emitted only for
/// `--with-localisation`. Maps are NCHW ([B, C, T, F], Keras's [B, T, F, C] transposed); sequences are
/// [B, T, D], or [T, B, D] around ONNX `GRU` (`linear_before_reset = 1` is Keras's `reset_after`; gates z, r, h
/// in both). The peephole LSTM with projection has no ONNX operator (ONNX `LSTM` has no projection), so LSTM-P's
/// recurrence is unrolled into `MatMul`/`Sigmoid`/`Tanh` cells, one per step.
struct StudentGraph {
    let model: StudentModel
    let b: GraphBuilder

    enum Layout { case sequence, timeMajor, map, vector }

    struct Value {
        var name: String
        var layout: Layout
        /// A batch norm's affine not applied yet: the value is `name · scale + shift` per channel (maps: axis 1;
        /// sequences: the last axis). The next convolution or GRU absorbs it into its weights; anything else
        /// applies it first (`materialized`).
        var pending: (scale: [Float], shift: [Float])?

        init(name: String, layout: Layout, pending: (scale: [Float], shift: [Float])? = nil) {
            self.name = name
            self.layout = layout
            self.pending = pending
        }
    }

    /// What `--with-localisation` adds: the training-only head's softmax over the context steps, or the
    /// model's own attention averaged over heads (`kd.head: own`).
    enum Localisation {
        case kdHead(query: [Float], temperature: Float)
        case own
    }

    /// Emits the model on `features`; returns the logits and, when asked, the attention [B, T′].
    func emit(features: String, localisation: Localisation?) throws -> (logits: String, attention: String?) {
        var x = Value(name: features, layout: .sequence)
        var context: String?
        var ownAttention: String?
        let layers = model.layers
        var i = 0
        while i < layers.count {
            let layer = layers[i]
            b.scope = layer.name
            var consumed = 1
            // Only a convolution, a GRU, the merge reshape and dropout take a pending batch norm along.
            if x.pending != nil
                && !(layer is ConvLayer || layer is GRULayer || layer is DropoutLayer
                    || layer is BatchNormLayer || (layer as? ReshapeLayer)?.kind == .mergeFeatures)
            {
                x = materialized(x)
            }
            switch layer {
            case let r as ReshapeLayer:
                x = reshape(x, r.kind)
            case let c as ConvLayer:
                var bn: BatchNormLayer?
                if c.activation == .linear, i + 1 < layers.count, let next = layers[i + 1] as? BatchNormLayer {
                    bn = next
                    consumed = 2
                }
                x = Value(name: conv(x.name, c, foldedBatchNorm: bn, inputAffine: x.pending), layout: .map)
            case let n as BatchNormLayer:
                // After an activation: carried to the next layer's weights (folding across the ReLU is not exact).
                let (scale, shift) = Self.batchNormAffine(n)
                if let (s0, t0) = x.pending {
                    x.pending = (zip(s0, scale).map(*), zip(zip(t0, scale), shift).map { $0.0 * $0.1 + $1 })
                } else {
                    x.pending = (scale, shift)
                }
            case let a as ActivationLayer:
                if a.activation == .relu { x.name = b.unary("Relu", x.name) }
            case let r as ResidualBlockLayer:
                x = Value(name: residual(x.name, r), layout: .map)
            case let g as GRULayer:
                x = gru(x, g)
            case let l as PeepholeLSTMLayer:
                let wantsSequence = localisation != nil && model.contextLayer == i
                let r = peepholeLSTM(x, l, sequence: wantsSequence)
                if let seq = r.sequence { context = seq }
                x = Value(name: r.last, layout: .vector)
                if i + 1 < layers.count, layers[i + 1] is LastStepLayer { consumed = 2 }
            case is LastStepLayer:
                x = lastStep(x)
            case let q as QueryAttentionLayer:
                let r = attention(x, q)
                x = Value(name: r.output, layout: .vector)
                ownAttention = r.weights
            case is GlobalAveragePoolLayer:
                x = globalAveragePool(x)
            case is DropoutLayer:
                break
            case let d as DenseLayer:
                x = dense(x, d)
            default:
                throw DeployError.export(field: "student", reason: "layer '\(layer.name)' has no ONNX form")
            }
            if localisation != nil, context == nil, (i..<(i + consumed)).contains(model.contextLayer) {
                context = contextSequence(materialized(x))
            }
            i += consumed
        }
        b.scope = ""
        x = materialized(x)
        guard x.layout == .vector, b.shape(x.name) == [GraphBuilder.batch, model.classes] else {
            throw DeployError.export(field: "student", reason: "the graph ends in \(b.shape(x.name)), not logits")
        }
        var attentionOutput: String?
        switch localisation {
        case nil: break
        case let .kdHead(query, temperature)?:
            b.scope = "kd_head"
            guard let context else { throw DeployError.export(field: "with-localisation", reason: "no context") }
            let s = b.shape(context)
            let q = b.floats("query", query, dims: [s[2], 1])
            let scores = b.reshape(b.matmul(context, q), [GraphBuilder.batch, s[1]])
            let scaled = b.binary("Mul", scores, b.floats("inverse_temperature", [1 / temperature], dims: []))
            attentionOutput = b.node("Softmax", [scaled], [.int("axis", 1)], shape: [GraphBuilder.batch, s[1]])
        case .own?:
            b.scope = "own_attention"
            guard let ownAttention else {
                throw DeployError.export(field: "with-localisation", reason: "the student has no attention of its own")
            }
            let s = b.shape(ownAttention)
            attentionOutput = b.node(
                "ReduceMean", [ownAttention], [.ints("axes", [1]), .int("keepdims", 0)],
                shape: [GraphBuilder.batch, s[2]])
        }
        b.scope = ""
        return (x.name, attentionOutput)
    }

    // MARK: layouts

    func reshape(_ x: Value, _ kind: ReshapeLayer.Kind) -> Value {
        switch kind {
        case .coefficientsAsChannels:
            // Keras [B, T, 1, F] (coefficients as channels) is NCHW [B, F, T, 1].
            precondition(x.layout == .sequence)
            return Value(name: b.unsqueeze(b.transpose(x.name, [0, 2, 1]), axes: [3]), layout: .map)
        case .channelAxis:
            precondition(x.layout == .sequence)
            return Value(name: b.unsqueeze(x.name, axes: [1]), layout: .map)
        case .mergeFeatures, .flatten:
            // Keras [B, T, F, C] → [B, T, F·C] (channels fastest); a pending affine per channel becomes one per
            // merged feature (feature f·C + c has channel c's).
            precondition(x.layout == .map)
            let s = b.shape(x.name)
            let pending = x.pending.map { p in
                (
                    (0..<(s[3] * s[1])).map { p.scale[$0 % s[1]] }, (0..<(s[3] * s[1])).map { p.shift[$0 % s[1]] }
                )
            }
            if s[1] == 1 {
                return Value(name: b.squeeze(x.name, axes: [1]), layout: .sequence, pending: pending)
            }
            let t = b.transpose(x.name, [0, 2, 3, 1])
            return Value(
                name: b.reshape(t, [GraphBuilder.batch, s[2], s[3] * s[1]]), layout: .sequence, pending: pending)
        }
    }

    func sequence(_ x: Value) -> String {
        switch x.layout {
        case .sequence: return x.name
        case .timeMajor: return b.transpose(x.name, [1, 0, 2])
        default: preconditionFailure("a sequence was expected")
        }
    }

    func timeMajor(_ x: Value) -> String {
        switch x.layout {
        case .timeMajor: return x.name
        case .sequence: return b.transpose(x.name, [1, 0, 2])
        default: preconditionFailure("a sequence was expected")
        }
    }

    /// The context representation c′ as [B, T′, d] (what the KD head reads; `StudentModel.forward`).
    func contextSequence(_ x: Value) -> String {
        switch x.layout {
        case .map:
            // [B, C, T′, 1] → [B, T′, C].
            return b.transpose(b.squeeze(x.name, axes: [3]), [0, 2, 1])
        case .sequence, .timeMajor:
            return sequence(x)
        case .vector:
            preconditionFailure("the context is a sequence")
        }
    }

    // MARK: convolutions

    /// Keras Conv2D on an NCHW map, with the batch norm after it folded in (`foldedBatchNorm`) and a pending
    /// batch norm before it (`inputAffine`: x·s + t per input channel) folded into its weights: W·s, the bias
    /// plus W·t over every tap, and — with `same` padding, whose zeros are zeros of x·s + t, not of x — a
    /// constant correction that takes W·t back out at the taps that fall in the padding. ReLU when the layer has it.
    func conv(
        _ x: String, _ c: ConvLayer, foldedBatchNorm bn: BatchNormLayer?,
        inputAffine: (scale: [Float], shift: [Float])? = nil
    ) -> String {
        let s = b.shape(x)
        let (kh, kw) = c.kernelSize
        let cin = c.kernel.shape[2], cout = c.filters
        let rows = ConvAxis(input: s[2], kernel: kh, stride: c.stride.0, dilation: c.dilation.0, padding: c.padding)
        let cols = ConvAxis(input: s[3], kernel: kw, stride: c.stride.1, dilation: c.dilation.1, padding: c.padding)
        // Keras [kh, kw, cin, cout] → ONNX [cout, cin, kh, kw].
        var w = [Float](repeating: 0, count: cout * cin * kh * kw)
        let k = c.kernel.value
        for i in 0..<kh {
            for j in 0..<kw {
                for ci in 0..<cin {
                    for o in 0..<cout {
                        w[((o * cin + ci) * kh + i) * kw + j] = k[((i * kw + j) * cin + ci) * cout + o]
                    }
                }
            }
        }
        var bias = c.bias.value
        func pads(_ a: ConvAxis) -> (Int, Int) {
            guard a.padding == .same else { return (0, 0) }
            let total = max((a.output - 1) * a.stride + a.span - a.input, 0)
            return (total / 2, total - total / 2)
        }
        let (t0, t1) = pads(rows), (f0, f1) = pads(cols)
        var correction: [Double]?  // [cout, rows, cols]: W·t at the taps in the padding
        if let (s, t) = inputAffine {
            precondition(s.count == cin && t.count == cin, "input affine of \(s.count) channels for \(cin)")
            var wt = [Double](repeating: 0, count: cout * kh * kw)  // Σ_c W[o, c, i, j]·t_c
            for o in 0..<cout {
                for ci in 0..<cin {
                    for q in 0..<(kh * kw) {
                        let at = (o * cin + ci) * kh * kw + q
                        wt[o * kh * kw + q] += Double(w[at]) * Double(t[ci])
                        w[at] *= s[ci]
                    }
                }
                bias[o] += Float((0..<(kh * kw)).reduce(0.0) { $0 + wt[o * kh * kw + $1] })
            }
            if t0 + t1 + f0 + f1 > 0 {
                var corr = [Double](repeating: 0, count: cout * rows.output * cols.output)
                for o in 0..<cout {
                    for y in 0..<rows.output {
                        for xo in 0..<cols.output {
                            var sum = 0.0
                            for i in 0..<kh {
                                let iy = y * c.stride.0 - t0 + i * c.dilation.0
                                for j in 0..<kw {
                                    let ix = xo * c.stride.1 - f0 + j * c.dilation.1
                                    if iy < 0 || iy >= rows.input || ix < 0 || ix >= cols.input {
                                        sum += wt[(o * kh + i) * kw + j]
                                    }
                                }
                            }
                            corr[(o * rows.output + y) * cols.output + xo] = sum
                        }
                    }
                }
                correction = corr
            }
        }
        if let bn {
            let (scale, shift) = Self.batchNormAffine(bn)
            for o in 0..<cout {
                for q in 0..<(cin * kh * kw) { w[o * cin * kh * kw + q] *= scale[o] }
                bias[o] = bias[o] * scale[o] + shift[o]
                if correction != nil {
                    for p in 0..<(rows.output * cols.output) {
                        correction![o * rows.output * cols.output + p] *= Double(scale[o])
                    }
                }
            }
        }
        let name = c.kernel.name.replacingOccurrences(of: ".kernel", with: "")
        let wName = b.floats("\(name).weight" + (bn == nil ? "" : ".folded"), w, dims: [cout, cin, kh, kw])
        let bName = b.floats("\(name).bias" + (bn == nil ? "" : ".folded"), bias, dims: [cout])
        var y = b.node(
            "Conv", [x, wName, bName],
            [
                .ints("kernel_shape", [kh, kw]), .ints("strides", [c.stride.0, c.stride.1]),
                .ints("dilations", [c.dilation.0, c.dilation.1]), .ints("pads", [t0, f0, t1, f1]),
            ],
            shape: [GraphBuilder.batch, cout, rows.output, cols.output],
            macs: rows.output * cols.output * cout * cin * kh * kw)
        if let correction {
            let k = b.floats(
                "\(name).padding_correction", correction.map { Float($0) }, dims: [1, cout, rows.output, cols.output])
            y = b.binary("Sub", y, k)
        }
        if c.activation == .relu { y = b.unary("Relu", y) }
        return y
    }

    /// A batch norm's inference affine per channel, as `BatchNorm.forwardInference` computes it.
    static func batchNormAffine(_ bn: BatchNormLayer) -> (scale: [Float], shift: [Float]) {
        let c = bn.gamma.count
        var scale = [Float](repeating: 0, count: c), shift = scale
        for ch in 0..<c {
            scale[ch] = bn.gamma.value[ch] / (bn.movingVariance.value[ch] + bn.epsilon).squareRoot()
            shift[ch] = bn.beta.value[ch] - bn.movingMean.value[ch] * scale[ch]
        }
        return (scale, shift)
    }

    /// A pending batch norm applied as it is: x·scale + shift over the channel axis (when no layer can absorb it).
    func materialized(_ x: Value) -> Value {
        guard let (scale, shift) = x.pending else { return x }
        let c = scale.count
        let dims: [Int]
        switch x.layout {
        case .map: dims = [1, c, 1, 1]
        case .sequence, .timeMajor: dims = [1, 1, c]
        case .vector: dims = [1, c]
        }
        let name = b.scope
        let scaled = b.binary("Mul", x.name, b.floats("\(name).scale", scale, dims: dims))
        return Value(name: b.binary("Add", scaled, b.floats("\(name).shift", shift, dims: dims)), layout: x.layout)
    }

    /// TC-ResNet's residual block (Docs/students.md §6) with its batch norms folded.
    func residual(_ x: String, _ r: ResidualBlockLayer) -> String {
        var y = conv(x, r.conv1, foldedBatchNorm: r.bn1)
        y = b.unary("Relu", y)
        y = conv(y, r.conv2, foldedBatchNorm: r.bn2)
        var s = x
        if let sc = r.shortcut {
            s = b.unary("Relu", conv(x, sc.conv, foldedBatchNorm: sc.bn))
        }
        return b.unary("Relu", b.binary("Add", y, s))
    }

    // MARK: recurrent layers

    /// Keras GRU (`reset_after`) as ONNX GRU (`linear_before_reset = 1`), forward or bidirectional.
    func gru(_ x: Value, _ g: GRULayer) -> Value {
        let input = timeMajor(x)
        let s = b.shape(input)
        let t = s[0], inputs = g.cell.inputs, u = g.cell.units, dirs = g.bidirectional ? 2 : 1
        // Keras kernel [in, 3u] → ONNX W [dirs, 3u, in]; recurrent [u, 3u] → R [dirs, 3u, u]; bias [2, 3u]
        // (input, recurrent) → B [dirs, 6u]. Gate blocks are z, r, h in both.
        // A pending batch norm (x·s + t per input feature) folds exactly into the input side: W·s, and W·t added
        // to the input bias.
        var w = [Float](), r = [Float](), bias = [Float]()
        for d in 0..<dirs {
            let kernel = g.weights[3 * d].value, recurrent = g.weights[3 * d + 1].value
            var inputBias = Array(g.weights[3 * d + 2].value[0..<(3 * u)])
            let recurrentBias = Array(g.weights[3 * d + 2].value[(3 * u)...])
            for row in 0..<(3 * u) {
                var extra = 0.0
                for i in 0..<inputs {
                    let v = kernel[i * 3 * u + row]
                    if let (s, t) = x.pending {
                        w.append(v * s[i])
                        extra += Double(v) * Double(t[i])
                    } else {
                        w.append(v)
                    }
                }
                inputBias[row] += Float(extra)
            }
            for row in 0..<(3 * u) { for i in 0..<u { r.append(recurrent[i * 3 * u + row]) } }
            bias += inputBias + recurrentBias
        }
        let name = g.name
        let outs = b.node(
            "GRU",
            [
                input, b.floats("\(name).W", w, dims: [dirs, 3 * u, inputs]),
                b.floats("\(name).R", r, dims: [dirs, 3 * u, u]), b.floats("\(name).B", bias, dims: [dirs, 6 * u]),
            ],
            [
                .int("hidden_size", u), .int("linear_before_reset", 1),
                .string("direction", g.bidirectional ? "bidirectional" : "forward"),
            ],
            outputs: [[t, dirs, GraphBuilder.batch, u], nil],
            macs: t * dirs * 3 * u * (inputs + u))
        let y = outs[0]
        if g.bidirectional {
            // Y [T, 2, B, u] → [T, B, 2u]: step t is [h_fwd_t ; h_bwd_t].
            let swapped = b.transpose(y, [0, 2, 1, 3])
            return Value(name: b.reshape(swapped, [t, GraphBuilder.batch, 2 * u]), layout: .timeMajor)
        }
        return Value(name: b.squeeze(y, axes: [1]), layout: .timeMajor)
    }

    func lastStep(_ x: Value) -> Value {
        let s = b.shape(x.name)
        switch x.layout {
        case .timeMajor:
            let v = b.node("Gather", [x.name, b.scalarInt("last", s[0] - 1)], [.int("axis", 0)], shape: [s[1], s[2]])
            return Value(name: v, layout: .vector)
        case .sequence:
            let v = b.node("Gather", [x.name, b.scalarInt("last", s[1] - 1)], [.int("axis", 1)], shape: [s[0], s[2]])
            return Value(name: v, layout: .vector)
        default:
            preconditionFailure("last step of a non-sequence")
        }
    }

    /// An LSTM-P layer's constants in the graph: the input and recurrent kernels, the bias with the forget bias
    /// of 1.0 folded, the three peepholes, the projection and the gate split.
    struct PeepholeConstants {
        var inputKernel: String, recurrentKernel: String, bias: String
        var wi: String, wf: String, wo: String, projection: String, split: String
        var units: Int
    }

    func peepholeConstants(_ l: PeepholeLSTMLayer) -> PeepholeConstants {
        let f = l.cell.inputs, n = l.cell.units, p = l.cell.projection
        let kernel = l.kernel.value
        let wx = Array(kernel[0..<(f * 4 * n)]), wm = Array(kernel[(f * 4 * n)...])
        var bias = l.bias.value
        for k in (2 * n)..<(3 * n) { bias[k] += 1 }  // the forget bias of 1.0, folded
        let peep = l.peepholes.value
        let name = l.name
        let wxName = b.floats("\(name).input_kernel", wx, dims: [f, 4 * n])
        let wmName = b.floats("\(name).recurrent_kernel", wm, dims: [p, 4 * n])
        let biasName = b.floats("\(name).bias.with_forget", bias, dims: [4 * n])
        let wi = b.floats("\(name).peephole_i", Array(peep[0..<n]), dims: [n])
        let wf = b.floats("\(name).peephole_f", Array(peep[n..<(2 * n)]), dims: [n])
        let wo = b.floats("\(name).peephole_o", Array(peep[(2 * n)...]), dims: [n])
        let proj = b.floats("\(name).projection", l.projection.value, dims: [n, p])
        let split = b.int64s("split", [n, n, n, n])
        return PeepholeConstants(
            inputKernel: wxName, recurrentKernel: wmName, bias: biasName, wi: wi, wf: wf, wo: wo, projection: proj,
            split: split, units: n)
    }

    /// One step of the peephole LSTM cell: `a` is the step's input projection plus bias [B, 4n]; `m` and `c`
    /// the previous projected output and cell (none at the first step of a window). Returns m_t and c_t.
    func peepholeStep(_ a: String, m: String?, c: String?, _ k: PeepholeConstants) -> (m: String, c: String) {
        var a = a
        let batchN = [GraphBuilder.batch, k.units]
        if let m { a = b.binary("Add", a, b.matmul(m, k.recurrentKernel)) }
        let gates = b.node("Split", [a, k.split], [.int("axis", 1)], outputs: [batchN, batchN, batchN, batchN])
        let (gi, gj, gf, go) = (gates[0], gates[1], gates[2], gates[3])
        let cell: String
        if let c {
            let ig = b.unary("Sigmoid", b.binary("Add", gi, b.binary("Mul", k.wi, c)))
            let fg = b.unary("Sigmoid", b.binary("Add", gf, b.binary("Mul", k.wf, c)))
            cell = b.binary("Add", b.binary("Mul", fg, c), b.binary("Mul", ig, b.unary("Tanh", gj)))
        } else {
            cell = b.binary("Mul", b.unary("Sigmoid", gi), b.unary("Tanh", gj))
        }
        let og = b.unary("Sigmoid", b.binary("Add", go, b.binary("Mul", k.wo, cell)))
        return (b.matmul(b.binary("Mul", og, b.unary("Tanh", cell)), k.projection), cell)
    }

    /// TF1 LSTMCell with peepholes and projection (Docs/students.md §4), unrolled over the steps: the input
    /// projection of every step is one `MatMul`; each step then adds m_{t−1}·W_m and runs the gates. Returns
    /// m_T and, when asked, every m_t as [B, T, p].
    func peepholeLSTM(
        _ x: Value, _ l: PeepholeLSTMLayer, sequence wantsSequence: Bool
    ) -> (
        last: String, sequence: String?
    ) {
        let input = sequence(x)
        let t = b.shape(input)[1], p = l.cell.projection
        let k = peepholeConstants(l)
        let xw = b.binary("Add", b.matmul(input, k.inputKernel), k.bias)
        var m: String?
        var c: String?
        var steps: [String] = []
        for step in 0..<t {
            let a = b.node(
                "Gather", [xw, b.scalarInt("step", step)], [.int("axis", 1)], shape: [GraphBuilder.batch, 4 * k.units])
            (m, c) = peepholeStep(a, m: m, c: c, k)
            if wantsSequence { steps.append(b.unsqueeze(m!, axes: [1])) }
        }
        var seq: String?
        if wantsSequence {
            seq = b.node("Concat", steps, [.int("axis", 1)], shape: [GraphBuilder.batch, t, p])
        }
        return (m!, seq)
    }

    // MARK: attention, pooling, dense

    /// Att-RNN's / MHAtt-RNN's attention pooling (Docs/students.md §8-9); returns the pooled vector and α.
    func attention(_ x: Value, _ q: QueryAttentionLayer) -> (output: String, weights: String) {
        let h = sequence(x)
        let s = b.shape(h)
        let t = s[1], d = q.attention.width, heads = q.attention.heads
        let middle = b.node(
            "Gather", [h, b.scalarInt("middle", t / 2)], [.int("axis", 1)], shape: [GraphBuilder.batch, d])
        // One Dense(d) per head, side by side: W [d, heads·d].
        var w = [Float](repeating: 0, count: d * heads * d)
        let kv = q.queryKernel.value
        for head in 0..<heads {
            for i in 0..<d { for j in 0..<d { w[i * heads * d + head * d + j] = kv[(head * d + i) * d + j] } }
        }
        let queries = b.gemm(
            middle, weights: b.floats("\(q.name).query_kernel", w, dims: [d, heads * d]),
            bias: b.floats("\(q.name).query_bias", q.queryBias.value, dims: [heads * d]))
        let perHead = b.reshape(queries, [GraphBuilder.batch, heads, d])
        let scores = b.matmul(perHead, b.transpose(h, [0, 2, 1]))
        let alpha = b.node("Softmax", [scores], [.int("axis", 2)], shape: [GraphBuilder.batch, heads, t])
        let pooled = b.matmul(alpha, h)
        return (b.reshape(pooled, [GraphBuilder.batch, heads * d]), alpha)
    }

    func globalAveragePool(_ x: Value) -> Value {
        let s = b.shape(x.name)
        switch x.layout {
        case .map:
            let v = b.node(
                "ReduceMean", [x.name], [.ints("axes", [2, 3]), .int("keepdims", 0)], shape: [s[0], s[1]])
            return Value(name: v, layout: .vector)
        case .sequence:
            let v = b.node("ReduceMean", [x.name], [.ints("axes", [1]), .int("keepdims", 0)], shape: [s[0], s[2]])
            return Value(name: v, layout: .vector)
        default:
            preconditionFailure("pooling of \(x.layout)")
        }
    }

    func dense(_ x: Value, _ d: DenseLayer) -> Value {
        precondition(x.layout == .vector, "dense on \(x.layout)")
        let name = d.kernel.name.replacingOccurrences(of: ".kernel", with: "")
        var y = b.gemm(
            x.name, weights: b.floats("\(name).weight", d.kernel.value, dims: d.kernel.shape),
            bias: b.floats("\(name).bias", d.bias.value, dims: [d.kernel.shape[1]]))
        if d.activation == .relu { y = b.unary("Relu", y) }
        return Value(name: y, layout: .vector)
    }
}
