import Foundation
import Numerics

/// Normalisation statistics over `count` values at stride `step` (sums in Double): (mean, 1/√(var + ε)).
@inline(__always)
func moments(_ x: UnsafePointer<Float>, count: Int, step: Int, epsilon: Float) -> (Float, Float) {
    var sum = 0.0
    for i in 0..<count { sum += Double(x[i * step]) }
    let mean = sum / Double(count)
    var sq = 0.0
    for i in 0..<count {
        let d = Double(x[i * step]) - mean
        sq += d * d
    }
    return (Float(mean), Float(1 / (sq / Double(count) + Double(epsilon)).squareRoot()))
}

/// Normalisation over the rows of a [B, …] batch, shared by LayerNorm (each row over its channels) and
/// GroupNorm-per-channel (each example's channel over time): y = x̂·γ + β. Examples run in parallel
/// chunks; γ/β gradients are summed in chunk order.
enum Normalisation {
    /// `axisOverTime`: statistics per (example, channel) over the example's rows; else per row over channels.
    static func forward(
        _ x: Tensor, gamma: [Float], beta: [Float], epsilon: Float, overTime: Bool, context: RunContext
    )
        throws -> (y: [Float], xhat: [Float], inverse: [Float])
    {
        let c = gamma.count, t = x.exampleSize / c
        var y = uninitializedFloats(x.data.count), xhat = uninitializedFloats(x.data.count)
        var inv = uninitializedFloats(overTime ? x.batch * c : x.batch * t)
        try x.data.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in
                try xhat.withUnsafeMutableBufferPointer { hp in
                    try inv.withUnsafeMutableBufferPointer { ip in
                        let (xs, ys, hs, iv) = (
                            SendableConstPointer(xp.baseAddress!), SendablePointer(yp.baseAddress!),
                            SendablePointer(hp.baseAddress!), SendablePointer(ip.baseAddress!)
                        )
                        try context.forEachChunk(x.batch) { _, range in
                            for e in range {
                                let base = e * t * c
                                if overTime {
                                    // Row-major passes: per-channel sums in Double, then x̂ and y.
                                    var sum = [Double](repeating: 0, count: c), sq = sum
                                    for r in 0..<t {
                                        let row = xs[base + r * c]
                                        for j in 0..<c { sum[j] += Double(row[j]) }
                                    }
                                    let mean = sum.map { Float($0 / Double(t)) }
                                    for r in 0..<t {
                                        let row = xs[base + r * c]
                                        for j in 0..<c {
                                            let d = Double(row[j] - mean[j])
                                            sq[j] += d * d
                                        }
                                    }
                                    var scale = [Float](repeating: 0, count: c)
                                    for j in 0..<c {
                                        scale[j] = Float(1 / (sq[j] / Double(t) + Double(epsilon)).squareRoot())
                                        iv.base[e * c + j] = scale[j]
                                    }
                                    for r in 0..<t {
                                        let o = base + r * c
                                        for j in 0..<c {
                                            let h = (xs.base[o + j] - mean[j]) * scale[j]
                                            hs.base[o + j] = h
                                            ys.base[o + j] = h * gamma[j] + beta[j]
                                        }
                                    }
                                } else {
                                    for r in 0..<t {
                                        let o = base + r * c
                                        let (m, s) = moments(xs[o], count: c, step: 1, epsilon: epsilon)
                                        iv.base[e * t + r] = s
                                        for j in 0..<c {
                                            let h = (xs.base[o + j] - m) * s
                                            hs.base[o + j] = h
                                            ys.base[o + j] = h * gamma[j] + beta[j]
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (y, xhat, inv)
    }

    /// dx = s·(dy·γ − mean(dy·γ) − x̂·mean(dy·γ·x̂)) over each normalised group;
    /// returns dx and [dγ, dβ].
    static func backward(
        _ dy: Tensor, xhat: [Float], inverse: [Float], gamma: [Float], overTime: Bool, context: RunContext
    )
        throws -> (dx: [Float], sums: [Float])
    {
        let c = gamma.count, b = dy.batch, t = dy.data.count / b / c
        var dx = uninitializedFloats(dy.data.count)
        let sums = try dy.data.withUnsafeBufferPointer { gp in
            try xhat.withUnsafeBufferPointer { hp in
                try inverse.withUnsafeBufferPointer { ip in
                    try dx.withUnsafeMutableBufferPointer { dp in
                        let (gs, hs, iv, ds) = (
                            SendableConstPointer(gp.baseAddress!), SendableConstPointer(hp.baseAddress!),
                            SendableConstPointer(ip.baseAddress!), SendablePointer(dp.baseAddress!)
                        )
                        return try context.sumOverChunks(b, width: 2 * c) { range, acc in
                            let dg = acc.baseAddress!, db = dg + c
                            for e in range {
                                let base = e * t * c
                                for r in 0..<t {
                                    let o = base + r * c
                                    for j in 0..<c {
                                        dg[j] += gs.base[o + j] * hs.base[o + j]
                                        db[j] += gs.base[o + j]
                                    }
                                }
                                if overTime {
                                    var a = [Double](repeating: 0, count: c), bb = a
                                    for r in 0..<t {
                                        let o = base + r * c
                                        for j in 0..<c {
                                            let d = Double(gs.base[o + j] * gamma[j])
                                            a[j] += d
                                            bb[j] += d * Double(hs.base[o + j])
                                        }
                                    }
                                    let ma = a.map { Float($0 / Double(t)) }, mb = bb.map { Float($0 / Double(t)) }
                                    for r in 0..<t {
                                        let o = base + r * c
                                        for j in 0..<c {
                                            ds.base[o + j] =
                                                iv.base[e * c + j]
                                                * (gs.base[o + j] * gamma[j] - ma[j] - hs.base[o + j] * mb[j])
                                        }
                                    }
                                } else {
                                    for r in 0..<t {
                                        let o = base + r * c
                                        var a = 0.0, bb = 0.0
                                        for j in 0..<c {
                                            let d = Double(gs.base[o + j] * gamma[j])
                                            a += d
                                            bb += d * Double(hs.base[o + j])
                                        }
                                        let (ma, mb, s) = (
                                            Float(a / Double(c)), Float(bb / Double(c)), iv.base[e * t + r]
                                        )
                                        for j in 0..<c {
                                            ds.base[o + j] = s * (gs.base[o + j] * gamma[j] - ma - hs.base[o + j] * mb)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dx, sums)
    }
}
