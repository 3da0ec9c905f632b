import DatasetFormat
import Foundation
import Layers
import Training

/// A student as a streaming graph (`tkd export --graph streaming`, kws_streaming's external-state mode): each
/// call reads one frame's worth of input — one hop of audio, or one frame of features — and the state the
/// previous call returned, and gives the scores of everything seen so far and the new state.
///
/// The state is named graph inputs with an output each (`<name>.next`), all float32 with the batch first:
/// - `audio.buffer` [B, frame − hop]: the samples the next frame shares with this one (audio input);
/// - `<conv>.buffer` [B, C, kh − 1, F]: the last kh − 1 input frames of a convolution (a ring buffer: the
///   new frame is appended, the oldest dropped), so that a `valid` convolution sees kh frames and gives one;
/// - `<lstm>.m`, `<lstm>.c` (LSTM-P) and `<gru>.h` (CRNN): the recurrent states;
/// - `steps` [B, 1]: calls since the reset, capped at the warm-up. Until the buffers hold real frames (the
///   first `warmup_steps` calls: one for the audio buffer, kh − 1 per convolution), the recurrent states are
///   held at their reset value, so that a reset to zeros followed by a window's calls gives exactly the
///   window graph's scores (kws_streaming's reset1 check).
///
/// Only what is causal and frame-local can stream: `valid` (or one-frame) convolutions with stride 1 in time,
/// forward recurrences, dense layers. TC-ResNet's stride-2, `same`-padded convolutions look ahead in time, and
/// Att-RNN's and MHAtt-RNN's bidirectional GRUs and attention read the whole window: those students slide the
/// window (the reasons are the refusal's message; Docs/deploying.md).
struct StreamingGraph {
    let model: StudentModel
    let b: GraphBuilder
    private(set) var states: [DeployManifest.Streaming.State] = []
    private let window: StudentGraph

    init(model: StudentModel, b: GraphBuilder) {
        self.model = model
        self.b = b
        window = StudentGraph(model: model, b: b)
    }

    /// Frames the model's convolutions need before their output is a real frame (kh − 1 each), or why the
    /// model cannot stream.
    static func convolutionDelay(_ model: StudentModel) throws -> Int {
        var delay = 0
        for layer in model.layers {
            switch layer {
            case let c as ConvLayer:
                let kh = c.kernelSize.0
                guard c.stride.0 == 1, c.dilation.0 == 1, kh == 1 || c.padding == .valid else {
                    throw refusal(
                        "its convolution '\(c.name)' (\(kh) frames, stride \(c.stride.0), \(c.padding)) "
                            + "looks ahead in time")
                }
                delay += kh - 1
            case is ResidualBlockLayer:
                throw refusal("its residual blocks' stride-2, same-padded convolutions look ahead in time")
            case let g as GRULayer where g.bidirectional:
                throw refusal("its bidirectional GRU '\(g.name)' reads the window backwards")
            case is QueryAttentionLayer:
                throw refusal("its attention pools over the whole window")
            case is GlobalAveragePoolLayer:
                throw refusal("it pools over the whole window")
            default:
                break
            }
        }
        return delay
    }

    static func refusal(_ why: String) -> DeployError {
        DeployError.export(
            field: "graph",
            reason: "this student cannot stream: \(why); expected lstm-p or crnn (the others slide the window: "
                + "export them with --graph window)")
    }

    /// Declares a state input of `shape` (without the batch) and returns its name.
    mutating func state(_ name: String, _ shape: [Int]) -> String {
        b.input(name, shape: [GraphBuilder.batch] + shape)
        states.append(.init(name: name, output: "\(name).next", shape: shape))
        return name
    }

    /// Names `value` as the next value of state `name`.
    func next(_ name: String, _ value: String) {
        precondition(b.shape(value) == b.shape(name), "state \(name): \(b.shape(value)) for \(b.shape(name))")
        b.node("Identity", [value], shape: b.shape(value), output: "\(name).next")
    }

