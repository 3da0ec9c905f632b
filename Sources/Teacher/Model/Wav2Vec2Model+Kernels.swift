import Foundation
import Numerics
import TKDCore
import TensorStore

extension Wav2Vec2Model {
    // MARK: Kernels (channels last)

    /// y [rows, out] = x [rows, in] · W + b (W stored [in, out]), in `rowBlocks` on `pool`.
    static func apply(_ l: Linear, _ x: [Float], rows: Int, pool: WorkPool) throws -> [Float] {
        var y = uninitializedFloats(rows * l.outputs)
        let (blocks, size) = rowBlocks(rows)
        try x.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in
                let (xs, ys) = (SendableConstPointer(xp.baseAddress!), SendablePointer(yp.baseAddress!))
                try pool.forEach(blocks) { k in
                    let r0 = k * size, m = min(rows, r0 + size) - r0
                    for r in r0..<(r0 + m) { ys[r * l.outputs].update(from: l.bias, count: l.outputs) }
                    BLAS.gemm(
                        m: m, n: l.outputs, k: l.inputs, a: xs[r0 * l.inputs], lda: l.inputs, b: l.weight,
                        ldb: l.outputs, beta: 1, c: ys[r0 * l.outputs], ldc: l.outputs)
                }
            }
        }
        return y
    }

    /// Grouped 1-D convolution of x [length, Cin] by im2col per group, in blocks of output rows (bounded
    /// memory on long inputs); output [L', Cout].
    static func apply(_ conv: Conv, _ x: [Float], length: Int) -> [Float] {
        let cin = conv.inChannels / conv.groups, cout = conv.outChannels / conv.groups, k = conv.kernel
        let out = (length + 2 * conv.padding - k) / conv.stride + 1
        var y = [Float](repeating: 0, count: out * conv.outChannels)
        if let b = conv.bias {
            for r in 0..<out { for j in 0..<conv.outChannels { y[r * conv.outChannels + j] = b[j] } }
        }
        let block = max(1, min(out, (1 << 20) / max(1, k * cin)))
        var cols = [Float](repeating: 0, count: block * k * cin)
        x.withUnsafeBufferPointer { xp in
            cols.withUnsafeMutableBufferPointer { cp in
                conv.weight.withUnsafeBufferPointer { w in
                    y.withUnsafeMutableBufferPointer { yp in
                        for g in 0..<conv.groups {
                            for start in stride(from: 0, to: out, by: block) {
                                let rows = min(block, out - start)
                                for r in 0..<rows {
                                    for tap in 0..<k {
                                        let src = (start + r) * conv.stride + tap - conv.padding
                                        let dst = cp.baseAddress! + (r * k + tap) * cin
                                        if src >= 0 && src < length {
                                            dst.update(
                                                from: xp.baseAddress! + src * conv.inChannels + g * cin, count: cin)
                                        } else {
                                            dst.update(repeating: 0, count: cin)
                                        }
                                    }
                                }
                                BLAS.gemm(
                                    m: rows, n: cout, k: k * cin, a: cp.baseAddress!, lda: k * cin,
                                    b: w.baseAddress! + g * k * cin * cout, ldb: cout, beta: 1,
                                    c: yp.baseAddress! + start * conv.outChannels + g * cout, ldc: conv.outChannels)
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    /// LayerNorm over the channels of every row (sums in Double).
    static func layerNorm(_ x: inout [Float], rows: Int, _ n: Norm, eps: Float) {
        let c = n.gamma.count
        x.withUnsafeMutableBufferPointer { xp in
            for r in 0..<rows { layerNorm(xp.baseAddress! + r * c, count: c, n, eps: eps) }
        }
    }

    /// LayerNorm of one row in place.
    @inline(__always)
    static func layerNorm(_ row: UnsafeMutablePointer<Float>, count c: Int, _ n: Norm, eps: Float) {
        var sum = 0.0
        for j in 0..<c { sum += Double(row[j]) }
        let mean = sum / Double(c)
        var sq = 0.0
        for j in 0..<c {
            let d = Double(row[j]) - mean
            sq += d * d
        }
        let inv = Float(1 / (sq / Double(c) + Double(eps)).squareRoot()), m = Float(mean)
        n.gamma.withUnsafeBufferPointer { g in
            n.beta.withUnsafeBufferPointer { b in
                for j in 0..<c { row[j] = (row[j] - m) * inv * g[j] + b[j] }
            }
        }
    }

    /// GroupNorm with one group per channel: each channel normalised over time (row-major passes).
    static func channelNorm(_ x: inout [Float], rows: Int, _ n: Norm, eps: Float) {
        let c = n.gamma.count
        var sum = [Double](repeating: 0, count: c), sq = [Double](repeating: 0, count: c)
        x.withUnsafeMutableBufferPointer { xp in
            for r in 0..<rows {
                let row = xp.baseAddress! + r * c
                for j in 0..<c { sum[j] += Double(row[j]) }
            }
            let mean = sum.map { $0 / Double(rows) }
            for r in 0..<rows {
                let row = xp.baseAddress! + r * c
                for j in 0..<c {
                    let d = Double(row[j]) - mean[j]
                    sq[j] += d * d
                }
            }
            var scale = [Float](repeating: 0, count: c), shift = scale
            for j in 0..<c {
                let inv = 1 / (sq[j] / Double(rows) + Double(eps)).squareRoot()
                scale[j] = Float(inv) * n.gamma[j]
                shift[j] = n.beta[j] - Float(mean[j] * inv) * n.gamma[j]
            }
            for r in 0..<rows {
                let row = xp.baseAddress! + r * c
                for j in 0..<c { row[j] = row[j] * scale[j] + shift[j] }
            }
        }
    }

    /// GELU x · Φ(x) = 0.5 x (1 + erf(x / √2)) (erf to 1.5e-7, vectorised).
    static func gelu(_ x: inout [Float]) {
        x.withUnsafeMutableBufferPointer { Vector.gelu($0.baseAddress!, count: $0.count) }
    }
}
