import DatasetFormat
import Foundation
import Numerics
import TKDCore

// Layers of transformer-style audio models over [B, T, C] sequences (channels last), with weights in
// PyTorch's layout and names so that a model built from them is written in the Hugging Face format as
// is. The bundled wav2vec 2.0-style teacher is made of these; every backward is checked against
// finite differences and, through the teacher, against PyTorch autograd.

/// Rows per example of a [B, …, C] tensor.
@inline(__always) private func rowsPerExample(_ x: Tensor, width: Int) -> Int { x.exampleSize / width }

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
                    BLAS.gemm(transB: true, m: rows, n: u, k: n, a: xs[r0 * n], lda: n, b: w, ldb: n, beta: 1, c: ys[r0 * u], ldc: u)
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
                        BLAS.gemm(transA: true, m: u, n: n, k: rows, a: gs[r0 * u], lda: u, b: xs[r0 * n], ldb: n, beta: 1,
                                  c: acc.baseAddress!, ldc: n)
                        let db = acc.baseAddress! + u * n
                        for r in 0..<rows { let g = gs[(r0 + r) * u]; for j in 0..<u { db[j] += g[j] } }
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

/// Normalisation statistics over `count` values at stride `step` (sums in Double): (mean, 1/√(var + ε)).
@inline(__always)
private func moments(_ x: UnsafePointer<Float>, count: Int, step: Int, epsilon: Float) -> (Float, Float) {
    var sum = 0.0
    for i in 0..<count { sum += Double(x[i * step]) }
    let mean = sum / Double(count)
    var sq = 0.0
    for i in 0..<count { let d = Double(x[i * step]) - mean; sq += d * d }
    return (Float(mean), Float(1 / (sq / Double(count) + Double(epsilon)).squareRoot()))
}

