import Foundation
import Numerics

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
                    try BatchNorm.forwardTraining(
                        xp.baseAddress!, rows: rows, channels: c, gamma: g, beta: bt, epsilon: eps,
                        output: yp.baseAddress!, chunks: chunks, pool: pool)
                }
            }
            BatchNorm.updateRunning(
                cache, momentum: momentum, runningMean: &movingMean.value,
                runningVariance: &movingVariance.value, channels: c)
            self.cache = cache
            shape = x.shape
        } else {
            x.data.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    BatchNorm.forwardInference(
                        xp.baseAddress!, rows: rows, channels: c, gamma: gamma.value, beta: beta.value,
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
                try BatchNorm.backward(
                    cache, outputGradient: gp.baseAddress!, channels: gamma.count, gamma: gamma.value,
                    inputGradient: dxp.baseAddress!, gammaGradient: &gamma.gradient, betaGradient: &beta.gradient,
                    chunks: chunks, pool: context.parallel.pool)
            }
        }
        return Tensor(shape: shape, data: dx)
    }
}
