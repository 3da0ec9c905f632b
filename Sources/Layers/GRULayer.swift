import Foundation
import Numerics

/// Keras GRU (`reset_after`) over [B, T, F], optionally bidirectional (Keras `Bidirectional`, merge
/// `concat`: the backward GRU reads the reversed sequence and its outputs are re-reversed, so step t is
/// [h_fwd_t ; h_bwd_t]). Always returns the full sequence [B, T, u or 2u]; a `LastStepLayer` after it
/// gives Keras's `return_sequences=False` (Docs/students.md §4).
public final class GRULayer: Layer {
    public let name: String
    public let cell: GRU
    public let bidirectional: Bool
    /// kernel, recurrent kernel, bias for the forward direction, then the backward one.
    public let weights: [Parameter]
    public var needsInputGradient = true
    private var input: Tensor?
    private var caches: [[GRU.Cache]] = []  // [chunk][direction]

    public init(name: String, inputs: Int, units: Int, bidirectional: Bool) {
        self.name = name
        cell = GRU(inputs: inputs, units: units)
        self.bidirectional = bidirectional
        weights = (bidirectional ? ["forward", "backward"] : ["forward"]).flatMap { d in
            [
                Parameter("\(name).\(d).kernel", shape: [inputs, 3 * units]),
                Parameter("\(name).\(d).recurrent_kernel", shape: [units, 3 * units]),
                Parameter("\(name).\(d).bias", shape: [2, 3 * units]),
            ]
        }
    }

    public var parameters: [Parameter] { weights }
    var directions: Int { bidirectional ? 2 : 1 }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        let b = x.batch, t = x.shape[1], f = x.shape[2], u = cell.units, width = directions * u
        precondition(f == cell.inputs, "\(name): expected [B, T, \(cell.inputs)], got \(x.shape)")
        let cell = self.cell, dirs = directions
        let w = weights.map(\.value)
        let ranges = context.chunks(b)
        var y = uninitializedFloats(b * t * width)
        let caches = try x.data.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in
                let xs = SendableConstPointer(xp.baseAddress!), ys = SendablePointer(yp.baseAddress!)
                return try context.parallel.pool.map(ranges.count) { c -> [GRU.Cache] in
                    let range = ranges[c], n = range.count
                    let chunk = xs[range.lowerBound * t * f]
                    var result: [GRU.Cache] = []
                    for d in 0..<dirs {
                        let cache = cell.forward(
                            chunk, batch: n, steps: t, kernel: w[3 * d], recurrent: w[3 * d + 1],
                            bias: w[3 * d + 2], reverse: d == 1)
                        cache.outputs.withUnsafeBufferPointer { o in
                            let out = ys[range.lowerBound * t * width + d * u]
                            for row in 0..<(n * t) {
                                (out + row * width).update(from: o.baseAddress! + row * u, count: u)
                            }
                        }
                        result.append(cache)
                    }
                    return result
                }
            }
        }
        if context.training {
            input = x
            self.caches = caches
        }
        return Tensor(shape: [b, t, width], data: y)
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        guard let x = input else { preconditionFailure("\(name): backward without a training forward") }
        let b = x.batch, t = x.shape[1], f = x.shape[2], u = cell.units, width = directions * u
        let cell = self.cell, dirs = directions, caches = self.caches
        let w = weights.map(\.value)
        let sizes = weights.map(\.count)
        let perDirection = sizes[0] + sizes[1] + sizes[2]
        var dx = uninitializedFloats(b * t * f)
        let sums = try x.data.withUnsafeBufferPointer { xp in
            try dy.data.withUnsafeBufferPointer { gp in
                try dx.withUnsafeMutableBufferPointer { dxp in
                    let xs = SendableConstPointer(xp.baseAddress!), gs = SendableConstPointer(gp.baseAddress!),
                        dxs = SendablePointer(dxp.baseAddress!)
                    return try context.sumOverChunks(b, width: dirs * perDirection) { range, acc in
                        let c = range.lowerBound / context.parallel.chunkSize
                        for d in 0..<dirs {
                            let a = acc.baseAddress! + d * perDirection
                            cell.backward(
                                caches[c][d], input: xs[range.lowerBound * t * f],
                                outputGradient: gs[range.lowerBound * t * width + d * u], outputStride: width,
                                kernel: w[3 * d], recurrent: w[3 * d + 1], kernelGradient: a,
                                recurrentGradient: a + sizes[0], biasGradient: a + sizes[0] + sizes[1],
                                inputGradient: dxs[range.lowerBound * t * f], accumulateInput: d > 0, reverse: d == 1)
                        }
                    }
                }
            }
        }
        var offset = 0
        for p in weights {
            p.accumulate(sums[offset..<(offset + p.count)])
            offset += p.count
        }
        return Tensor(shape: x.shape, data: dx)
    }
}
