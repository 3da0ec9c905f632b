import Foundation
import Numerics

/// GELU x·Φ(x) (the exact, erf form that `nn.GELU()` and Hugging Face's "gelu" use).
public final class GELULayer: Layer {
    public let name: String
    public var needsInputGradient = true
    private var input: [Float] = []

    public init(name: String) { self.name = name }
    public var parameters: [Parameter] { [] }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        var y = x
        let per = x.exampleSize
        try y.data.withUnsafeMutableBufferPointer { yp in
            let ys = SendablePointer(yp.baseAddress!)
            try context.forEachChunk(x.batch) { _, r in Vector.gelu(ys[r.lowerBound * per], count: r.count * per) }
        }
        if context.training { input = x.data }
        return y
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        var dx = dy
        let per = dy.exampleSize
        try dx.data.withUnsafeMutableBufferPointer { gp in
            try input.withUnsafeBufferPointer { xp in
                let (gs, xs) = (SendablePointer(gp.baseAddress!), SendableConstPointer(xp.baseAddress!))
                try context.forEachChunk(dy.batch) { _, r in
                    Vector.geluBackward(gs[r.lowerBound * per], input: xs[r.lowerBound * per], count: r.count * per)
                }
            }
        }
        return dx
    }
}
