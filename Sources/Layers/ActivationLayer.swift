import Foundation

/// Elementwise ReLU (or identity).
public final class ActivationLayer: Layer {
    public let name: String
    public let activation: Activation
    public var needsInputGradient = true
    private var output: [Float] = []

    public init(name: String, activation: Activation) {
        self.name = name
        self.activation = activation
    }
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
