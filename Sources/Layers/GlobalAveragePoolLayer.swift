import Foundation

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
        for i in 0..<b {
            for p in 0..<positions { for k in 0..<c { dx[(i * positions + p) * c + k] = dy.data[i * c + k] * scale } }
        }
        return Tensor(shape: inputShape, data: dx)
    }
}