/// Normalisation over the rows of a [B, …] batch, shared by LayerNorm (each row over its channels) and
/// GroupNorm-per-channel (each example's channel over time): y = x̂·γ + β. Examples run in parallel
/// chunks; γ/β gradients are summed in chunk order.
private enum Normalisation {
    /// `axisOverTime`: statistics per (example, channel) over the example's rows; else per row over channels.
    static func forward(_ x: Tensor, gamma: [Float], beta: [Float], epsilon: Float, overTime: Bool, context: RunContext)
        throws -> (y: [Float], xhat: [Float], inverse: [Float]) {
        let c = gamma.count, t = x.exampleSize / c
        var y = uninitializedFloats(x.data.count), xhat = uninitializedFloats(x.data.count)
        var inv = uninitializedFloats(overTime ? x.batch * c : x.batch * t)
        try x.data.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in
                try xhat.withUnsafeMutableBufferPointer { hp in
                    try inv.withUnsafeMutableBufferPointer { ip in
                        let (xs, ys, hs, iv) = (SendableConstPointer(xp.baseAddress!), SendablePointer(yp.baseAddress!),
                                                SendablePointer(hp.baseAddress!), SendablePointer(ip.baseAddress!))
                        try context.forEachChunk(x.batch) { _, range in
                            for e in range {
                                let base = e * t * c
                                if overTime {
                                    // Row-major passes: per-channel sums in Double, then x̂ and y.
                                    var sum = [Double](repeating: 0, count: c), sq = sum
                                    for r in 0..<t { let row = xs[base + r * c]; for j in 0..<c { sum[j] += Double(row[j]) } }
                                    let mean = sum.map { Float($0 / Double(t)) }
                                    for r in 0..<t {
                                        let row = xs[base + r * c]
                                        for j in 0..<c { let d = Double(row[j] - mean[j]); sq[j] += d * d }
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

    /// dx = s·(dy·γ − mean(dy·γ) − x̂·mean(dy·γ·x̂)) over each normalised group; returns dx and [dγ, dβ].
    static func backward(_ dy: Tensor, xhat: [Float], inverse: [Float], gamma: [Float], overTime: Bool, context: RunContext)
        throws -> (dx: [Float], sums: [Float]) {
        let c = gamma.count, b = dy.batch, t = dy.data.count / b / c
        var dx = uninitializedFloats(dy.data.count)
        let sums = try dy.data.withUnsafeBufferPointer { gp in
            try xhat.withUnsafeBufferPointer { hp in
                try inverse.withUnsafeBufferPointer { ip in
                    try dx.withUnsafeMutableBufferPointer { dp in
                        let (gs, hs, iv, ds) = (SendableConstPointer(gp.baseAddress!), SendableConstPointer(hp.baseAddress!),
                                                SendableConstPointer(ip.baseAddress!), SendablePointer(dp.baseAddress!))
                        return try context.sumOverChunks(b, width: 2 * c) { range, acc in
                            let dg = acc.baseAddress!, db = dg + c
                            for e in range {
                                let base = e * t * c
                                for r in 0..<t {
                                    let o = base + r * c
                                    for j in 0..<c { dg[j] += gs.base[o + j] * hs.base[o + j]; db[j] += gs.base[o + j] }
                                }
                                if overTime {
                                    var a = [Double](repeating: 0, count: c), bb = a
                                    for r in 0..<t {
                                        let o = base + r * c
                                        for j in 0..<c {
                                            let d = Double(gs.base[o + j] * gamma[j])
                                            a[j] += d; bb[j] += d * Double(hs.base[o + j])
                                        }
                                    }
                                    let ma = a.map { Float($0 / Double(t)) }, mb = bb.map { Float($0 / Double(t)) }
                                    for r in 0..<t {
                                        let o = base + r * c
                                        for j in 0..<c {
                                            ds.base[o + j] = iv.base[e * c + j] * (gs.base[o + j] * gamma[j] - ma[j] - hs.base[o + j] * mb[j])
                                        }
                                    }
                                } else {
                                    for r in 0..<t {
                                        let o = base + r * c
                                        var a = 0.0, bb = 0.0
                                        for j in 0..<c { let d = Double(gs.base[o + j] * gamma[j]); a += d; bb += d * Double(hs.base[o + j]) }
                                        let (ma, mb, s) = (Float(a / Double(c)), Float(bb / Double(c)), iv.base[e * t + r])
                                        for j in 0..<c { ds.base[o + j] = s * (gs.base[o + j] * gamma[j] - ma - hs.base[o + j] * mb) }
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

/// PyTorch `nn.LayerNorm` over the last axis (biased variance), weight/bias named `.weight`/`.bias`.
public final class LayerNormLayer: Layer {
    public let name: String
    public let gamma: Parameter, beta: Parameter
    public let epsilon: Float
    public var needsInputGradient = true
    let overTime: Bool
    private var normalized: [Float] = []
    private var inverse: [Float] = []
    private var shape: [Int] = []

    public convenience init(name: String, channels: Int, epsilon: Float = 1e-5) {
        self.init(name: name, channels: channels, epsilon: epsilon, overTime: false)
    }

    init(name: String, channels: Int, epsilon: Float, overTime: Bool) {
        self.name = name
        self.epsilon = epsilon
        self.overTime = overTime
        gamma = Parameter("\(name).weight", shape: [channels], fill: 1)
        beta = Parameter("\(name).bias", shape: [channels])
    }

    public var parameters: [Parameter] { [gamma, beta] }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        precondition(x.shape.last == gamma.count, "\(name): expected \(gamma.count) channels, got \(x.shape)")
        let r = try Normalisation.forward(x, gamma: gamma.value, beta: beta.value, epsilon: epsilon, overTime: overTime, context: context)
        if context.training { normalized = r.xhat; inverse = r.inverse; shape = x.shape }
        return Tensor(shape: x.shape, data: r.y)
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        let r = try Normalisation.backward(dy, xhat: normalized, inverse: inverse, gamma: gamma.value, overTime: overTime, context: context)
        let c = gamma.count
        gamma.accumulate(r.sums[0..<c])
        beta.accumulate(r.sums[c...])
        return Tensor(shape: shape, data: r.dx)
    }
}

/// PyTorch `nn.GroupNorm(C, C)` on [B, T, C]: every channel of every example normalised over time
/// (wav2vec 2.0-base's first feature-extractor layer).
public final class ChannelNormLayer: Layer {
    let norm: LayerNormLayer
    public var name: String { norm.name }
    public var gamma: Parameter { norm.gamma }
    public var beta: Parameter { norm.beta }
    public var needsInputGradient: Bool { get { norm.needsInputGradient } set { norm.needsInputGradient = newValue } }

    public init(name: String, channels: Int, epsilon: Float = 1e-5) {
        norm = LayerNormLayer(name: name, channels: channels, epsilon: epsilon, overTime: true)
    }

    public var parameters: [Parameter] { norm.parameters }
    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor { try norm.forward(x, context) }
    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor { try norm.backward(dy, context) }
}

/// PyTorch `nn.Conv1d` on [B, L, Cin] (channels last) → [B, L′, Cout]: stride, zero padding, groups,
/// optional bias, optional weight norm over every axis but the kernel's (`weight_norm(dim=2)`, stored as
/// `parametrizations.weight.original0` g [1, 1, K] and `original1` v [Cout, Cin/g, K]). With
/// `trimToInput` the output keeps only the first L frames (wav2vec 2.0's "same pad" for even kernels).
public final class Conv1DLayer: Layer {
    public let name: String
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, groups: Int
    public let trimToInput: Bool
    /// The plain weight [Cout, Cin/g, K], or nil when weight-normed.
    public let weight: Parameter?
    public let weightG: Parameter?, weightV: Parameter?
    public let bias: Parameter?
    public var needsInputGradient = true
    private var input: Tensor?

    public init(name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                groups: Int = 1, bias: Bool, weightNorm: Bool = false, trimToInput: Bool = false) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0, "\(name): channels must divide by groups")
        self.name = name
        self.inChannels = inChannels; self.outChannels = outChannels; self.kernel = kernel
        self.stride = stride; self.padding = padding; self.groups = groups; self.trimToInput = trimToInput
        let shape = [outChannels, inChannels / groups, kernel]
        if weightNorm {
            weight = nil
            weightG = Parameter("\(name).parametrizations.weight.original0", shape: [1, 1, kernel], fill: 1)
            weightV = Parameter("\(name).parametrizations.weight.original1", shape: shape)
        } else {
            weight = Parameter("\(name).weight", shape: shape)
            weightG = nil; weightV = nil
        }
        self.bias = bias ? Parameter("\(name).bias", shape: [outChannels]) : nil
    }

    public var parameters: [Parameter] { [weight, weightG, weightV, bias].compactMap { $0 } }

    public func outputLength(_ length: Int) -> Int {
        let full = (length + 2 * padding - kernel) / stride + 1
        return trimToInput ? min(full, length) : full
    }

    /// The weight-norm column norms ‖v[:, :, k]‖ per kernel tap.
    private func tapNorms() -> [Double] {
        guard let v = weightV else { return [] }
        var n = [Double](repeating: 0, count: kernel)
        for i in 0..<v.count { n[i % kernel] += Double(v.value[i]) * Double(v.value[i]) }
        return n.map { $0.squareRoot() }
    }

    /// The effective PyTorch-layout weight [Cout, Cin/g, K].
    public func effectiveWeight() -> [Float] {
        if let weight { return weight.value }
        let (g, v, norms) = (weightG!.value, weightV!.value, tapNorms())
        return (0..<v.count).map { i in Float(Double(g[i % kernel]) * Double(v[i]) / norms[i % kernel]) }
    }

    /// Per group [K·cin, cout] (row (k, c), column o), groups concatenated.
    private func gemmWeight() -> [Float] {
        let w = effectiveWeight(), cin = inChannels / groups, cout = outChannels / groups, k = kernel
        var out = [Float](repeating: 0, count: w.count)
        for g in 0..<groups { for o in 0..<cout { for ci in 0..<cin { for tap in 0..<k {
            out[g * k * cin * cout + (tap * cin + ci) * cout + o] = w[((g * cout + o) * cin + ci) * k + tap]
        } } } }
        return out
    }

    /// The shape facts the parallel loops need (the layer itself is not Sendable).
    struct Geometry: Sendable {
        let inChannels: Int, groups: Int, kernel: Int, stride: Int, padding: Int

        /// im2col of output rows [start, start + rows) of group `g` of one example.
        @inline(__always)
        func gather(_ x: UnsafePointer<Float>, length: Int, group g: Int, start: Int, rows: Int, into cols: UnsafeMutablePointer<Float>) {
            let cin = inChannels / groups
            for r in 0..<rows {
                for tap in 0..<kernel {
                    let src = (start + r) * stride + tap - padding
                    let dst = cols + (r * kernel + tap) * cin
                    if src >= 0 && src < length { dst.update(from: x + src * inChannels + g * cin, count: cin) }
                    else { dst.update(repeating: 0, count: cin) }
                }
            }
        }
    }

    var geometry: Geometry { Geometry(inChannels: inChannels, groups: groups, kernel: kernel, stride: stride, padding: padding) }

    private var block: (Int) -> Int {
        let width = kernel * (inChannels / groups)
        return { out in max(1, min(out, (1 << 18) / max(1, width))) }
    }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        precondition(x.shape.count == 3 && x.shape[2] == inChannels, "\(name): expected [B, L, \(inChannels)], got \(x.shape)")
        let length = x.shape[1], out = outputLength(length)
        precondition(out > 0, "\(name): input of \(length) frames is shorter than the kernel")
        let cin = inChannels / groups, cout = outChannels / groups, cOut = outChannels, width = kernel * cin
        let w = gemmWeight(), b = bias?.value, blockRows = block(out), geo = geometry
        var y = uninitializedFloats(x.batch * out * cOut)
        try x.data.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in
                let (xs, ys) = (SendableConstPointer(xp.baseAddress!), SendablePointer(yp.baseAddress!))
                try context.forEachChunk(x.batch) { _, range in
                    var cols = uninitializedFloats(blockRows * width)
                    cols.withUnsafeMutableBufferPointer { cp in
                        for e in range {
                            let xe = xs[e * length * geo.inChannels], ye = ys[e * out * cOut]
                            if let b { for r in 0..<out { (ye + r * cOut).update(from: b, count: cOut) } }
                            else { ye.update(repeating: 0, count: out * cOut) }
                            for g in 0..<geo.groups {
                                for start in Swift.stride(from: 0, to: out, by: blockRows) {
                                    let rows = min(blockRows, out - start)
                                    geo.gather(xe, length: length, group: g, start: start, rows: rows, into: cp.baseAddress!)
                                    w.withUnsafeBufferPointer { wp in
                                        BLAS.gemm(m: rows, n: cout, k: width, a: cp.baseAddress!, lda: width,
                                                  b: wp.baseAddress! + g * width * cout, ldb: cout, beta: 1,
                                                  c: ye + start * cOut + g * cout, ldc: cOut)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if context.training { input = x }
        return Tensor(shape: [x.batch, out, cOut], data: y)
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        guard let x = input else { preconditionFailure("\(name): backward without a training forward") }
        let length = x.shape[1], out = outputLength(length)
        let cin = inChannels / groups, cout = outChannels / groups, cOut = outChannels, cIn = inChannels, width = kernel * cin
        let w = gemmWeight(), blockRows = block(out), wantInput = needsInputGradient, hasBias = bias != nil, geo = geometry
        let wCount = w.count
        var dx = wantInput ? [Float](repeating: 0, count: x.data.count) : []
        let sums = try x.data.withUnsafeBufferPointer { xp in
            try dy.data.withUnsafeBufferPointer { gp in
                try dx.withUnsafeMutableBufferPointer { dxp in
                    let (xs, gs) = (SendableConstPointer(xp.baseAddress!), SendableConstPointer(gp.baseAddress!))
                    let dxs = dxp.baseAddress.map(SendablePointer.init)
                    return try context.sumOverChunks(x.batch, width: wCount + cOut) { range, acc in
                        var cols = uninitializedFloats(blockRows * width)
                        cols.withUnsafeMutableBufferPointer { cp in
                            let c = cp.baseAddress!
                            for e in range {
                                let xe = xs[e * length * cIn], ge = gs[e * out * cOut]
                                if hasBias {
                                    let db = acc.baseAddress! + wCount
                                    for r in 0..<out { let row = ge + r * cOut; for j in 0..<cOut { db[j] += row[j] } }
                                }
                                for g in 0..<geo.groups {
                                    for start in Swift.stride(from: 0, to: out, by: blockRows) {
                                        let rows = min(blockRows, out - start)
                                        geo.gather(xe, length: length, group: g, start: start, rows: rows, into: c)
                                        BLAS.gemm(transA: true, m: width, n: cout, k: rows, a: c, lda: width,
                                                  b: ge + start * cOut + g * cout, ldb: cOut, beta: 1,
                                                  c: acc.baseAddress! + g * width * cout, ldc: cout)
                                        guard wantInput, let dxs else { continue }
                                        w.withUnsafeBufferPointer { wp in
                                            BLAS.gemm(transB: true, m: rows, n: width, k: cout, a: ge + start * cOut + g * cout, lda: cOut,
                                                      b: wp.baseAddress! + g * width * cout, ldb: cout, c: c, ldc: width)
                                        }
                                        let dxe = dxs[e * length * cIn]
                                        for r in 0..<rows {
                                            for tap in 0..<geo.kernel {
                                                let src = (start + r) * geo.stride + tap - geo.padding
                                                guard src >= 0 && src < length else { continue }
                                                let d = dxe + src * cIn + g * cin, s = c + (r * geo.kernel + tap) * cin
                                                for j in 0..<cin { d[j] += s[j] }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        // Back to PyTorch's [Cout, Cin/g, K].
        var dW = [Float](repeating: 0, count: wCount)
        for g in 0..<groups { for o in 0..<cout { for ci in 0..<cin { for tap in 0..<kernel {
            dW[((g * cout + o) * cin + ci) * kernel + tap] = sums[g * width * cout + (tap * cin + ci) * cout + o]
        } } } }
        if let weight { weight.accumulate(dW[...]) }
        else {
            // W = g·v/‖v‖ per tap: dg = Σ dW·v̂, dv = (g/‖v‖)(dW − dg·v̂).
            let (gP, vP, norms) = (weightG!, weightV!, tapNorms())
            var dg = [Double](repeating: 0, count: kernel)
            for i in 0..<wCount { dg[i % kernel] += Double(dW[i]) * Double(vP.value[i]) / norms[i % kernel] }
            for k in 0..<kernel { gP.gradient[k] += Float(dg[k]) }
            for i in 0..<wCount {
                let k = i % kernel, vhat = Double(vP.value[i]) / norms[k]
                vP.gradient[i] += Float(Double(gP.value[k]) / norms[k] * (Double(dW[i]) - dg[k] * vhat))
            }
        }
        if let bias { bias.accumulate(sums[wCount...]) }
        return wantInput ? Tensor(shape: x.shape, data: dx) : Tensor(zeros: [0])
    }
}
