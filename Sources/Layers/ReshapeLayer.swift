import Foundation

/// A reshape of the per-example shape (the data do not move): [T, F] → [T, 1, F] or [T, F, 1], and
/// [T, F, C] → [T, F·C].
public final class ReshapeLayer: Layer {
    public enum Kind: Sendable { case coefficientsAsChannels, channelAxis, mergeFeatures, flatten }
    public let name: String
    public let kind: Kind
    public var needsInputGradient = true
    private var inputShape: [Int] = []

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }
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
