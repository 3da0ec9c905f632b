import Foundation
import Numerics

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
        if !context.training {
            let parts = try context.parallel.pool.map(ranges.count) { c -> [Float] in
                let range = ranges[c]
                let chunk = Array(data[(range.lowerBound * t * f)..<(range.upperBound * t * f)])
                return cell.infer(
                    chunk, batch: range.count, steps: t, kernel: w, bias: bv, peepholes: peep, projectionMatrix: proj)
            }
            return Tensor(shape: [b, t, p], data: parts.flatMap { $0 })
        }
        let caches = try context.parallel.pool.map(ranges.count) { c -> PeepholeLSTM.Cache in
            let range = ranges[c]
            let chunk = Array(data[(range.lowerBound * t * f)..<(range.upperBound * t * f)])
            return cell.forward(
                chunk, batch: range.count, steps: t, kernel: w, bias: bv, peepholes: peep, projectionMatrix: proj)
        }
        var y = [Float]()
        y.reserveCapacity(b * t * p)
        for c in caches { y += c.outputs }
        if context.training {
            input = x
            self.caches = caches
        }
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
                cell.backward(
                    caches[c], input: chunk, outputGradient: dOut, kernel: w, peepholes: peep, projectionMatrix: proj,
                    kernelGradient: a, biasGradient: a + sizes[0], peepholeGradient: a + sizes[0] + sizes[1],
                    projectionGradient: a + sizes[0] + sizes[1] + sizes[2], inputGradient: dxs[range.lowerBound * t * f]
                )
            }
        }
        var offset = 0
        for q in parameters {
            q.accumulate(sums[offset..<(offset + q.count)])
            offset += q.count
        }
        return Tensor(shape: x.shape, data: dx)
    }
}
