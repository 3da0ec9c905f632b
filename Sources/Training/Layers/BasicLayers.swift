import DatasetFormat
import Foundation
import Numerics
import TKDCore

/// Keras BatchNormalization over the last axis (ε 1e-3 by default). Training mode normalises with the
/// batch statistics over every row of the batch (all examples and positions) and updates the moving
/// statistics (unbiased variance); inference mode uses the moving statistics.
public final class BatchNormLayer: Layer {
    public let name: String
    public let gamma: Parameter, beta: Parameter, movingMean: Parameter, movingVariance: Parameter
    public let momentum: Float, epsilon: Float
    public var needsInputGradient = true
    private var cache: BatchNorm.Cache?
    private var shape: [Int] = []

    public init(name: String, channels: Int, momentum: Float = 0.99, epsilon: Float = 1e-3) {
        self.name = name
        self.momentum = momentum
        self.epsilon = epsilon
        gamma = Parameter("\(name).gamma", shape: [channels], fill: 1)
        beta = Parameter("\(name).beta", shape: [channels])
        movingMean = Parameter("\(name).moving_mean", shape: [channels], trainable: false)
        movingVariance = Parameter("\(name).moving_variance", shape: [channels], trainable: false, fill: 1)
    }

    public var parameters: [Parameter] { [gamma, beta, movingMean, movingVariance] }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        let c = gamma.count
        precondition(x.shape.last == c, "\(name): expected \(c) channels, got \(x.shape)")
        let rows = x.data.count / c
        var y = uninitializedFloats(x.data.count)
        if context.training {
            let positions = rows / x.batch
            let chunks = context.chunks(x.batch).map { ($0.lowerBound * positions)..<($0.upperBound * positions) }
            let (g, bt, eps, pool) = (gamma.value, beta.value, epsilon, context.parallel.pool)
            let cache = try x.data.withUnsafeBufferPointer { xp in
                try y.withUnsafeMutableBufferPointer { yp in
                    try BatchNorm.forwardTraining(xp.baseAddress!, rows: rows, channels: c, gamma: g, beta: bt, epsilon: eps,
                                                  output: yp.baseAddress!, chunks: chunks, pool: pool)
                }
            }
            BatchNorm.updateRunning(cache, momentum: momentum, runningMean: &movingMean.value,
                                    runningVariance: &movingVariance.value, channels: c)
            self.cache = cache
            shape = x.shape
        } else {
            x.data.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    BatchNorm.forwardInference(xp.baseAddress!, rows: rows, channels: c, gamma: gamma.value, beta: beta.value,
                                               runningMean: movingMean.value, runningVariance: movingVariance.value,
                                               epsilon: epsilon, output: yp.baseAddress!)
                }
            }
        }
        return Tensor(shape: x.shape, data: y)
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        guard let cache else { preconditionFailure("\(name): backward without a training forward") }
        var dx = uninitializedFloats(dy.data.count)
        let positions = dy.data.count / gamma.count / shape[0]
        let chunks = context.chunks(shape[0]).map { ($0.lowerBound * positions)..<($0.upperBound * positions) }
        try dx.withUnsafeMutableBufferPointer { dxp in
            try dy.data.withUnsafeBufferPointer { gp in
                try BatchNorm.backward(cache, outputGradient: gp.baseAddress!, channels: gamma.count, gamma: gamma.value,
                                       inputGradient: dxp.baseAddress!, gammaGradient: &gamma.gradient, betaGradient: &beta.gradient,
                                       chunks: chunks, pool: context.parallel.pool)
            }
        }
        return Tensor(shape: shape, data: dx)
    }
}

/// Elementwise ReLU (or identity).
public final class ActivationLayer: Layer {
    public let name: String
    public let activation: Activation
    public var needsInputGradient = true
    private var output: [Float] = []

    public init(name: String, activation: Activation) { self.name = name; self.activation = activation }
    public var parameters: [Parameter] { [] }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        var y = x
        activation.apply(&y.data)
        if context.training { output = y.data }
        return y
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        Tensor(shape: dy.shape, data: activation.backward(dy.data, output: output))
    }
}

/// A reshape of the per-example shape (the data do not move): [T, F] → [T, 1, F] or [T, F, 1], and
/// [T, F, C] → [T, F·C].
public final class ReshapeLayer: Layer {
    public enum Kind: Sendable { case coefficientsAsChannels, channelAxis, mergeFeatures, flatten }
    public let name: String
    public let kind: Kind
    public var needsInputGradient = true
    private var inputShape: [Int] = []

    public init(name: String, kind: Kind) { self.name = name; self.kind = kind }
    public var parameters: [Parameter] { [] }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        inputShape = x.shape
        let s = x.shape
        switch kind {
        case .coefficientsAsChannels: return Tensor(shape: [s[0], s[1], 1, s[2]], data: x.data)
        case .channelAxis: return Tensor(shape: [s[0], s[1], s[2], 1], data: x.data)
        case .mergeFeatures: return Tensor(shape: [s[0], s[1], s[2] * s[3]], data: x.data)
        case .flatten: return Tensor(shape: [s[0], x.exampleSize], data: x.data)
        }
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        Tensor(shape: inputShape, data: dy.data)
    }
}