    /// Emits the model on one frame `frame` [B, F]; returns the logits [B, classes]. `warmup`: calls after a reset
    /// before the recurrent states may change (0: no step counter).
    mutating func emit(frame: String, warmup: Int) throws -> String {
        var mask: String?
        if warmup > 0 {
            b.scope = "steps"
            let steps = state("steps", [1])
            let w = b.floats("warmup", [Float(warmup)], dims: [])
            let one = b.floats("one", [1], dims: [])
            // mask = 1 once `warmup` calls have passed (steps ≥ warmup), else 0; steps′ = min(steps + 1, warmup).
            let left = b.unary("Relu", b.binary("Sub", w, steps))
            mask = b.unary("Relu", b.binary("Sub", one, left))
            next(steps, b.binary("Sub", w, b.unary("Relu", b.binary("Sub", w, b.binary("Add", steps, one)))))
        }
        /// old + mask·(new − old): the state held during the warm-up.
        func gated(_ old: String, _ new: String) -> String {
            guard let mask else { return new }
            return b.binary("Add", old, b.binary("Mul", mask, b.binary("Sub", new, old)))
        }
        var x = frame
        var isMap = false
        let layers = model.layers
        var i = 0
        while i < layers.count {
            let layer = layers[i]
            b.scope = layer.name
            var consumed = 1
            switch layer {
            case let r as ReshapeLayer where r.kind == .channelAxis:
                // [B, F] → NCHW [B, 1, 1, F]: one channel, one frame.
                let f = b.shape(x)[1]
                x = b.reshape(x, [GraphBuilder.batch, 1, 1, f])
                isMap = true
            case let r as ReshapeLayer where r.kind == .mergeFeatures && isMap:
                // [B, C, 1, F] → [B, F·C] (channels fastest, as the window graph's merge).
                let s = b.shape(x)
                x = b.reshape(b.transpose(x, [0, 2, 3, 1]), [GraphBuilder.batch, s[3] * s[1]])
                isMap = false
            case let c as ConvLayer where isMap:
                var bn: BatchNormLayer?
                if c.activation == .linear, i + 1 < layers.count, let n = layers[i + 1] as? BatchNormLayer {
                    bn = n
                    consumed = 2
                }
                let kh = c.kernelSize.0
                var input = x
                if kh > 1 {
                    let s = b.shape(x)
                    let buffer = state("\(c.name).buffer", [s[1], kh - 1, s[3]])
                    input = b.node(
                        "Concat", [buffer, x], [.int("axis", 2)], shape: [GraphBuilder.batch, s[1], kh, s[3]])
                    next(
                        buffer,
                        b.node(
                            "Slice",
                            [input, b.int64s("starts", [1]), b.int64s("ends", [kh]), b.int64s("axes", [2])],
                            shape: [GraphBuilder.batch, s[1], kh - 1, s[3]]))
                }
                x = window.conv(input, c, foldedBatchNorm: bn)
            case let n as BatchNormLayer:
                let (scale, shift) = StudentGraph.batchNormAffine(n)
                x =
                    window.materialized(
                        .init(name: x, layout: isMap ? .map : .vector, pending: (scale, shift))
                    ).name
            case let a as ActivationLayer:
                if a.activation == .relu { x = b.unary("Relu", x) }
            case let g as GRULayer where !isMap && !g.bidirectional:
                let h = state("\(g.name).h", [g.cell.units])
                let stepped = gruStep(x, h: h, g)
                next(h, gated(h, stepped))
                x = "\(h).next"
            case let l as PeepholeLSTMLayer where !isMap:
                let k = window.peepholeConstants(l)
                let m = state("\(l.name).m", [l.cell.projection]), c = state("\(l.name).c", [l.cell.units])
                let a = b.binary("Add", b.matmul(x, k.inputKernel), k.bias)
                let stepped = window.peepholeStep(a, m: m, c: c, k)
                next(m, gated(m, stepped.m))
                next(c, gated(c, stepped.c))
                x = "\(m).next"
            case is LastStepLayer, is DropoutLayer:
                break
            case let d as DenseLayer where !isMap:
                x = window.dense(.init(name: x, layout: .vector), d).name
            default:
                throw DeployError.export(field: "graph", reason: "layer '\(layer.name)' has no streaming form")
            }
            i += consumed
        }
        b.scope = ""
        guard !isMap, b.shape(x) == [GraphBuilder.batch, model.classes] else {
            throw DeployError.export(field: "graph", reason: "the streaming graph ends in \(b.shape(x)), not logits")
        }
        return x
    }

    /// One step of Keras's GRU (`reset_after`; gates z, r, h): x·K + b_in and h·R + b_rec, z and r from their
    /// sums, h̃ = tanh(x_h + r ⊙ (h·R)_h), h′ = z ⊙ h + (1 − z) ⊙ h̃ — ONNX `GRU` with
    /// `linear_before_reset`, one step.
    func gruStep(_ x: String, h: String, _ g: GRULayer) -> String {
        let u = g.cell.units, inputs = g.cell.inputs
        let biases = g.weights[2].value
        let k = b.floats("\(g.name).kernel", g.weights[0].value, dims: [inputs, 3 * u])
        let r = b.floats("\(g.name).recurrent_kernel", g.weights[1].value, dims: [u, 3 * u])
        let bi = b.floats("\(g.name).input_bias", Array(biases[0..<(3 * u)]), dims: [3 * u])
        let br = b.floats("\(g.name).recurrent_bias", Array(biases[(3 * u)...]), dims: [3 * u])
        let split = b.int64s("split", [u, u, u])
        let shape = [GraphBuilder.batch, u]
        let xs = b.node(
            "Split", [b.binary("Add", b.matmul(x, k), bi), split], [.int("axis", 1)], outputs: [shape, shape, shape])
        let hs = b.node(
            "Split", [b.binary("Add", b.matmul(h, r), br), split], [.int("axis", 1)], outputs: [shape, shape, shape])
        let z = b.unary("Sigmoid", b.binary("Add", xs[0], hs[0]))
        let reset = b.unary("Sigmoid", b.binary("Add", xs[1], hs[1]))
        let candidate = b.unary("Tanh", b.binary("Add", xs[2], b.binary("Mul", reset, hs[2])))
        // z·h + (1 − z)·h̃ = h̃ + z·(h − h̃)
        return b.binary("Add", candidate, b.binary("Mul", z, b.binary("Sub", h, candidate)))
    }
}
