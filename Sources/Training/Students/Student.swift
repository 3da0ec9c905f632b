import Foundation
import TKDCore

/// The five kws_streaming students of the paper (Docs/students.md §5-9), as layer lists.
public enum Student: String, Sendable, CaseIterable, Codable, ChoiceOption {
    case lstmP = "lstm-p"
    case tcResNet = "tc-resnet"
    case crnn
    case attRNN = "att-rnn"
    case mhAttRNN = "mhatt-rnn"

    /// MFCC coefficients the student reads (its front-end preset).
    public var featureCount: Int { self == .tcResNet ? 40 : 20 }

    /// The front-end preset of the paper runs (Docs/students.md §1.1: 7600 Hz upper mel edge, 8000 Hz for MHAtt-RNN).
    public var preset: String {
        switch self {
        case .tcResNet: return "kws-streaming-mfcc40"
        case .mhAttRNN: return "kws-streaming-mfcc20-8000hz"
        default: return "kws-streaming-mfcc20"
        }
    }

    /// The layer whose output is the context representation c′ for attention distillation (Docs/students.md §11).
    public var contextLayerName: String {
        switch self {
        case .lstmP: return "LSTM projected outputs m_t [T′, 200]"
        case .tcResNet: return "last residual block output [T′, 72]"
        case .crnn: return "GRU hidden states [T′, 256]"
        case .attRNN, .mhAttRNN: return "second bidirectional GRU output H [T′, 256]"
        }
    }

    public func layers(classes: Int) -> [LayerSpec] {
        switch self {
        case .lstmP:
            return [
                .peepholeLSTM(units: 500, projection: 200, returnSequences: false), .dropout(rate: 0.3),
                .dense(units: classes, activation: .linear),
            ]
        case .tcResNet:
            var l: [LayerSpec] = [
                .expandAxis(.coefficientsAsChannels),
                .conv2d(filters: 50, kernel: (3, 1), padding: .same, activation: .linear),
                .batchNorm(momentum: 0.997), .activation(.relu),
            ]
            l += Array(repeating: .residualBlock(filters: 50, kernel: 9, stride: 1, momentum: 0.997), count: 4)
            l += [
                .residualBlock(filters: 72, kernel: 9, stride: 2, momentum: 0.997),
                .residualBlock(filters: 72, kernel: 9, stride: 1, momentum: 0.997),
                .globalAveragePool, .dropout(rate: 0.2), .dense(units: classes, activation: .linear),
            ]
            return l
        case .crnn:
            return [
                .expandAxis(.channelAxis),
                .conv2d(filters: 16, kernel: (3, 3), padding: .valid, activation: .relu),
                .conv2d(filters: 16, kernel: (5, 3), padding: .valid, activation: .relu),
                .mergeFeatures,
                .gru(units: 256, bidirectional: false, returnSequences: false),
                .dropout(rate: 0.1),
                .dense(units: 128, activation: .linear), .dense(units: 256, activation: .relu),
                .dense(units: classes, activation: .linear),
            ]
        case .attRNN, .mhAttRNN:
            let heads = self == .attRNN ? 1 : 4
            return [
                .expandAxis(.channelAxis),
                .conv2d(filters: 10, kernel: (5, 1), padding: .same, activation: .relu), .batchNorm(),
                .conv2d(filters: 1, kernel: (5, 1), padding: .same, activation: .relu), .batchNorm(),
                .mergeFeatures,
                .gru(units: 128, bidirectional: true, returnSequences: true),
                .gru(units: 128, bidirectional: true, returnSequences: true),
                .queryAttention(heads: heads),
                .dropout(rate: self == .attRNN ? 0.1 : 0.2),
                .dense(units: 64, activation: .relu), .dense(units: 32, activation: .linear),
                .dense(units: classes, activation: .linear),
            ]
        }
    }

    /// One row of `tkd model summary`.
    public struct SummaryRow: Sendable {
        public let layer: String
        public let shape: [Int]
        public let trainable: Int
        public let nonTrainable: Int
    }

    /// Layers with output shapes and parameter counts for `frames` input frames.
    public func summary(classes: Int, frames: Int) -> [SummaryRow] {
        var shape = [frames, featureCount]
        var rows = [SummaryRow(layer: "MFCC input (\(preset))", shape: shape, trainable: 0, nonTrainable: 0)]
        for layer in layers(classes: classes) {
            let r = layer.infer(shape)
            shape = r.shape
            rows.append(
                SummaryRow(
                    layer: layer.description, shape: r.shape, trainable: r.trainable, nonTrainable: r.nonTrainable))
        }
        return rows
    }

    public func trainableParameters(classes: Int) -> Int {
        summary(classes: classes, frames: 49).reduce(0) { $0 + $1.trainable }
    }
}
