import Foundation
import Layers
import Numerics
import TKDCore
import TrainingLoop

/// A student built from its layer list (`Student.layers`) as runtime layers, with the training-only
/// attention-distillation query. Parameter names are `l{i}.…` after the layer's index in the list
/// (`kd.query` for the head); they are the checkpoint keys.
public final class StudentModel: TrainableModel {
    public let student: Student
    public let classes: Int
    public let featureCount: Int
    public let layers: [Layer]
    /// Index into `layers` of the layer whose output is the context representation c′ (Docs/students.md §11).
    public let contextLayer: Int
    /// Width d of c′.
    public let contextWidth: Int
    /// The training-only KD query q [d] (`kd.query`): never used by inference or evaluation.
    public let kdQuery: Parameter

    /// - Parameter batchNormMomentum: overrides every batch norm's moving-average momentum (the students'
    ///   0.99 / 0.997 need tens of thousands of steps to settle; short schedules want a smaller one).
    public init(student: Student, classes: Int, batchNormMomentum: Float? = nil) {
        self.student = student
        self.classes = classes
        featureCount = student.featureCount
        var layers: [Layer] = []
        var shape = [49, student.featureCount]
        var context = -1
        let contextSpec: Int
        switch student {
        case .lstmP: contextSpec = 0
        case .tcResNet: contextSpec = 9
        case .crnn: contextSpec = 4
        case .attRNN, .mhAttRNN: contextSpec = 7
        }
        for (i, spec) in student.layers(classes: classes).enumerated() {
            let name = "l\(i)"
            let next = spec.infer(shape).shape
            switch spec {
            case let .conv2d(filters, k, s, d, padding, act):
                layers.append(
                    ConvLayer(
                        name: name, inChannels: shape[2], filters: filters, kernel: k, stride: s, dilation: d,
                        padding: padding, activation: act))
            case let .batchNorm(momentum, epsilon):
                layers.append(
                    BatchNormLayer(
                        name: name, channels: shape.last!, momentum: batchNormMomentum ?? momentum, epsilon: epsilon))
            case let .activation(a):
                layers.append(ActivationLayer(name: name, activation: a))
            case let .expandAxis(e):
                layers.append(
                    ReshapeLayer(
                        name: name, kind: e == .coefficientsAsChannels ? .coefficientsAsChannels : .channelAxis))
            case .mergeFeatures:
                layers.append(ReshapeLayer(name: name, kind: .mergeFeatures))
            case let .gru(units, bi, seq):
                layers.append(GRULayer(name: name, inputs: shape[1], units: units, bidirectional: bi))
                if i == contextSpec { context = layers.count - 1 }
                if !seq { layers.append(LastStepLayer(name: "\(name).last")) }
            case let .peepholeLSTM(units, projection, seq):
                layers.append(PeepholeLSTMLayer(name: name, inputs: shape[1], units: units, projection: projection))
                if i == contextSpec { context = layers.count - 1 }
                if !seq { layers.append(LastStepLayer(name: "\(name).last")) }
            case let .queryAttention(heads):
                layers.append(QueryAttentionLayer(name: name, width: shape[1], heads: heads))
            case .globalAveragePool:
                layers.append(GlobalAveragePoolLayer(name: name))
            case let .dropout(rate):
                layers.append(DropoutLayer(name: name, rate: rate))
            case let .dense(units, act):
                layers.append(DenseLayer(name: name, inputs: shape.reduce(1, *), units: units, activation: act))
            case let .residualBlock(filters, kernel, stride, momentum):
                layers.append(
                    ResidualBlockLayer(
                        name: name, inChannels: shape[2], filters: filters, kernel: kernel,
                        stride: stride, momentum: batchNormMomentum ?? momentum))
            }
            if i == contextSpec && context < 0 { context = layers.count - 1 }
            shape = next
        }
        layers[0].needsInputGradient = false
        self.layers = layers
        contextLayer = context
        contextWidth = student.contextWidth
        kdQuery = Parameter("kd.query", shape: [student.contextWidth])
    }

    /// The inference model's tensors (weights and batch-norm statistics), in checkpoint order.
    public var parameters: [Parameter] { layers.flatMap(\.parameters) }
    /// Everything training updates: the model's trainable weights and the KD query.
    public var trainableParameters: [Parameter] { parameters.filter(\.trainable) + [kdQuery] }
    /// Everything a training state holds: the inference model's tensors and the KD query.
    public var stateParameters: [Parameter] { parameters + [kdQuery] }
    public var distillationQuery: Parameter? { kdQuery }

    /// Runs the model on MFCC features [B, T, F].
    public func forward(_ x: Tensor, _ run: RunContext) throws -> ModelOutput {
        precondition(
            x.shape.count == 3 && x.shape[2] == featureCount,
            "\(student.rawValue) reads [B, T, \(featureCount)] features, got \(x.shape)")
        var y = x
        var context = Tensor(zeros: [0])
        for (i, layer) in layers.enumerated() {
            y = try layer.forward(y, run)
            if i == contextLayer {
                context = Tensor(shape: [y.batch, y.shape[1], contextWidth], data: y.data)
            }
        }
        let attention = layers.compactMap { $0 as? QueryAttentionLayer }.first?.weights
        return ModelOutput(logits: y, context: context, attention: attention)
    }

