import Foundation
import Numerics

/// Att-RNN / MHAtt-RNN attention pooling over H [B, T, d] (Docs/students.md §8-9): the query comes from the
/// middle step H[T/2] through one Dense(d) per head; keys and values are H; heads are concatenated.
/// Output [B, heads·d]; `weights` keeps the model's own α [B, heads, T] from the last forward.
public final class QueryAttentionLayer: Layer {
    public let name: String
    public let attention: QueryAttention
    public let queryKernel: Parameter, queryBias: Parameter
    public var needsInputGradient = true
    private var input: Tensor?
    private var caches: [QueryAttention.Cache] = []
    /// α of the last forward, [B, heads, T].
    public private(set) var weights: Tensor = Tensor(zeros: [0])
    /// dLoss/dα [B, heads, T] of a loss on the attention weights themselves (distilling the model's own
    /// attention), added in the next `backward` and then cleared.
    public var weightsGradient: Tensor?

    public init(name: String, width: Int, heads: Int) {
        self.name = name
        attention = QueryAttention(width: width, heads: heads)
        queryKernel = Parameter("\(name).query_kernel", shape: [heads, width, width])
        queryBias = Parameter("\(name).query_bias", shape: [heads, width])
    }

    public var parameters: [Parameter] { [queryKernel, queryBias] }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        let b = x.batch, t = x.shape[1], d = attention.width, h = attention.heads
        precondition(x.shape[2] == d, "\(name): expected [B, T, \(d)], got \(x.shape)")
        let att = attention, w = queryKernel.value, qb = queryBias.value, data = x.data
        let ranges = context.chunks(b)
        let caches = try context.parallel.pool.map(ranges.count) { c -> QueryAttention.Cache in
            let r = ranges[c]
            let chunk = Array(data[(r.lowerBound * t * d)..<(r.upperBound * t * d)])
            return att.forward(chunk, batch: r.count, steps: t, queryWeights: w, queryBiases: qb)
        }
        var y = [Float](), alpha = [Float]()
        y.reserveCapacity(b * h * d)
        for c in caches {
            y += c.outputs
            alpha += c.weights
        }
        weights = Tensor(shape: [b, h, t], data: alpha)
        if context.training {
            input = x
            self.caches = caches
        }
        return Tensor(shape: [b, h * d], data: y)
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        guard let x = input else { preconditionFailure("\(name): backward without a training forward") }
        let b = x.batch, t = x.shape[1], d = attention.width, h = attention.heads
        let att = attention, w = queryKernel.value, caches = self.caches, data = x.data, g = dy.data
        let dA = weightsGradient?.data
        weightsGradient = nil
        if let dA {
            precondition(dA.count == b * h * t, "\(name): α gradient of \(dA.count) values; expected \(b * h * t)")
        }
        let nw = queryKernel.count, nb = queryBias.count
        var dx = [Float](repeating: 0, count: b * t * d)
        let sums = try dx.withUnsafeMutableBufferPointer { dxp in
            let dxs = SendablePointer(dxp.baseAddress!)
            return try context.sumOverChunks(b, width: nw + nb) { r, acc in
                let c = r.lowerBound / context.parallel.chunkSize
                let chunk = Array(data[(r.lowerBound * t * d)..<(r.upperBound * t * d)])
                let dOut = Array(g[(r.lowerBound * h * d)..<(r.upperBound * h * d)])
                let dAlpha = dA.map { Array($0[(r.lowerBound * h * t)..<(r.upperBound * h * t)]) }
                att.backward(
                    caches[c], input: chunk, outputGradient: dOut, queryWeights: w, weightGradient: acc.baseAddress!,
                    biasGradient: acc.baseAddress! + nw, inputGradient: dxs[r.lowerBound * t * d],
                    weightsGradient: dAlpha)
            }
        }
        queryKernel.accumulate(sums[0..<nw])
        queryBias.accumulate(sums[nw...])
        return Tensor(shape: x.shape, data: dx)
    }
}
