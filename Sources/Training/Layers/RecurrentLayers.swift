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
        let data = x.data
        let caches = try context.parallel.pool.map(ranges.count) { c -> [GRU.Cache] in
            let range = ranges[c], n = range.count
            let chunk = Array(data[(range.lowerBound * t * f)..<(range.upperBound * t * f)])
            var result = [cell.forward(chunk, batch: n, steps: t, kernel: w[0], recurrent: w[1], bias: w[2])]
            if dirs == 2 {
                let reversed = reverseTime(chunk, batch: n, steps: t, width: f)
                result.append(cell.forward(reversed, batch: n, steps: t, kernel: w[3], recurrent: w[4], bias: w[5]))
            }
            return result
        }
        var y = [Float](repeating: 0, count: b * t * width)
        for (c, range) in ranges.enumerated() {
            for (k, e) in range.enumerated() {
                for s in 0..<t {
                    let out = (e * t + s) * width
                    for j in 0..<u { y[out + j] = caches[c][0].outputs[(k * t + s) * u + j] }
                    if dirs == 2 {
                        for j in 0..<u { y[out + u + j] = caches[c][1].outputs[(k * t + t - 1 - s) * u + j] }
                    }
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
        let ranges = context.chunks(b)
        let data = x.data, g = dy.data
        var dx = [Float](repeating: 0, count: b * t * f)
        let sums = try dx.withUnsafeMutableBufferPointer { dxp in
            let dxs = SharedBuffer(dxp.baseAddress!)
            return try context.sumOverChunks(b, width: dirs * perDirection) { range, acc in
                let c = range.lowerBound / context.parallel.chunkSize, n = range.count
                let chunk = Array(data[(range.lowerBound * t * f)..<(range.upperBound * t * f)])
                for d in 0..<dirs {
                    // This direction's output gradient, in its own time order.
                    var dOut = [Float](repeating: 0, count: n * t * u)
                    for k in 0..<n {
                        for s in 0..<t {
                            let src = ((range.lowerBound + k) * t + (d == 0 ? s : t - 1 - s)) * width + d * u
                            for j in 0..<u { dOut[(k * t + s) * u + j] = g[src + j] }
                        }
                    }
                    let input = d == 0 ? chunk : reverseTime(chunk, batch: n, steps: t, width: f)
                    var dIn = [Float](repeating: 0, count: n * t * f)
                    let a = acc.baseAddress! + d * perDirection
                    cell.backward(caches[c][d], input: input, outputGradient: dOut, kernel: w[3 * d], recurrent: w[3 * d + 1],
                                  kernelGradient: a, recurrentGradient: a + sizes[0], biasGradient: a + sizes[0] + sizes[1],
                                  inputGradient: &dIn)
                    let out = dxs[range.lowerBound * t * f]
                    for k in 0..<n {
                        for s in 0..<t {
                            let from = (k * t + (d == 0 ? s : t - 1 - s)) * f, to = (k * t + s) * f
                            for j in 0..<f { out[to + j] += dIn[from + j] }
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
            let dxs = SharedBuffer(dxp.baseAddress!)
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

/// The sequence with its time axis reversed, per example ([B, T, W]).
func reverseTime(_ x: [Float], batch b: Int, steps t: Int, width w: Int) -> [Float] {
    var y = [Float](repeating: 0, count: x.count)
    for i in 0..<b { for s in 0..<t { for j in 0..<w { y[(i * t + s) * w + j] = x[(i * t + t - 1 - s) * w + j] } } }
    return y
}