    /// The training-only head's attention a_S = softmax_t(c′_t · q / τ) over the context steps,
    /// [B, T′] row-major, for features [B, T, F] (inference mode; what distillation pulls towards the
    /// teacher's a_T).
    public func distilledAttention(_ x: Tensor, temperature: Float, own: Bool = false) throws -> [Float] {
        let out = try forward(x, RunContext(mode: .inference))
        // The model's own α averaged over heads (`kd.head: own`).
        if own, let a = out.attention { return Objective.meanOverHeads(a) }
        guard let c = out.context else { return [] }
        let t = c.shape[1], d = c.shape[2]
        return TemporalAttentionKD.studentAttention(
            context: c.data, batch: c.batch, steps: t, width: d, query: kdQuery.value,
            temperature: temperature)
    }

    /// Backpropagates dLoss/dLogits and (when distilling) dLoss/dc′ into the parameter gradients.
    public func backward(
        logitGradient: Tensor, contextGradient: Tensor?, attentionGradient: Tensor? = nil, _ run: RunContext
    ) throws {
        if let attentionGradient {
            guard let layer = layers.compactMap({ $0 as? QueryAttentionLayer }).first else {
                preconditionFailure("\(student.rawValue) has no attention of its own to distil")
            }
            layer.weightsGradient = attentionGradient
        }
        var g = logitGradient
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            if i == contextLayer, let dc = contextGradient {
                precondition(
                    dc.data.count == g.data.count, "context gradient does not match the context layer's output")
                for k in g.data.indices { g.data[k] += dc.data[k] }
            }
            g = try layers[i].backward(g, run)
        }
    }

    /// Keras's default initialisers, drawn from counter-based streams keyed by (seed, parameter name):
    /// Glorot-uniform kernels (TF1's default for the LSTM's kernel, peepholes and projection too),
    /// orthogonal GRU recurrent kernels, zero biases, γ = 1, β = 0, moving mean 0 and variance 1; the KD
    /// query uniform in ±sqrt(3/d).
    public func initialize(seed: UInt64) {
        for p in parameters + [kdQuery] {
            var rng = CounterRNG(seed: seed, key: ["init", p.name])
            let leaf = p.name.split(separator: ".").last.map(String.init) ?? p.name
            switch leaf {
            case "bias", "query_bias", "beta", "moving_mean":
                p.value = [Float](repeating: 0, count: p.count)
            case "gamma", "moving_variance":
                p.value = [Float](repeating: 1, count: p.count)
            case "recurrent_kernel":
                p.value = orthogonalRows(rows: p.shape[0], columns: p.shape[1], rng: &rng)
            case "query":
                let limit = (3.0 / Double(p.count)).squareRoot()
                p.value = (0..<p.count).map { _ in Float(rng.uniform(-limit, limit)) }
            default:
                let (fanIn, fanOut) = fans(p.shape)
                let limit = (6.0 / Double(fanIn + fanOut)).squareRoot()
                p.value = (0..<p.count).map { _ in Float(rng.uniform(-limit, limit)) }
            }
        }
    }
}

extension Student {
    /// Width d of the context representation c′ (Docs/students.md §11).
    public var contextWidth: Int {
        switch self {
        case .lstmP: return 200
        case .tcResNet: return 72
        case .crnn, .attRNN, .mhAttRNN: return 256
        }
    }
}

/// Keras's fan-in / fan-out: the last axis is the output; leading axes of a conv kernel are its receptive field.
func fans(_ shape: [Int]) -> (Int, Int) {
    switch shape.count {
    case 0: return (1, 1)
    case 1: return (shape[0], shape[0])
    case 2: return (shape[0], shape[1])
    default:
        let field = shape.dropLast(2).reduce(1, *)
        return (field * shape[shape.count - 2], field * shape[shape.count - 1])
    }
}

/// A rows × columns matrix (rows ≤ columns) with orthonormal rows: modified Gram–Schmidt on normal draws.
func orthogonalRows(rows: Int, columns: Int, rng: inout CounterRNG) -> [Float] {
    var m = (0..<(rows * columns)).map { _ in rng.normal() }
    for r in 0..<rows {
        for q in 0..<r {
            var dot = 0.0
            for c in 0..<columns { dot += m[r * columns + c] * m[q * columns + c] }
            for c in 0..<columns { m[r * columns + c] -= dot * m[q * columns + c] }
        }
        var norm = 0.0
        for c in 0..<columns { norm += m[r * columns + c] * m[r * columns + c] }
        norm = norm.squareRoot()
        for c in 0..<columns { m[r * columns + c] /= norm }
    }
    return m.map { Float($0) }
}
