import Foundation
import TKDCore

/// Inverted dropout: in training, each value is zeroed with probability `rate` and the survivors are
/// scaled by 1/(1 − rate). The mask is keyed by (seed, step, layer name), so it does not depend on
/// `--jobs` or the chunking.
public final class DropoutLayer: Layer {
    public let name: String
    public let rate: Float
    public var needsInputGradient = true
    private var mask: [Float] = []

    public init(name: String, rate: Float) {
        self.name = name
        self.rate = rate
    }
    public var parameters: [Parameter] { [] }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        guard context.training && context.dropout && rate > 0 else {
            mask = []
            return x
        }
        var rng = CounterRNG(seed: context.seed, key: ["dropout", name, String(context.step)])
        let keep = 1 / (1 - rate)
        mask = rng.dropoutMask(count: x.data.count, rate: Double(rate), keep: keep)
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