/// Keras Dense: y = act(x W + b) over [B, in] (inputs are flattened per example), W [in, units].
public final class DenseLayer: Layer {
    public let name: String
    public let kernel: Parameter, bias: Parameter
    public let activation: Activation
    public var needsInputGradient = true
    private var input: Tensor?
    private var output: [Float] = []

    public init(name: String, inputs: Int, units: Int, activation: Activation) {
        self.name = name
        self.activation = activation
        kernel = Parameter("\(name).kernel", shape: [inputs, units])
        bias = Parameter("\(name).bias", shape: [units])
    }

    public var parameters: [Parameter] { [kernel, bias] }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        let b = x.batch, n = kernel.shape[0], u = kernel.shape[1]
        precondition(x.exampleSize == n, "\(name): expected \(n) inputs per example, got \(x.shape)")
        var y = [Float](repeating: 0, count: b * u)
        for i in 0..<b { for j in 0..<u { y[i * u + j] = bias.value[j] } }
        y.withUnsafeMutableBufferPointer { yp in
            BLAS.gemm(m: b, n: u, k: n, a: x.data, lda: n, b: kernel.value, ldb: u, beta: 1, c: yp.baseAddress!, ldc: u)
        }
        activation.apply(&y)
        if context.training { input = x; output = y }
        return Tensor(shape: [b, u], data: y)
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        guard let x = input else { preconditionFailure("\(name): backward without a training forward") }
        let b = x.batch, n = kernel.shape[0], u = kernel.shape[1]
        let g = activation.backward(dy.data, output: output)
        BLAS.gemm(transA: true, m: n, n: u, k: b, a: x.data, lda: n, b: g, ldb: u, beta: 1, c: &kernel.gradient, ldc: u)
        for i in 0..<b { for j in 0..<u { bias.gradient[j] += g[i * u + j] } }
        guard needsInputGradient else { return Tensor(zeros: [0]) }
        var dx = [Float](repeating: 0, count: b * n)
        BLAS.gemm(transB: true, m: b, n: n, k: u, a: g, lda: u, b: kernel.value, ldb: u, c: &dx, ldc: n)
        return Tensor(shape: x.shape, data: dx)
    }
}

/// Inverted dropout: in training, each value is zeroed with probability `rate` and the survivors are
/// scaled by 1/(1 − rate). The mask is keyed by (seed, step, layer name), so it does not depend on
/// `--jobs` or the chunking.
public final class DropoutLayer: Layer {
    public let name: String
    public let rate: Float
    public var needsInputGradient = true
    private var mask: [Float] = []

    public init(name: String, rate: Float) { self.name = name; self.rate = rate }
    public var parameters: [Parameter] { [] }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        guard context.training && context.dropout && rate > 0 else { mask = []; return x }
        var rng = CounterRNG(seed: context.seed, key: ["dropout", name, String(context.step)])
        let keep = 1 / (1 - rate)
        mask = (0..<x.data.count).map { _ in rng.uniform() < Double(rate) ? 0 : keep }
        var y = x
        for i in y.data.indices { y.data[i] *= mask[i] }
        return y
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        guard !mask.isEmpty else { return dy }
        var dx = dy
        for i in dx.data.indices { dx.data[i] *= mask[i] }
        return dx
    }
}

/// Mean over every axis but the batch and the channels: [B, T, F, C] → [B, C], [B, T, F] → [B, F].
public final class GlobalAveragePoolLayer: Layer {
    public let name: String
    public var needsInputGradient = true
    private var inputShape: [Int] = []

    public init(name: String) { self.name = name }
    public var parameters: [Parameter] { [] }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        inputShape = x.shape
        let b = x.batch, c = x.shape.last!, positions = x.exampleSize / c
        var y = [Float](repeating: 0, count: b * c)
        for i in 0..<b {
            for p in 0..<positions { for k in 0..<c { y[i * c + k] += x.data[(i * positions + p) * c + k] } }
            for k in 0..<c { y[i * c + k] /= Float(positions) }
        }
        return Tensor(shape: [b, c], data: y)
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        let b = inputShape[0], c = inputShape.last!, positions = inputShape.dropFirst().reduce(1, *) / c
        var dx = [Float](repeating: 0, count: b * positions * c)
        let scale = 1 / Float(positions)
        for i in 0..<b { for p in 0..<positions { for k in 0..<c { dx[(i * positions + p) * c + k] = dy.data[i * c + k] * scale } } }
        return Tensor(shape: inputShape, data: dx)
    }
}

/// [B, T, D] → [B, D]: the last time step (LSTM-P and CRNN classify from it).
public final class LastStepLayer: Layer {
    public let name: String
    public var needsInputGradient = true
    private var inputShape: [Int] = []

    public init(name: String) { self.name = name }
    public var parameters: [Parameter] { [] }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        inputShape = x.shape
        let b = x.batch, t = x.shape[1], d = x.shape[2]
        var y = [Float](repeating: 0, count: b * d)
        for i in 0..<b { for k in 0..<d { y[i * d + k] = x.data[(i * t + t - 1) * d + k] } }
        return Tensor(shape: [b, d], data: y)
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        let b = inputShape[0], t = inputShape[1], d = inputShape[2]
        var dx = [Float](repeating: 0, count: b * t * d)
        for i in 0..<b { for k in 0..<d { dx[(i * t + t - 1) * d + k] = dy.data[i * d + k] } }
        return Tensor(shape: inputShape, data: dx)
    }
}
