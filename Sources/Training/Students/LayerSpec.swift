import Foundation
import Layers
import Numerics

/// One layer of a student, as a declarative description: enough to infer shapes and count parameters
/// (`tkd model summary`), and to build the runtime layer from (the trainer's job).
///
/// Per-example shapes, without the batch axis: sequences are [T, F]; 2-D maps are [T, F, C] with time
/// first (Docs/students.md §4).
public enum LayerSpec: Sendable {
    /// Keras Conv2D over [T, F, C] with bias; `kernel`/`stride`/`dilation` are (time, frequency).
    case conv2d(
        filters: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1), dilation: (Int, Int) = (1, 1),
        padding: Numerics.Padding, activation: Activation)
    case batchNorm(momentum: Float = 0.99, epsilon: Float = 1e-3)
    case activation(Activation)
    /// Reshape [T, F] → [T, 1, F] (TC-ResNet: coefficients become channels) or [T, F] → [T, F, 1].
    case expandAxis(AxisExpansion)
    /// [T, F, C] → [T, F·C].
    case mergeFeatures
    /// Keras GRU (`reset_after`); `bidirectional` concatenates forward and backward outputs.
    case gru(units: Int, bidirectional: Bool, returnSequences: Bool)
    /// TF1 LSTMCell with peepholes and projection; `returnSequences` false keeps the last step.
    case peepholeLSTM(units: Int, projection: Int, returnSequences: Bool)
    /// Query from the middle step, one Dense(d) per head, concatenated heads (Att-RNN: 1 head).
    case queryAttention(heads: Int)
    /// Average over every position but the channels: [T, F, C] → [C], [T, F] → [F].
    case globalAveragePool
    case dropout(rate: Float)
    case dense(units: Int, activation: Activation)
    /// TC-ResNet block: conv(k×1, s) → BN → ReLU → conv(k×1) → BN, plus the shortcut (identity, or
    /// conv 1×1 stride s → BN → ReLU when the channels change), then ReLU.
    case residualBlock(filters: Int, kernel: Int, stride: Int, momentum: Float)

    public enum AxisExpansion: String, Sendable, Equatable { case coefficientsAsChannels, channelAxis }
}

extension LayerSpec: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .conv2d(f, k, s, d, p, a):
            return "conv \(k.0)×\(k.1), \(f) filters" + (s == (1, 1) ? "" : ", stride \(s.0)×\(s.1)")
                + (d == (1, 1) ? "" : ", dilation \(d.0)×\(d.1)") + ", \(p.rawValue), \(a.rawValue)"
        case let .batchNorm(m, e): return "batch norm (momentum \(m), ε \(e))"
        case let .activation(a): return a.rawValue
        case let .expandAxis(e): return e == .coefficientsAsChannels ? "reshape [T, 1, F]" : "reshape [T, F, 1]"
        case .mergeFeatures: return "reshape [T, F·C]"
        case let .gru(u, bi, seq):
            return (bi ? "bidirectional GRU" : "GRU") + " \(u)" + (seq ? ", sequence" : ", last step")
        case let .peepholeLSTM(u, p, seq):
            return "LSTM \(u), peepholes, projection \(p)" + (seq ? ", sequence" : ", last step")
        case let .queryAttention(h):
            return h == 1 ? "attention (middle-step query)" : "\(h)-head attention (middle-step queries)"
        case .globalAveragePool: return "global average pool"
        case let .dropout(r): return "dropout \(r)"
        case let .dense(u, a): return "dense \(u), \(a.rawValue)"
        case let .residualBlock(f, k, s, _):
            return "residual block \(f), kernel \(k)×1" + (s == 1 ? "" : ", stride \(s)")
        }
    }
}

extension LayerSpec {
    /// Output shape and (trainable, non-trainable) parameter counts for a per-example input shape.
    public func infer(_ input: [Int]) -> (shape: [Int], trainable: Int, nonTrainable: Int) {
        switch self {
        case let .conv2d(filters, k, s, d, padding, _):
            let (t, f, c) = (input[0], input[1], input[2])
            let rows = ConvAxis(input: t, kernel: k.0, stride: s.0, dilation: d.0, padding: padding)
            let cols = ConvAxis(input: f, kernel: k.1, stride: s.1, dilation: d.1, padding: padding)
            return ([rows.output, cols.output, filters], k.0 * k.1 * c * filters + filters, 0)
        case .batchNorm:
            let c = input.last!
            return (input, 2 * c, 2 * c)
        case .activation, .dropout:
            return (input, 0, 0)
        case let .expandAxis(e):
            return (e == .coefficientsAsChannels ? [input[0], 1, input[1]] : [input[0], input[1], 1], 0, 0)
        case .mergeFeatures:
            return ([input[0], input[1] * input[2]], 0, 0)
        case let .gru(units, bi, seq):
            let one = GRU(inputs: input[1], units: units).parameterCount
            let width = bi ? 2 * units : units
            return (seq ? [input[0], width] : [width], bi ? 2 * one : one, 0)
        case let .peepholeLSTM(units, projection, seq):
            return (
                seq ? [input[0], projection] : [projection],
                PeepholeLSTM(inputs: input[1], units: units, projection: projection).parameterCount, 0
            )
        case let .queryAttention(heads):
            let d = input[1]
            return ([heads * d], QueryAttention(width: d, heads: heads).parameterCount, 0)
        case .globalAveragePool:
            return ([input.last!], 0, 0)
        case let .dense(units, _):
            let inputs = input.reduce(1, *)
            return ([units], inputs * units + units, 0)
        case let .residualBlock(filters, kernel, stride, _):
            let (t, c) = (input[0], input[2])
            let out = ConvAxis(input: t, kernel: kernel, stride: stride, padding: .same).output
            var trainable =
                (kernel * c * filters + filters) + 2 * filters + (kernel * filters * filters + filters) + 2 * filters
            var fixed = 4 * filters
            if c != filters {
                trainable += c * filters + filters + 2 * filters
                fixed += 2 * filters
            }
            return ([out, 1, filters], trainable, fixed)
        }
    }
}
