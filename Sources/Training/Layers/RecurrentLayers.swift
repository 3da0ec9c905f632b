import Foundation
import Numerics

/// Keras GRU (`reset_after`) over [B, T, F], optionally bidirectional (Keras `Bidirectional`, merge
/// `concat`: the backward GRU reads the reversed sequence and its outputs are re-reversed, so step t is
/// [h_fwd_t ; h_bwd_t]). Always returns the full sequence [B, T, u or 2u]; a `LastStepLayer` after it
/// gives Keras's `return_sequences=False` (STUDENTS.md §4).
public final class GRULayer: Layer {
    public let name: String
    public let cell: GRU
    public let bidirectional: Bool
    /// kernel, recurrent kernel, bias for the forward direction, then the backward one.
    public let weights: [Parameter]
    public var needsInputGradient = true
    private var input: Tensor?
    private var caches: [[GRU.Cache]] = []   // [chunk][direction]

    public init(name: String, inputs: Int, units: Int, bidirectional: Bool) {
        self.name = name
        cell = GRU(inputs: inputs, units: units)
        self.bidirectional = bidirectional
        weights = (bidirectional ? ["forward", "backward"] : ["forward"]).flatMap { d in
            [Parameter("\(name).\(d).kernel", shape: [inputs, 3 * units]),
             Parameter("\(name).\(d).recurrent_kernel", shape: [units, 3 * units]),
             Parameter("\(name).\(d).bias", shape: [2, 3 * units])]
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
                        let cache = cell.forward(chunk, batch: n, steps: t, kernel: w[3 * d], recurrent: w[3 * d + 1],
                                                 bias: w[3 * d + 2], reverse: d == 1)
                        cache.outputs.withUnsafeBufferPointer { o in
                            let out = ys[range.lowerBound * t * width + d * u]
                            for row in 0..<(n * t) { (out + row * width).update(from: o.baseAddress! + row * u, count: u) }
                        }
                        result.append(cache)
                    }
                    return result
                }
            }
        }
        if context.training { input = x; self.caches = caches }
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
                    let xs = SendableConstPointer(xp.baseAddress!), gs = SendableConstPointer(gp.baseAddress!), dxs = SendablePointer(dxp.baseAddress!)
                    return try context.sumOverChunks(b, width: dirs * perDirection) { range, acc in
                        let c = range.lowerBound / context.parallel.chunkSize
                        for d in 0..<dirs {
                            let a = acc.baseAddress! + d * perDirection
                            cell.backward(caches[c][d], input: xs[range.lowerBound * t * f],
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
        for p in weights { p.accumulate(sums[offset..<(offset + p.count)]); offset += p.count }
        return Tensor(shape: x.shape, data: dx)
    }
}

/// TF1 LSTMCell with peepholes and projection (LSTM-P) over [B, T, F]; returns every m_t, [B, T, p].
public final class PeepholeLSTMLayer: Layer {
    public let name: String
    public let cell: PeepholeLSTM
    public let kernel: Parameter, bias: Parameter, peepholes: Parameter, projection: Parameter
    public var needsInputGradient = true
    private var input: Tensor?
    private var caches: [PeepholeLSTM.Cache] = []

    public init(name: String, inputs: Int, units: Int, projection p: Int) {
        self.name = name
        cell = PeepholeLSTM(inputs: inputs, units: units, projection: p)
        kernel = Parameter("\(name).kernel", shape: [inputs + p, 4 * units])
        bias = Parameter("\(name).bias", shape: [4 * units])
        peepholes = Parameter("\(name).peepholes", shape: [3, units])
        projection = Parameter("\(name).projection", shape: [units, p])
    }

    public var parameters: [Parameter] { [kernel, bias, peepholes, projection] }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        let b = x.batch, t = x.shape[1], f = x.shape[2], p = cell.projection
        precondition(f == cell.inputs, "\(name): expected [B, T, \(cell.inputs)], got \(x.shape)")
        let cell = self.cell, w = kernel.value, bv = bias.value, peep = peepholes.value, proj = projection.value
        let ranges = context.chunks(b), data = x.data
        let caches = try context.parallel.pool.map(ranges.count) { c -> PeepholeLSTM.Cache in
            let range = ranges[c]
            let chunk = Array(data[(range.lowerBound * t * f)..<(range.upperBound * t * f)])
            return cell.forward(chunk, batch: range.count, steps: t, kernel: w, bias: bv, peepholes: peep, projectionMatrix: proj)
        }
        var y = [Float]()
        y.reserveCapacity(b * t * p)
        for c in caches { y += c.outputs }
        if context.training { input = x; self.caches = caches }
        return Tensor(shape: [b, t, p], data: y)
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        guard let x = input else { preconditionFailure("\(name): backward without a training forward") }
        let b = x.batch, t = x.shape[1], f = x.shape[2], p = cell.projection
        let cell = self.cell, w = kernel.value, peep = peepholes.value, proj = projection.value, caches = self.caches
        let sizes = [kernel.count, bias.count, peepholes.count, projection.count]
        let data = x.data, g = dy.data
        var dx = [Float](repeating: 0, count: b * t * f)
        let sums = try dx.withUnsafeMutableBufferPointer { dxp in
            let dxs = SendablePointer(dxp.baseAddress!)
            return try context.sumOverChunks(b, width: sizes.reduce(0, +)) { range, acc in
                let c = range.lowerBound / context.parallel.chunkSize
                let chunk = Array(data[(range.lowerBound * t * f)..<(range.upperBound * t * f)])
                let dOut = Array(g[(range.lowerBound * t * p)..<(range.upperBound * t * p)])
                let a = acc.baseAddress!
                cell.backward(caches[c], input: chunk, outputGradient: dOut, kernel: w, peepholes: peep, projectionMatrix: proj,
                              kernelGradient: a, biasGradient: a + sizes[0], peepholeGradient: a + sizes[0] + sizes[1],
                              projectionGradient: a + sizes[0] + sizes[1] + sizes[2], inputGradient: dxs[range.lowerBound * t * f])
            }
        }
        var offset = 0
        for q in parameters { q.accumulate(sums[offset..<(offset + q.count)]); offset += q.count }
        return Tensor(shape: x.shape, data: dx)
    }
}
