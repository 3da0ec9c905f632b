import Foundation

/// PyTorch `nn.GroupNorm(C, C)` on [B, T, C]: every channel of every example normalised over time
/// (wav2vec 2.0-base's first feature-extractor layer).
public final class ChannelNormLayer: Layer {
    let norm: LayerNormLayer
    public var name: String { norm.name }
    public var gamma: Parameter { norm.gamma }
    public var beta: Parameter { norm.beta }
    public var needsInputGradient: Bool {
        get { norm.needsInputGradient }
        set { norm.needsInputGradient = newValue }
    }

    public init(name: String, channels: Int, epsilon: Float = 1e-5) {
        norm = LayerNormLayer(name: name, channels: channels, epsilon: epsilon, overTime: true)
    }

    public var parameters: [Parameter] { norm.parameters }
    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor { try norm.forward(x, context) }
    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor { try norm.backward(dy, context) }
}
