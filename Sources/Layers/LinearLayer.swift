import Foundation
import Numerics

/// PyTorch `nn.Linear` over the last axis: y = x·Wᵀ + b with W [out, in]; [B, …, in] → [B, …, out].
public final class LinearLayer: Layer {
    public let name: String
    public let weight: Parameter, bias: Parameter
    public var needsInputGradient = true
    private var input: Tensor?

    public init(name: String, inputs: Int, outputs: Int) {
        self.name = name
        weight = Parameter("\(name).weight", shape: [outputs, inputs])
        bias = Parameter("\(name).bias", shape: [outputs])
    }

    public var parameters: [Parameter] { [weight, bias] }
    var inputs: Int { weight.shape[1] }
    var outputs: Int { weight.shape[0] }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        let n = inputs, u = outputs
        precondition(x.shape.last == n, "\(name): expected \(n) inputs, got \(x.shape)")
        let per = rowsPerExample(x, width: n)
        var y = uninitializedFloats(per * x.batch * u)
        let (w, b) = (weight.value, bias.value)
        try x.data.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in
                let (xs, ys) = (SendableConstPointer(xp.baseAddress!), SendablePointer(yp.baseAddress!))
                try context.forEachChunk(x.batch) { _, range in
                    let rows = range.count * per, r0 = range.lowerBound * per
                    for r in 0..<rows { (ys[(r0 + r) * u]).update(from: b, count: u) }
                    BLAS.gemm(
                        transB: true, m: rows, n: u, k: n, a: xs[r0 * n], lda: n, b: w, ldb: n, beta: 1, c: ys[r0 * u],
                        ldc: u)
                }
            }
        }
        if context.training { input = x }
        var shape = x.shape
        shape[shape.count - 1] = u
        return Tensor(shape: shape, data: y)
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        guard let x = input else { preconditionFailure("\(name): backward without a training forward") }
        let n = inputs, u = outputs, per = rowsPerExample(x, width: n)
        var dx = needsInputGradient ? uninitializedFloats(x.data.count) : []
        let w = weight.value, wantInput = needsInputGradient
        let sums = try x.data.withUnsafeBufferPointer { xp in
            try dy.data.withUnsafeBufferPointer { gp in
                try dx.withUnsafeMutableBufferPointer { dxp in
                    let (xs, gs) = (SendableConstPointer(xp.baseAddress!), SendableConstPointer(gp.baseAddress!))
                    let dxs = dxp.baseAddress.map(SendablePointer.init)
                    return try context.sumOverChunks(x.batch, width: u * n + u) { range, acc in
                        let rows = range.count * per, r0 = range.lowerBound * per
                        BLAS.gemm(
                            transA: true, m: u, n: n, k: rows, a: gs[r0 * u], lda: u, b: xs[r0 * n], ldb: n, beta: 1,
                            c: acc.baseAddress!, ldc: n)
                        let db = acc.baseAddress! + u * n
                        for r in 0..<rows {
                            let g = gs[(r0 + r) * u]
                            for j in 0..<u { db[j] += g[j] }
                        }
                        if wantInput, let dxs {
                            BLAS.gemm(m: rows, n: n, k: u, a: gs[r0 * u], lda: u, b: w, ldb: n, c: dxs[r0 * n], ldc: n)
                        }
                    }
                }
            }
        }
        weight.accumulate(sums[0..<(u * n)])
        bias.accumulate(sums[(u * n)...])
        return wantInput ? Tensor(shape: x.shape, data: dx) : Tensor(zeros: [0])
    }
}
