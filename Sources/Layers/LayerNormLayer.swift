import Foundation

/// PyTorch `nn.LayerNorm` over the last axis (biased variance), weight/bias named `.weight`/`.bias`.
public final class LayerNormLayer: Layer {
    public let name: String
    public let gamma: Parameter, beta: Parameter
    public let epsilon: Float
    public var needsInputGradient = true
    let overTime: Bool
    private var normalized: [Float] = []
    private var inverse: [Float] = []
    private var shape: [Int] = []

    public convenience init(name: String, channels: Int, epsilon: Float = 1e-5) {
        self.init(name: name, channels: channels, epsilon: epsilon, overTime: false)
    }

    init(name: String, channels: Int, epsilon: Float, overTime: Bool) {
        self.name = name
        self.epsilon = epsilon
        self.overTime = overTime
        gamma = Parameter("\(name).weight", shape: [channels], fill: 1)
        beta = Parameter("\(name).bias", shape: [channels])
    }

    public var parameters: [Parameter] { [gamma, beta] }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        precondition(x.shape.last == gamma.count, "\(name): expected \(gamma.count) channels, got \(x.shape)")
        let r = try Normalisation.forward(
            x, gamma: gamma.value, beta: beta.value, epsilon: epsilon, overTime: overTime, context: context)
        if context.training {
            normalized = r.xhat
            inverse = r.inverse
            shape = x.shape
        }
        return Tensor(shape: x.shape, data: r.y)
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        let r = try Normalisation.backward(
            dy, xhat: normalized, inverse: inverse, gamma: gamma.value, overTime: overTime, context: context)
        let c = gamma.count
        gamma.accumulate(r.sums[0..<c])
        beta.accumulate(r.sums[c...])
        return Tensor(shape: shape, data: r.dx)
    }
}
