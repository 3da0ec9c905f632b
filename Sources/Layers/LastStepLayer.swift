import Foundation

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
